"""Resource-based policies of a table and of its stream (Put/Get/DeleteResourcePolicy).

Spec: ``resource_policy`` (the table's) and ``stream.resource_policy``, each the document, a
``{file: policy.json}`` beside the spec, or ``none`` (no policy wanted); absent: not managed,
and not read (a table that declares neither costs no call). ``spec/policy.py`` checks the
documents and makes their canonical text (compact JSON, keys sorted), so the comparison here is
semantic: key order and whitespace never make a change.

DynamoDB's rules, where they act:

* a policy is part of its resource: it goes with the table (or the stream) when that is
  deleted, so destroying a table plans nothing here, and a table that is replaced, or a stream
  that is turned off and on again (a new stream ARN), gets its policy put anew (``settle``);
* "You can only attach a resource-based policy to existing streams": a stream policy is put
  after the table's operations (families run after them) and its ARN is looked up then;
* ``ExpectedRevisionId`` is the revision read (``NO_POLICY`` where none was): someone else's
  change in between is refused by AWS (PolicyNotFoundException) instead of being overwritten;
* "Subsequent updates to a policy ... are blocked for 15 seconds after a successful update":
  AWS answers ResourceInUseException, which ``Runner.call`` retries with backoff;
* a policy that denies the caller its own access is refused unless
  ``ConfirmRemoveSelfResourceAccess``: sent only on an operation carrying ``LOCKS_OUT``, which
  apply runs only when that hazard was allowed.

Hazards (decided statically, from the documents alone): ``LOCKS_OUT`` when a Deny without a
Condition applies to every principal (``"*"`` or ``{AWS: "*"}``) for an action tablesmith
calls on the table; ``REMOVES_ACCESS`` when grants to other principals (another account, or
everyone) go, by a Delete or by a Put that drops them, and when a Put adds a Deny without a
Condition (a Deny overrides any Allow, so whoever it names loses access; not on a table the
plan creates, which no one uses yet).

Apply waits, polling GetResourcePolicy, until the policy written (or its absence) is what AWS
answers: it applies policies eventually, and a plan made right after would see the old one.
An emulator without the API is told by the read; in a region with no table read yet (a new
table), by one probe, made only on a custom endpoint and only when the spec manages a policy.
"""

from __future__ import annotations

import fnmatch
import json
import re
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from tablesmith import grants as iam
from tablesmith.around.contract import (
    CloudFormationAt,
    CloudFormationOut,
    CloudFormationOutputs,
    FamilyBase,
    Handler,
    ReadContext,
    Runner,
    TerraformAt,
    TerraformOut,
    handler,
)
from tablesmith.aws import aws_context, error_code
from tablesmith.errors import ApplyError, TablesmithError
from tablesmith.hazards import HazardCode
from tablesmith.plan import Action, Category, Op, ReplaceTable
from tablesmith.spec import policy
from tablesmith.state import FamilyState

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence

    from tablesmith.aws import Clients
    from tablesmith.spec.model import ResourcePolicy, Table
    from tablesmith.state import LiveTable

Resource = Literal["table", "stream"]
NO_POLICY = "NO_POLICY"  # ExpectedRevisionId: attach only if the resource has none
MAX_READERS = 16
_NOT_FOUND = "PolicyNotFoundException"
_LACKS = ("UnknownOperationException",)  # an emulator without the API
# what tablesmith itself calls on a table and its stream: a Deny of one of these to everyone
# leaves the next plan or apply unable to manage the table
OWN_ACTIONS = (
    "dynamodb:DescribeTable", "dynamodb:UpdateTable", "dynamodb:DeleteTable",
    "dynamodb:DescribeContinuousBackups", "dynamodb:UpdateContinuousBackups",
    "dynamodb:DescribeTimeToLive", "dynamodb:UpdateTimeToLive", "dynamodb:ListTagsOfResource",
    "dynamodb:TagResource", "dynamodb:UntagResource", "dynamodb:GetResourcePolicy",
    "dynamodb:PutResourcePolicy", "dynamodb:DeleteResourcePolicy",
)
_ACCOUNT = re.compile(r"^\d{12}$")
_ARN_ACCOUNT = re.compile(r"^arn:[^:]+:[^:]*:[^:]*:(\d{12}):")


