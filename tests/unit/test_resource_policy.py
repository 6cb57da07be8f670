"""Resource-based policies: the pure diff, its hazards and the document checks (no AWS)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tablesmith.around.contract import ReadContext
from tablesmith.around.resource_policy import (
    RESOURCE_POLICY,
    DeleteResourcePolicy,
    LivePolicy,
    PolicyState,
    PutResourcePolicy,
    TablePolicies,
    describe_op,
    diff_policies,
    grants,
    locks_out,
    read_policies,
    settle_policies,
)
from tablesmith.plan import Category, ReplaceTable
from tablesmith.spec import policy
from tablesmith.spec.model import (
    Encryption,
    Key,
    PointInTimeRecovery,
    ResourcePolicy,
    Stream,
    Table,
    TimeToLive,
)
from tablesmith.state import LiveTable

ARN = "arn:aws:dynamodb:af-south-1:123456789012:table/orders"
STREAM_ARN = f"{ARN}/stream/2026-01-01T00:00:00.000"
PARTNER = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
           "Action": "dynamodb:GetItem", "Resource": "*"}
OWN = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/app"},
       "Action": "dynamodb:GetItem", "Resource": "*"}
DENY_ALL = {"Effect": "Deny", "Principal": "*", "Action": "dynamodb:*", "Resource": "*"}


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def text(*statements: dict[str, Any]) -> str:
    return policy.canonical(doc(*statements))


def table(resource_policy: ResourcePolicy | None = None,
          stream_policy: ResourcePolicy | None = None,
          view_type: str = "NEW_AND_OLD_IMAGES") -> Table:
    return Table(
        name="orders", table_name="orders", environment="dev", region="af-south-1",
        partition_key=Key(name="PK", type="S"), attribute_definitions=(Key(name="PK", type="S"),),
        point_in_time_recovery=PointInTimeRecovery(enabled=True, recovery_period_days=35),
        ttl=TimeToLive(enabled=False, attribute_name="ttl"),
        stream=Stream(enabled=True, view_type=view_type),  # type: ignore[arg-type]
        encryption=Encryption(type="AWS_OWNED"), deletion_protection=False,
        table_class="STANDARD", tags={}, resource_policy=resource_policy,
        stream_resource_policy=stream_policy)


def live(document: str, arn: str = ARN, revision: str = "100") -> LivePolicy:
    return LivePolicy(arn=arn, document=document, revision_id=revision)


def state(**found: Any) -> PolicyState:
    return PolicyState(tables={"orders": TablePolicies(**found)})


def test_absent_is_not_managed() -> None:
    assert diff_policies(state(read=("table",), table=live(text(PARTNER))), table()) == []


def test_new_policy_is_put_with_no_policy_expected() -> None:
    [op] = diff_policies(PolicyState(), table(ResourcePolicy(document=text(OWN))))
    assert isinstance(op, PutResourcePolicy)
    assert (op.resource, op.before, op.after, op.category) == ("table", None, text(OWN),
                                                               Category.NEW)
    assert op.hazards == ()


def test_same_document_in_another_key_order_is_no_change() -> None:
    reordered = json.dumps({"Statement": [dict(reversed(list(OWN.items())))],
                            "Version": "2012-10-17"}, indent=2)
    current = live(policy.canonical(policy.parse(reordered)))
    assert diff_policies(state(read=("table",), table=current),
                         table(ResourcePolicy(document=text(OWN)))) == []


def test_none_deletes_and_a_cross_account_grant_is_removes_access() -> None:
    [op] = diff_policies(state(read=("table",), table=live(text(PARTNER, OWN))),
                         table(ResourcePolicy(document=None)))
    assert isinstance(op, DeleteResourcePolicy)
    assert [h.code.value for h in op.hazards] == ["REMOVES_ACCESS"]
    assert "arn:aws:iam::111122223333:root" in op.hazards[0].message


def test_none_with_nothing_attached_is_no_change() -> None:
    assert diff_policies(state(read=("table",)), table(ResourcePolicy(document=None))) == []


def test_own_account_grants_removed_carry_no_hazard() -> None:
    [op] = diff_policies(state(read=("table",), table=live(text(OWN))),
                         table(ResourcePolicy(document=None)))
    assert op.hazards == ()


def test_put_that_drops_a_grant_is_removes_access() -> None:
    [op] = diff_policies(state(read=("table",), table=live(text(PARTNER))),
                         table(ResourcePolicy(document=text(OWN))))
    assert [h.code.value for h in op.hazards] == ["REMOVES_ACCESS"]


def test_deny_everyone_is_locks_out() -> None:
    [op] = diff_policies(PolicyState(), table(ResourcePolicy(document=text(OWN, DENY_ALL))))
    assert [h.code.value for h in op.hazards] == ["LOCKS_OUT"]


@pytest.mark.parametrize(("statement", "locked"), [
    (DENY_ALL, True),
    ({**DENY_ALL, "Principal": {"AWS": "*"}}, True),
    ({**DENY_ALL, "Action": "dynamodb:Describe*"}, True),
    ({**DENY_ALL, "Action": "dynamodb:DeleteItem"}, False),  # not one tablesmith calls
    ({**DENY_ALL, "Condition": {"Bool": {"aws:SecureTransport": "false"}}}, False),
    ({**DENY_ALL, "Principal": {"AWS": "arn:aws:iam::111122223333:root"}}, False),
    ({**DENY_ALL, "Resource": f"{ARN}/index/*"}, False),
    ({k: v for k, v in DENY_ALL.items() if k != "Action"} | {"NotAction": "dynamodb:GetItem"},
     True),
])
def test_locks_out_is_decided_statically(statement: dict[str, Any], locked: bool) -> None:
    assert (locks_out(text(statement), "orders") is not None) is locked


def test_grants_outside_the_account() -> None:
    everyone = {**PARTNER, "Principal": "*"}
    assert grants(text(PARTNER, OWN, everyone), "123456789012") == {
        "arn:aws:iam::111122223333:root", "*"}


def test_stream_policy_on_a_stream_about_to_be_remade_is_put_anew() -> None:
    current = live(text(OWN), STREAM_ARN)
    found = state(read=("stream",), stream=current, stream_arn=STREAM_ARN,
                  stream_view_type="NEW_IMAGE")
    wanted = table(stream_policy=ResourcePolicy(document=text(OWN)))
    [op] = diff_policies(found, wanted)
    assert isinstance(op, PutResourcePolicy)
    assert (op.resource, op.before) == ("stream", None)
    unchanged = table(stream_policy=ResourcePolicy(document=text(OWN)), view_type="NEW_IMAGE")
    assert diff_policies(found, unchanged) == []


def test_replaced_table_gets_its_policy_put_after_the_replacement() -> None:
    wanted = table(ResourcePolicy(document=text(OWN)))
    replace = ReplaceTable(table="orders", region="af-south-1", before=wanted, after=wanted,
                           category=Category.DRIFT)
    out = settle_policies([replace], [wanted])
    assert [op.op for op in out] == ["ReplaceTable", "PutResourcePolicy"]
    assert out[1].before is None  # type: ignore[attr-defined]


def test_describe_lists_statements_added_and_removed() -> None:
    op = PutResourcePolicy(table="orders", region="af-south-1", resource="table",
                           before=live(text(PARTNER)), after=text(OWN),
                           category=Category.DRIFT)
    head, lines = describe_op(op)
    assert head == "PutResourcePolicy table of orders [af-south-1]"
    assert lines == [
        '+ Allow dynamodb:GetItem to {"AWS":"arn:aws:iam::123456789012:role/app"} on *',
        '- Allow dynamodb:GetItem to {"AWS":"arn:aws:iam::111122223333:root"} on *',
    ]


def test_document_problems() -> None:
    assert policy.problems(doc(OWN)) == []
    assert [m for _, m, _ in policy.problems({"Statement": [OWN]})] == ["the policy has no Version"]
    big = doc(*({**OWN, "Sid": f"S{i}", "Action": ["dynamodb:GetItem"] * 20}
                for i in range(60)))
    assert "20 KB" in policy.problems(big)[0][1]


# --------------------------------------------------------------------------- a Deny the Put adds

DENY_DATA = {"Effect": "Deny", "Principal": "*",
             "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
             "Resource": "*"}
DENY_PARTNER = {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                "Action": "dynamodb:*", "Resource": "*"}


@pytest.mark.parametrize(("statement", "named"), [
    (DENY_DATA, "everyone (dynamodb:GetItem, dynamodb:PutItem, dynamodb:Query)"),
    (DENY_PARTNER, "arn:aws:iam::111122223333:root (dynamodb:*)"),
])
def test_a_put_that_adds_a_deny_is_removes_access(statement: dict[str, Any], named: str) -> None:
    [op] = diff_policies(state(read=("table",), table=live(text(OWN, PARTNER))),
                         table(ResourcePolicy(document=text(OWN, PARTNER, statement))))
    assert [h.code.value for h in op.hazards] == ["REMOVES_ACCESS"]
    assert named in op.hazards[0].message


def test_a_deny_already_there_a_conditioned_one_or_one_on_a_new_table_is_no_hazard() -> None:
    kept = {**DENY_PARTNER, "Sid": "Renamed"}  # the same Deny under another Sid
    [op] = diff_policies(state(read=("table",), table=live(text(DENY_PARTNER))),
                         table(ResourcePolicy(document=text(kept, OWN))))
    assert op.hazards == ()
    conditioned = {**DENY_DATA, "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    [op] = diff_policies(state(read=("table",), table=live(text(OWN))),
                         table(ResourcePolicy(document=text(OWN, conditioned))))
    assert op.hazards == ()
    [op] = diff_policies(PolicyState(), table(ResourcePolicy(document=text(OWN, DENY_DATA))))
    assert op.hazards == ()  # the plan creates the table: no one has access to lose yet


# --------------------------------------------------------------------------- principal shapes


@pytest.mark.parametrize(("statement", "message"), [
    ({**PARTNER, "Principal": "arn:aws:iam::111122223333:root"}, "bare ARN is refused"),
    ({**PARTNER, "Principal": {"AWS": 5}}, "AWS must be a principal or a list of them"),
    ({**PARTNER, "Principal": {"AWS": []}}, "AWS must be a principal or a list of them"),
    ({**PARTNER, "Principal": {"User": "x"}}, "unknown principal type 'User'"),
    ({k: v for k, v in PARTNER.items() if k != "Principal"}
     | {"NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"}},
     "NotPrincipal is only allowed with Effect Deny"),
])
def test_principal_shapes_aws_refuses(statement: dict[str, Any], message: str) -> None:
    assert any(message in m for _, m, _ in policy.problems(doc(statement)))


def test_principal_shapes_aws_takes() -> None:
    for principal in ("*", {"AWS": "*"}, {"Service": ["lambda.amazonaws.com"]},
                      {"AWS": ["111122223333", "arn:aws:iam::111122223333:role/r"]}):
        assert policy.problems(doc({**PARTNER, "Principal": principal})) == []
    not_principal = {k: v for k, v in DENY_ALL.items() if k != "Principal"} | {
        "NotPrincipal": {"AWS": "arn:aws:iam::123456789012:role/admin"}}
    assert policy.problems(doc(not_principal)) == []


def test_grants_read_a_bare_principal_string_as_one_principal() -> None:
    # AWS never answers one, but the reading is the same as {AWS: ...}'s
    bare = {**PARTNER, "Principal": "arn:aws:iam::111122223333:root"}
    assert grants(text(bare), "123456789012") == {"arn:aws:iam::111122223333:root"}
    assert locks_out(text({**DENY_ALL, "Principal": "arn:aws:iam::1:root"}), "orders") is None


# --------------------------------------------------------------------------- plan text


def test_describe_shows_resources_and_condition_values() -> None:
    scoped = {**PARTNER, "Resource": f"{ARN}/index/*",
              "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}}
    op = PutResourcePolicy(table="orders", region="af-south-1", resource="table",
                           before=live(text(PARTNER)), after=text(scoped),
                           category=Category.DRIFT)
    assert describe_op(op)[1] == [
        '+ Allow dynamodb:GetItem to {"AWS":"arn:aws:iam::111122223333:root"} on '
        f'{ARN}/index/* when {{"StringEquals":{{"aws:SourceVpce":"vpce-1"}}}}',
        '- Allow dynamodb:GetItem to {"AWS":"arn:aws:iam::111122223333:root"} on *',
    ]


# --------------------------------------------------------------------------- gaps, settle


def test_settle_plans_nothing_in_a_region_whose_endpoint_lacks_the_api() -> None:
    wanted = table(ResourcePolicy(document=text(OWN)))
    replace = ReplaceTable(table="orders", region="af-south-1", before=wanted, after=wanted,
                           category=Category.DRIFT)
    put = PutResourcePolicy(table="orders", region="af-south-1", resource="table",
                            after=text(OWN), category=Category.NEW)
    assert settle_policies([replace, put], [wanted], ("af-south-1",)) == [replace]
    assert RESOURCE_POLICY.settle(PolicyState(unsupported=("af-south-1",)), [put],
                                  [wanted]) == []
    assert RESOURCE_POLICY.settle(PolicyState(), [put], [wanted]) == [put]


class _Ddb:
    """GetResourcePolicy answers, in turn (the last one repeats); or one error."""

    def __init__(self, answers: list[str | None] | ClientError) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def get_resource_policy(self, ResourceArn: str) -> dict[str, Any]:
        self.asked.append(ResourceArn)
        if isinstance(self.answers, ClientError):
            raise self.answers
        found = self.answers[min(len(self.asked), len(self.answers)) - 1]
        if found is None:
            raise ClientError({"Error": {"Code": "PolicyNotFoundException", "Message": ""}},
                              "GetResourcePolicy")
        return {"Policy": found, "RevisionId": str(len(self.asked))}


class _Clients:
    def __init__(self, ddb: _Ddb, custom: str | None = None) -> None:
        self.ddb = ddb
        self.custom_endpoint = custom

    def dynamodb(self, region: str) -> _Ddb:
        return self.ddb


def _unknown() -> ClientError:
    return ClientError({"Error": {"Code": "UnknownOperationException", "Message": ""}},
                       "GetResourcePolicy")


def test_a_new_table_on_an_emulator_without_the_api_is_probed_once() -> None:
    wanted = table(ResourcePolicy(document=text(OWN)))
    new = ReadContext(live_tables={"orders": None})
    lacking = _Clients(_Ddb(_unknown()), custom="http://localhost:8000")
    found = read_policies(lacking, [wanted], new)  # type: ignore[arg-type]
    assert (found.unsupported, len(lacking.ddb.asked)) == (("af-south-1",), 1)
    assert RESOURCE_POLICY.diff(found, wanted) == []
    serving = _Clients(_Ddb([None]), custom="http://localhost:8000")
    assert read_policies(serving, [wanted], new) == PolicyState()  # type: ignore[arg-type]
    aws = _Clients(_Ddb(_unknown()))
    assert read_policies(aws, [wanted], new) == PolicyState()  # type: ignore[arg-type]
    assert aws.ddb.asked == []  # real AWS is never probed
    quiet = _Clients(_Ddb(_unknown()), custom="http://localhost:8000")
    assert read_policies(quiet, [table()], new) == PolicyState()  # type: ignore[arg-type]
    assert quiet.ddb.asked == []  # a spec without policies costs nothing


def test_a_table_read_tells_the_gap_without_a_probe_and_destroy_reads_nothing() -> None:
    wanted = table(ResourcePolicy(document=text(OWN)))
    existing = ReadContext(live_tables={"orders": LiveTable(table=wanted, arn=ARN)})
    clients = _Clients(_Ddb([text(OWN)]), custom="http://localhost:8000")
    found = read_policies(clients, [wanted], existing)  # type: ignore[arg-type]
    assert clients.ddb.asked == [ARN]
    assert found.tables["orders"].table == LivePolicy(arn=ARN, document=text(OWN),
                                                     revision_id="1")
    destroy = ReadContext(live_tables=existing.live_tables, destroy=True)
    untouched = _Clients(_Ddb(_unknown()))
    assert read_policies(untouched, [wanted], destroy) == PolicyState()  # type: ignore[arg-type]
    assert untouched.ddb.asked == []


# --------------------------------------------------------------------------- apply waits


class _Runner:
    def __init__(self, ddb: _Ddb) -> None:
        self.clients = _Clients(ddb)
        self.calls: list[str] = []
        self.reports: list[str] = []

    def call(self, service: str, region: str, context: str, method: str, *,
             took_effect: Any = None, **kwargs: Any) -> Any:
        self.calls.append(method)
        return {}

    def table_arn(self, name: str, region: str) -> str:
        return ARN

    def report(self, table: str, message: str) -> None:
        self.reports.append(message)

    def poll(self, table: str, what: str, read: Any, done: Any, progress: Any) -> Any:
        for _ in range(5):  # the real runner's bound is the wait timeout
            answer = read()
            if done(answer):
                return answer
            self.report(table, progress(answer))
        raise AssertionError(f"never: {what}")


def test_apply_waits_until_get_shows_what_was_written() -> None:
    put = PutResourcePolicy(table="orders", region="af-south-1", resource="table",
                            before=live(text(PARTNER)), after=text(OWN),
                            category=Category.DRIFT)
    ddb = _Ddb([text(PARTNER), text(PARTNER), text(OWN)])  # eventually consistent
    runner = _Runner(ddb)
    RESOURCE_POLICY.handlers[PutResourcePolicy](runner, put, None)  # type: ignore[arg-type]
    assert runner.calls == ["put_resource_policy"]
    assert len(ddb.asked) == 3
    assert set(runner.reports) == {"GetResourcePolicy of the table still answers another document"}
    delete = DeleteResourcePolicy(table="orders", region="af-south-1", resource="table",
                                  before=live(text(OWN)), category=Category.DRIFT)
    ddb = _Ddb([text(OWN), None])
    runner = _Runner(ddb)
    RESOURCE_POLICY.handlers[DeleteResourcePolicy](runner, delete, None)  # type: ignore[arg-type]
    assert (runner.calls, len(ddb.asked)) == (["delete_resource_policy"], 2)
