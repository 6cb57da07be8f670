"""What a one-shot ``--local`` command no longer pays for, checked by behaviour, not by time.

* AWS-managed IAM policies are built when a call names one, not all ~1,580 per backend;
* a command that only reads leaves the state file (and its backup) as they were;
* the embedded local target is not probed for features it is known to have;
* moto's REST routes compile werkzeug's URL builders only when a URL is built.
"""

from __future__ import annotations

import io
import time
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from tablesmith.aws import Clients, Target
from tablesmith.live import endpoint_gaps
from tablesmith.local.server import LocalTarget, _prepare_moto, changes_state
from tablesmith.resources import BACKUP_POLICIES

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

REGION = "af-south-1"
ACCOUNT = "123456789012"
JSON = "application/x-amz-json-1.0"
FORM = "application/x-www-form-urlencoded; charset=utf-8"


def _environ(
    method: str = "POST",
    target: str = "",
    path: str = "/",
    body: bytes = b"",
    content_type: str = JSON,
) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    if target:
        environ["HTTP_X_AMZ_TARGET"] = target
    return environ


@pytest.mark.parametrize(
    ("environ", "changes"),
    [
        (_environ(target="DynamoDB_20120810.DescribeTable"), False),
        (_environ(target="DynamoDB_20120810.ListTagsOfResource"), False),
        (_environ(target="DynamoDB_20120810.GetItem"), False),
        (_environ(target="DynamoDB_20120810.BatchGetItem"), False),
        (_environ(target="DynamoDB_20120810.Query"), False),
        (_environ(target="DynamoDB_20120810.Scan"), False),
        (_environ(target="TrentService.DescribeKey"), False),
        (_environ(target="DynamoDB_20120810.PutItem"), True),
        (_environ(target="DynamoDB_20120810.UpdateTable"), True),
        (_environ(target="DynamoDB_20120810.ExecuteStatement"), True),  # PartiQL may write
        (_environ(target="DynamoDB_20120810.Getaway"), True),  # a name, not a Get
        (_environ(path="/service/GraniteServiceVersion20100801/operation/DescribeAlarms"), False),
        (_environ(path="/service/GraniteServiceVersion20100801/operation/PutMetricAlarm"), True),
        (_environ("GET", path="/backup-vaults/"), False),  # AWS Backup is REST: reads are GETs
        (_environ("PUT", path="/backup-vaults/v"), True),
        (_environ("DELETE", path="/backup/plans/p"), True),
        (_environ(body=b"Action=GetRole&RoleName=r&Version=2010-05-08", content_type=FORM), False),
        (_environ(body=b"Action=AttachRolePolicy&RoleName=r", content_type=FORM), True),
        (_environ(body=b"Version=2010-05-08", content_type=FORM), True),  # no Action: unknown
    ],
)
def test_only_reads_leave_nothing_to_save(environ: dict[str, Any], changes: bool) -> None:
    body = environ["wsgi.input"].getvalue()
    assert changes_state(environ) is changes
    assert environ["wsgi.input"].read() == body  # moto still reads the whole request


def test_aws_managed_policies_are_built_when_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOTO_IAM_LOAD_MANAGED_POLICIES", raising=False)
    _prepare_moto()
    from moto.iam.exceptions import NotFoundException
    from moto.iam.models import IAMBackend

    backend = IAMBackend("global", ACCOUNT)
    assert backend.aws_managed_policies == []  # moto built none of the 1,580
    backend.create_role("backup-role", "{}", "/", None, "", [], "3600")
    for arn in BACKUP_POLICIES:
        backend.attach_role_policy(arn, "backup-role")
    assert sorted(backend.get_role("backup-role").managed_policies) == sorted(BACKUP_POLICIES)
    assert backend.get_policy(BACKUP_POLICIES[0]).name == "AWSBackupServiceRolePolicyForBackup"
    assert len(backend.aws_managed_policies) == 2
    with pytest.raises(NotFoundException):  # AWS has no such policy: moto's own answer
        backend.attach_role_policy("arn:aws:iam::aws:policy/NoSuchPolicy", "backup-role")
    with pytest.raises(NotFoundException):  # a path AWS does not use for that name
        backend.get_policy("arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForBackup")