# --------------------------------------------------------------------------- live state


class LivePolicy(BaseModel):
    """A policy as read: where, its canonical document and its revision."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    arn: str  # the table's or the stream's ARN
    document: str  # canonical (spec.policy.canonical of what AWS answered)
    revision_id: str  # compared as text (AWS)


class TablePolicies(BaseModel):
    """What was read of one table's policies (only what its spec manages is read)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    read: tuple[Resource, ...] = ()  # the resources read; a policy absent here: none attached
    table: LivePolicy | None = None
    stream: LivePolicy | None = None
    stream_arn: str | None = None  # the stream whose policy was read
    stream_view_type: str | None = None  # its view type (another one will be a new stream)


class PolicyState(FamilyState):
    """Each table's policies (by physical name), and the regions whose endpoint lacks them."""

    tables: dict[str, TablePolicies] = Field(default_factory=dict)
    unsupported: tuple[str, ...] = ()  # regions (custom endpoints only)

    def fingerprint(self, table: str) -> object:
        found = self.tables.get(table)
        return None if found is None else found.model_dump(mode="json")


# --------------------------------------------------------------------------- operations


class PutResourcePolicy(Op):
    """DynamoDB PutResourcePolicy on the table or its stream: attaches or replaces one."""

    op: Literal["PutResourcePolicy"] = "PutResourcePolicy"
    action: Action = Action.CREATE
    resource: Resource
    before: LivePolicy | None = None  # None: none attached (ExpectedRevisionId NO_POLICY)
    after: str  # the canonical document sent

    @property
    def label(self) -> str:
        return f"PutResourcePolicy {self.resource}"


class DeleteResourcePolicy(Op):
    """DynamoDB DeleteResourcePolicy of the table's or its stream's policy."""

    op: Literal["DeleteResourcePolicy"] = "DeleteResourcePolicy"
    action: Action = Action.DELETE
    resource: Resource
    before: LivePolicy

    @property
    def label(self) -> str:
        return f"DeleteResourcePolicy {self.resource}"


PolicyOp = PutResourcePolicy | DeleteResourcePolicy


# --------------------------------------------------------------------------- hazards


def locks_out(document: str, table: str) -> str | None:
    """The Deny statement (its Sid or number) that takes tablesmith's own actions on ``table``
    from every principal, unconditionally; None when no statement does (statically)."""
    for i, statement in enumerate(policy.statements(policy.parse(document))):
        if _locking(statement, table):
            return str(statement.get("Sid") or f"#{i + 1}")
    return None


def _locking(statement: dict[str, Any], table: str) -> bool:
    """Does the statement deny every principal an action tablesmith calls on ``table``?"""
    if statement.get("Effect") != "Deny" or "Condition" in statement:
        return False
    if not _everyone(statement.get("Principal")):
        return False  # a named principal (or NotPrincipal): who the caller is is not known here
    if not _covers_table(statement, table):
        return False
    if "Action" in statement:
        patterns = [str(a).lower() for a in policy.as_list(statement["Action"])]
        return any(fnmatch.fnmatchcase(a.lower(), p) for a in OWN_ACTIONS for p in patterns)
    # NotAction: everything but the listed actions is denied
    kept = [str(a).lower() for a in policy.as_list(statement.get("NotAction"))]
    return any(not any(fnmatch.fnmatchcase(a.lower(), p) for p in kept) for a in OWN_ACTIONS)


def _everyone(principal: object) -> bool:
    return "*" in _aws_principals(principal)


def _aws_principals(principal: object) -> list[str]:
    """The AWS principals a Principal element names (``*``: everyone). spec.policy admits
    only ``"*"`` as a bare string; any other string (never sent by AWS) is read as one."""
    if isinstance(principal, str):
        return [principal]
    if isinstance(principal, dict):
        return [str(p) for p in policy.as_list(principal.get("AWS"))]
    return []


def _covers_table(statement: dict[str, Any], table: str) -> bool:
    """Can the statement's Resource be the table or its stream? (Unknown shapes: yes.)"""
    if "Resource" not in statement:
        return True  # NotResource, or none: treated as covering (the safe answer)
    for pattern in policy.as_list(statement["Resource"]):
        parts = str(pattern).split(":", 5)
        if pattern == "*" or len(parts) < 6:
            return True
        if any(fnmatch.fnmatchcase(name, parts[5])
               for name in (f"table/{table}", f"table/{table}/stream/x")):
            return True
    return False


def grants(document: str | None, own_account: str | None) -> set[str]:
    """The principals outside ``own_account`` (everyone: ``*``) that Allow statements name."""
    if document is None:
        return set()
    found: set[str] = set()
    for statement in policy.statements(policy.parse(document)):
        if statement.get("Effect") != "Allow":
            continue
        for entry in _aws_principals(statement.get("Principal")):
            match = _ARN_ACCOUNT.match(entry)
            account = entry if _ACCOUNT.match(entry) else match.group(1) if match else None
            if entry == "*" or account is None or account != own_account:
                found.add(entry)
    return found


def new_denials(before: str | None, after: str, table: str) -> list[str]:
    """Each unconditioned Deny statement ``after`` adds to ``before`` (its Sid aside), in
    words (whom, which actions); those that lock out every principal are ``LOCKS_OUT``'s."""
    def key(statement: dict[str, Any]) -> str:
        return policy.canonical({k: v for k, v in statement.items() if k != "Sid"})

    had = {key(s) for s in policy.statements(policy.parse(before))} if before else set()
    return [_denial(s) for s in policy.statements(policy.parse(after))
            if s.get("Effect") == "Deny" and "Condition" not in s and key(s) not in had
            and not _locking(s, table)]


def _denial(statement: dict[str, Any]) -> str:
    if "NotPrincipal" in statement:
        who = "all but " + _who(statement["NotPrincipal"])
    else:
        who = _who(statement.get("Principal"))
    if "NotAction" in statement:
        what = "all but " + ", ".join(map(str, policy.as_list(statement["NotAction"])))
    else:
        what = ", ".join(map(str, policy.as_list(statement.get("Action"))))
    return f"{who} ({what})"


def _who(principal: object) -> str:
    """A Principal element for people: ``everyone``, or its principals."""
    if principal == "*":
        return "everyone"
    if isinstance(principal, dict):
        return ", ".join("everyone" if p == "*" else str(p)
                         for values in principal.values() for p in policy.as_list(values))
    return str(principal)


def _account_of(arn: str) -> str | None:
    match = _ARN_ACCOUNT.match(arn)
    return match.group(1) if match else None


def _with_hazards(op: PolicyOp, *, new_table: bool = False) -> PolicyOp:
    """``op`` with its hazards (``new_table``: the plan creates the table, so no one has
    access a Deny could end)."""
    before = op.before
    after = op.after if isinstance(op, PutResourcePolicy) else None
    lost = grants(before.document if before else None,
                  _account_of(before.arn) if before else None) - grants(
                      after, _account_of(before.arn) if before else None)
    out: PolicyOp = op
    if after is not None and (sid := locks_out(after, op.table)) is not None:
        out = out.with_hazard(
            HazardCode.LOCKS_OUT,
            f"statement {sid} of the {op.resource} policy of '{op.table}' denies every "
            "principal, tablesmith included, actions it needs on the table",
            "add a Condition (e.g. on aws:PrincipalArn) or name the principals to deny; allow "
            "with --allow-hazards LOCKS_OUT only if another role will manage the table")
    ended = [f"no longer grants {', '.join(sorted(lost))}: their access to the table ends"] \
        if lost else []
    # a Deny overrides every Allow, the identity policies' too: whoever it names loses access
    # this policy never granted (which ``lost`` cannot see)
    denied = new_denials(before.document if before else None, after, op.table) \
        if after is not None and not new_table else []
    if denied:
        ended.append(f"now denies {'; '.join(denied)}, whatever their own policies allow")
    if ended:
        out = out.with_hazard(
            HazardCode.REMOVES_ACCESS,
            f"the {op.resource} policy of '{op.table}' {'; and '.join(ended)}",
            "keep the grants in the spec and add a Condition to a new Deny, or allow with "
            "--allow-hazards REMOVES_ACCESS")
    return out


# --------------------------------------------------------------------------- diff