@pytest.fixture
def state(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "state"
    try:
        yield directory
    finally:
        from tablesmith.local import snapshot

        snapshot.clear()  # moto's backends are process-global: leave nothing to other tests


def _dynamodb(endpoint: str, key: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=key,
    )


def test_a_command_that_only_reads_leaves_the_state_file_alone(state: Path) -> None:
    target = LocalTarget(state)
    with target as endpoint:
        _dynamodb(endpoint, target.access_key).create_table(
            TableName="t",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        )
    saved = (state / "state.json").read_bytes()
    assert b'"t"' in saved
    stamp = (state / "state.json").stat().st_mtime_ns

    reader = LocalTarget(state)
    with reader as endpoint:
        ddb = _dynamodb(endpoint, reader.access_key)
        assert ddb.describe_table(TableName="t")["Table"]["TableStatus"] == "ACTIVE"
        assert ddb.list_tables()["TableNames"] == ["t"]
    assert (state / "state.json").stat().st_mtime_ns == stamp
    assert (state / "state.json").read_bytes() == saved

    writer = LocalTarget(state)
    with writer as endpoint:
        _dynamodb(endpoint, writer.access_key).put_item(TableName="t", Item={"PK": {"S": "a"}})
    assert (state / "state.json").read_bytes() != saved
    assert (state / "state.json.bak").read_bytes() == saved  # the state before the write


def test_the_embedded_target_is_not_probed(state: Path) -> None:
    target = LocalTarget(state)
    with target as endpoint:
        clients = Clients(
            Target(REGION, endpoint_url=endpoint, static_credentials=True, state_dir=str(state))
        )
        assert endpoint_gaps(clients, REGION) == ()
        assert endpoint_gaps(clients, "eu-west-1") == ()
        assert clients.total_calls == 0


def test_rest_routes_compile_url_builders_only_when_one_is_built(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.core.routing import RestRouter, _create_map
    from moto.core.utils import get_service_model
    from werkzeug.routing import Rule

    _prepare_moto()
    compiled: list[str] = []
    generated = Rule._get_func_code

    def counting(code: Any, name: str) -> Any:
        compiled.append(name)
        return generated(code, name)

    monkeypatch.setattr(Rule, "_get_func_code", staticmethod(counting))
    rules = list(RestRouter(get_service_model("backup"))._map.iter_rules())
    assert len(rules) > 100
    assert compiled == []  # the Map is made and every rule compiled for matching
    # what each rule builds is what werkzeug's eager builders build, query string included
    eager = list(_create_map([Rule(rule.rule, endpoint=i) for i, rule in enumerate(rules)])
                 .iter_rules())
    for rule, reference in zip(rules, eager, strict=True):
        values = {name: f"{name} 1/é" for name in rule.arguments}
        for unknown in (False, True):
            extra = {"next token": "a&b"} if unknown else {}
            built = rule.build({**values, **extra}, append_unknown=unknown)
            assert built == reference.build({**values, **extra}, append_unknown=unknown)
            assert rule.build(values, append_unknown=unknown) == reference.build(
                values, append_unknown=unknown)  # the compiled one, the second time
    assert len(compiled) == 4 * len(rules)  # 2 per rule on each side, once each


def test_a_stop_wakes_the_serving_loop_instead_of_waiting_for_its_poll(
        state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from tablesmith.local import server

    monkeypatch.setattr(server, "POLL_SECONDS", 600.0)  # a stop that waited would wait 10 min
    target = LocalTarget(state)
    target.__enter__()
    assert target._thread is not None
    serving = target._thread
    stopping = threading.Thread(target=target.__exit__, args=(None, None, None), daemon=True)
    stopping.start()
    stopping.join(30)
    assert not stopping.is_alive()
    assert not serving.is_alive()
    assert target._server is None


def test_a_request_that_reaches_a_stopping_target_is_refused_not_lost(state: Path) -> None:
    """A request accepted while the target stops, and served after its last save, would be
    answered 200 and never saved: it is refused (503), and the caller knows nothing was done.
    """
    import threading

    from botocore.config import Config
    from botocore.exceptions import ClientError

    target = LocalTarget(state)
    endpoint = target.__enter__()
    ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION,
                       aws_access_key_id=target.access_key,
                       aws_secret_access_key=target.access_key,
                       config=Config(retries={"total_max_attempts": 1}))
    outcome: list[object] = []

    def create() -> None:
        try:
            outcome.append(ddb.create_table(
                TableName="late", BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}]))
        except ClientError as exc:
            outcome.append(exc)

    with target._lock:  # the request waits for the lock, as behind another one
        request = threading.Thread(target=create)
        request.start()
        time.sleep(0.3)
        target._stopping.set()  # what __exit__ does first
    request.join(30)
    target.__exit__(None, None, None)
    assert len(outcome) == 1 and isinstance(outcome[0], ClientError)
    assert outcome[0].response["ResponseMetadata"]["HTTPStatusCode"] == 503
    reader = LocalTarget(state)
    with reader as again:
        assert _dynamodb(again, reader.access_key).list_tables()["TableNames"] == []