def desired_policies(table: Table) -> list[tuple[Resource, ResourcePolicy]]:
    """The policies ``table``'s spec manages, table first."""
    wanted: list[tuple[Resource, ResourcePolicy | None]] = [
        ("table", table.resource_policy), ("stream", table.stream_resource_policy)]
    return [(r, p) for r, p in wanted if p is not None]


def _current(found: TablePolicies | None, resource: Resource, table: Table) -> LivePolicy | None:
    """The policy the resource will have when the family's operations run."""
    if found is None:
        return None
    if resource == "table":
        return found.table
    if found.stream_view_type is None or found.stream_view_type != table.stream.view_type:
        return None  # no stream yet, or the stream is re-made: the new one has no policy
    return found.stream


def diff_policies(state: PolicyState, table: Table) -> list[Op]:
    """Put or Delete each managed policy that differs from the spec (pure)."""
    if table.region in state.unsupported:
        return []
    found = state.tables.get(table.table_name)
    ops: list[Op] = []
    for resource, wanted in desired_policies(table):
        current = _current(found, resource, table)
        op: PolicyOp | None = None
        if wanted.document is None:
            if current is not None:
                op = DeleteResourcePolicy(table=table.table_name, region=table.region,
                                          resource=resource, before=current,
                                          category=Category.DRIFT,
                                          reason="the spec wants no policy")
        elif current is None:
            op = PutResourcePolicy(table=table.table_name, region=table.region,
                                   resource=resource, after=wanted.document,
                                   category=Category.NEW, reason="new policy")
        elif current.document != wanted.document:
            op = PutResourcePolicy(table=table.table_name, region=table.region,
                                   resource=resource, action=Action.UPDATE, before=current,
                                   after=wanted.document, category=Category.DRIFT,
                                   reason="the policy differs from the spec")
        if op is not None:
            ops.append(_with_hazards(op, new_table=found is None))
    return ops


def settle_policies(ops: list[Op], wanted_by: Sequence[Table],
                    unsupported: Collection[str] = ()) -> list[Op]:
    """A replaced table starts with no policy: its policies are put anew, after its
    replacement (the diff compared them with the old table's). Nothing in ``unsupported``
    regions: the endpoint there lacks the API (apply would fail after the table's changes)."""
    replaced = {op.table for op in ops if isinstance(op, ReplaceTable)}
    out = [op for op in ops if not (isinstance(op, PolicyOp)
                                    and (op.table in replaced or op.region in unsupported))]
    by_name = {t.table_name: t for t in wanted_by}
    for name in sorted(replaced):
        table = by_name.get(name)
        if table is None or table.region in unsupported:
            continue
        fresh = [_with_hazards(PutResourcePolicy(
            table=name, region=table.region, resource=resource, after=wanted.document,
            category=Category.NEW, reason="the table is replaced: its policy is put anew"))
            for resource, wanted in desired_policies(table) if wanted.document is not None]
        last = max((i for i, op in enumerate(out) if op.table == name), default=len(out) - 1)
        out[last + 1:last + 1] = fresh
    return out


# --------------------------------------------------------------------------- read


def read_policies(clients: Clients, tables: Sequence[Table],
                  context: ReadContext) -> PolicyState:
    """GetResourcePolicy of each managed policy of each live table (none read otherwise:
    DynamoDB has no bulk form); nothing for a destroy, which plans nothing here.

    On a custom endpoint, a region where the spec manages a policy but no read was made (its
    tables are new) is probed once, so that a new table's Put is not planned on an emulator
    that lacks the API (it would fail after CreateTable). Real AWS is never probed."""
    if context.destroy:
        return PolicyState()
    managing = [t for t in tables if desired_policies(t)]
    jobs = [(t, live) for t in managing
            if (live := context.live_tables.get(t.table_name)) is not None]
    results: list[TablePolicies | None] = []
    if jobs:
        with ThreadPoolExecutor(max_workers=min(MAX_READERS, len(jobs))) as pool:
            results = list(pool.map(lambda job: _read_table(clients, *job), jobs))
    lacking = {t.region for (t, _), r in zip(jobs, results, strict=True) if r is None}
    asked = {t.region for (t, _), r in zip(jobs, results, strict=True) if r is None or r.read}
    if clients.custom_endpoint:
        lacking |= {region for region in {t.region for t in managing} - asked
                    if _lacks_api(clients, region)}
    return PolicyState(tables={t.table_name: r for (t, _), r in zip(jobs, results, strict=True)
                               if r is not None}, unsupported=tuple(sorted(lacking)))


def _lacks_api(clients: Clients, region: str) -> bool:
    """Does the custom endpoint in ``region`` lack GetResourcePolicy? One call on a table
    that does not exist: "no such table" (or "no policy") says it has the API."""
    from botocore.exceptions import ClientError

    arn = f"arn:aws:dynamodb:{region}:000000000000:table/tablesmith-probe"
    with aws_context(f"probing resource-based policies in {region}"):
        try:
            clients.dynamodb(region).get_resource_policy(ResourceArn=arn)
        except ClientError as exc:
            return error_code(exc) in _LACKS
    return False


def _read_table(clients: Clients, table: Table, live: LiveTable) -> TablePolicies | None:
    """One table's managed policies; None when the endpoint lacks the API."""
    read: list[Resource] = []
    got: dict[str, LivePolicy | None] = {}
    stream_arn = live.stream_arn if live.table.stream.enabled else None
    for resource, _ in desired_policies(table):
        arn = live.arn if resource == "table" else stream_arn
        if arn is None:
            continue  # no stream: nothing attached to read
        try:
            got[resource] = _get(clients, table.region, arn,
                                 f"reading the {resource} policy of table '{table.table_name}'")
        except TablesmithError as exc:
            if exc.__cause__ is not None and error_code(exc.__cause__) in _LACKS \
                    and clients.custom_endpoint:
                return None
            raise
        read.append(resource)
    return TablePolicies(read=tuple(read), table=got.get("table"), stream=got.get("stream"),
                         stream_arn=stream_arn,
                         stream_view_type=live.table.stream.view_type if stream_arn else None)


def _get(clients: Clients, region: str, arn: str, context: str) -> LivePolicy | None:
    from botocore.exceptions import ClientError

    with aws_context(context):
        try:
            answer = clients.dynamodb(region).get_resource_policy(ResourceArn=arn)
        except ClientError as exc:
            if error_code(exc) == _NOT_FOUND:
                return None
            raise
    return LivePolicy(arn=arn, document=policy.canonical(policy.parse(answer["Policy"])),
                      revision_id=str(answer["RevisionId"]))


# --------------------------------------------------------------------------- apply


def _arn(runner: Runner, op: PolicyOp) -> str | None:
    """The resource's ARN now (a stream's: the table's current stream; None: it has none)."""
    if op.resource == "table":
        return runner.table_arn(op.table, op.region)
    described = runner.call("dynamodb", op.region, f"describing table '{op.table}'",
                            "describe_table", TableName=op.table)["Table"]
    if not described.get("StreamSpecification", {}).get("StreamEnabled"):
        return None
    arn = described.get("LatestStreamArn")
    return str(arn) if arn else None


def _put_resource_policy(runner: Runner, op: PutResourcePolicy, desired: Table | None) -> None:
    arn = _arn(runner, op)
    if arn is None:
        raise ApplyError(f"the stream of table '{op.table}' is not enabled: its policy "
                              "cannot be attached (AWS attaches policies to existing streams)")
    # the revision read, on the resource read; another stream (re-made by this plan) has none
    expected = op.before.revision_id if op.before is not None and op.before.arn == arn \
        else NO_POLICY
    context = f"putting the {op.resource} policy of table '{op.table}' in {op.region}"
    extra: dict[str, Any] = {}
    if any(h.code == HazardCode.LOCKS_OUT for h in op.hazards):
        extra["ConfirmRemoveSelfResourceAccess"] = True  # the hazard was allowed to get here
    runner.call("dynamodb", op.region, context, "put_resource_policy",
                took_effect=lambda: _attached(runner, op.region, arn) == op.after,
                ResourceArn=arn, Policy=op.after, ExpectedRevisionId=expected, **extra)
    _wait_attached(runner, op, arn, op.after)


def _delete_resource_policy(runner: Runner, op: DeleteResourcePolicy,
                            desired: Table | None) -> None:
    arn = _arn(runner, op)
    if arn is None or arn != op.before.arn:
        return  # the stream read is gone, and its policy with it
    runner.call("dynamodb", op.region,
                f"deleting the {op.resource} policy of table '{op.table}' in {op.region}",
                "delete_resource_policy",
                took_effect=lambda: _attached(runner, op.region, arn) is None,
                ResourceArn=arn, ExpectedRevisionId=op.before.revision_id)
    _wait_attached(runner, op, arn, None)


def _wait_attached(runner: Runner, op: PolicyOp, arn: str, document: str | None) -> None:
    """Poll GetResourcePolicy until it answers ``document`` (None: no policy): AWS applies a
    policy eventually, and a plan made right after apply would otherwise see the old one."""
    def progress(now: str | None) -> str:
        seen = "none" if now is None else "another document"
        return f"GetResourcePolicy of the {op.resource} still answers {seen}"

    runner.poll(op.table, f"the {op.resource} policy of table '{op.table}' to be "
                f"{'attached' if document is not None else 'deleted'}",
                lambda: _attached(runner, op.region, arn), lambda now: now == document,
                progress)


def _attached(runner: Runner, region: str, arn: str) -> str | None:
    """The canonical policy attached to ``arn`` now (None: none)."""
    found = _get(runner.clients, region, arn, f"reading the policy of {arn}")
    return None if found is None else found.document


# --------------------------------------------------------------------------- render


def describe_op(op: Op) -> tuple[str, list[str]]:
    """A policy operation as a headline and one line per statement added or removed."""
    assert isinstance(op, PutResourcePolicy | DeleteResourcePolicy)
    head = f"{op.op} {op.resource} of {op.table} [{op.region}]"
    before = {_statement(s) for s in policy.statements(
        policy.parse(op.before.document))} if op.before else set()
    after = {_statement(s) for s in policy.statements(policy.parse(op.after))} \
        if isinstance(op, PutResourcePolicy) else set()
    lines = [f"+ {s}" for s in sorted(after - before)]
    lines += [f"- {s}" for s in sorted(before - after)]
    return head, lines


def _statement(statement: dict[str, Any]) -> str:
    """One statement in words, every element that decides it shown:
    ``Allow dynamodb:GetItem to {"AWS":"arn:aws:iam::1:root"} on * when {...} (Sid)``."""
    actions = ", ".join(map(str, policy.as_list(statement.get("Action"))))
    if "NotAction" in statement:
        actions = "all but " + ", ".join(map(str, policy.as_list(statement["NotAction"])))
    principal = statement.get("Principal", statement.get("NotPrincipal"))
    who = "everyone" if _everyone(principal) else policy.canonical(principal)
    if "NotPrincipal" in statement:
        who = f"all but {who}"
    on = ""  # a policy on a table may still name resources: another change of meaning
    if "Resource" in statement:
        on = " on " + ", ".join(map(str, policy.as_list(statement["Resource"])))
    elif "NotResource" in statement:
        on = " on all but " + ", ".join(map(str, policy.as_list(statement["NotResource"])))
    condition = f" when {policy.canonical(statement['Condition'])}" \
        if "Condition" in statement else ""
    sid = f" ({statement['Sid']})" if statement.get("Sid") else ""
    return f"{statement.get('Effect')} {actions} to {who}{on}{condition}{sid}"


# --------------------------------------------------------------------------- the family


class ResourcePolicyFamily(FamilyBase):
    """Resource-based policies of tables and streams (``tablesmith.around.contract``)."""

    name: ClassVar[str] = "resource_policy"
    spec_fields: ClassVar[tuple[str, ...]] = ("resource_policy", "stream_resource_policy")
    title: ClassVar[str] = "resource-based policies"
    state_type: ClassVar[type[FamilyState]] = PolicyState
    handlers: ClassVar[Mapping[type[Op], Handler]] = dict([
        handler(PutResourcePolicy, _put_resource_policy),
        handler(DeleteResourcePolicy, _delete_resource_policy),
    ])

    def lacks(self, clients: Clients, region: str) -> bool:
        # no probe: it would cost every run a call; the read (made only for tables that
        # manage a policy) tells an emulator without the API by its answer (PolicyState)
        return False

    def read(self, clients: Clients, tables: Sequence[Table],
             context: ReadContext) -> PolicyState:
        return read_policies(clients, tables, context)

    def diff(self, state: PolicyState, table: Table) -> list[Op]:
        return diff_policies(state, table)

    def diff_destroy(self, state: PolicyState, table: Table) -> list[Op]:
        return []  # a policy is part of its table: DeleteTable removes it

    def settle(self, state: PolicyState, ops: list[Op], wanted_by: Sequence[Table]
               ) -> list[Op]:
        return settle_policies(ops, wanted_by, state.unsupported)

    def notices(self, state: PolicyState, tables: Sequence[Table]) -> list[str]:
        return [f"the endpoint in {region} does not serve resource-based policies: "
                "resource_policy is not managed there" for region in state.unsupported
                if any(t.region == region and desired_policies(t) for t in tables)]

    def describe(self, op: Op) -> tuple[str, list[str]]:
        return describe_op(op)

    def export_terraform(self, table: Table, at: TerraformAt,
                         out: TerraformOut) -> dict[str, Any]:
        """One ``aws_dynamodb_resource_policy`` per policy the spec wants (``none``: none),
        on the table's ARN or its stream's, with the document apply sends."""
        for resource, wanted in desired_policies(table):
            if wanted.document is None:
                continue
            body: dict[str, Any] = {
                "resource_arn": out.ref(at.address, "arn" if resource == "table"
                                        else "stream_arn"),
                "policy": wanted.document,
            }
            if locks_out(wanted.document, table.table_name) is not None:
                body["confirm_remove_self_resource_access"] = True
            out.add(at.file, "aws_dynamodb_resource_policy", f"{at.ident}_{resource}_policy",
                    body, table.region, f"{at.owner} ({resource} policy)")
        return {}

    def export_cloudformation(self, table: Table, at: CloudFormationAt,
                              out: CloudFormationOut) -> CloudFormationOutputs:
        """The policies as properties of the table's resource: ``ResourcePolicy`` and
        ``StreamSpecification.ResourcePolicy`` on an ``AWS::DynamoDB::Table``; on a global
        table, the same on its replica in the table's Region (``ReplicaStreamSpecification``),
        the only one apply puts them on."""
        wanted = {resource: {"PolicyDocument": json.loads(p.document)}
                  for resource, p in desired_policies(table) if p.document is not None}
        if not wanted:
            return CloudFormationOutputs()
        resource = out.resource(at.logical_id)
        properties = dict(resource["Properties"])
        if resource["Type"] == "AWS::DynamoDB::GlobalTable":
            def placed(replica: dict[str, Any]) -> dict[str, Any]:
                if replica["Region"] != table.region:
                    return replica
                replica = dict(replica)
                if "table" in wanted:
                    replica["ResourcePolicy"] = wanted["table"]
                if "stream" in wanted:
                    replica["ReplicaStreamSpecification"] = {"ResourcePolicy": wanted["stream"]}
                return replica
            properties["Replicas"] = [placed(r) for r in properties["Replicas"]]
        else:
            if "table" in wanted:
                properties["ResourcePolicy"] = wanted["table"]
            if "stream" in wanted:
                properties["StreamSpecification"] = {**properties["StreamSpecification"],
                                                     "ResourcePolicy": wanted["stream"]}
        resource["Properties"] = properties
        return CloudFormationOutputs()

    def iam_statements(self, tables: Sequence[Table], account: str,
                       read_only: bool) -> list[dict[str, Any]]:
        """Only for the tables whose spec manages a policy (absent: never read): Get on the
        table and its stream, Put and Delete unless ``read_only``."""
        managed = [t for t in tables if desired_policies(t)]
        if not managed:
            return []
        arns = [a for t in managed for a in iam.table_arns(t.table_name, t.region, account)]
        out = [iam.statement("ReadTheResourcePoliciesTheSpecManages",
                         ("dynamodb:GetResourcePolicy",), arns)]
        if not read_only:
            out.append(iam.statement("ChangeTheResourcePoliciesTheSpecManages",
                                 ("dynamodb:DeleteResourcePolicy",
                                  "dynamodb:PutResourcePolicy"), arns))
        return out


RESOURCE_POLICY = ResourcePolicyFamily()
