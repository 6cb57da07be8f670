"""The local state is inert JSON, re-created through moto: round trip, hostile files, fuzzing.

Everything that touches moto runs in a child process (moto's backends are process-global and
other tests of this worker use them); the tests compare what those processes report.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import pickle
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
TABLESMITH = str(Path(sys.executable).with_name("tablesmith"))
ACCOUNT = "123456789012"
FUZZ_CASES = 50

# A child process: load the state directory, optionally write items, report what moto holds
# (through moto's own describe methods, not through the snapshot), save, release.
PROBE = r"""
import base64, json, sys
from pathlib import Path
from tablesmith.local.server import _prepare_moto
from tablesmith.local.store import StateStore
from moto.backends import get_backend

store = StateStore(Path(sys.argv[1]))
assert store.acquire() is None
_prepare_moto()
store.load()
if sys.argv[2] == "write":
    ddb = get_backend("dynamodb")["123456789012"]["af-south-1"]
    for n in range(40):
        ddb.put_item("tenants", {
            "PK": {"S": f"tenant#{n}"}, "SK": {"S": "profile"},
            "n": {"N": str(n * 1.5)}, "big": {"N": "12345678901234567890123456789012345678"},
            "bin": {"B": base64.b64encode(bytes([n, 0, 255])).decode()},
            "bins": {"BS": ["AAE=", "/w=="]}, "strs": {"SS": ["a", "é", "😀"]},
            "nums": {"NS": ["1", "-2.5"]}, "none": {"NULL": True}, "flag": {"BOOL": n % 2 == 0},
            "doc": {"M": {"nested": {"L": [{"S": "x"}, {"B": "AAEC"}, {"M": {"k": {"N": "7"}}}]}}},
        })
    store.save()

def default(value):
    return base64.b64encode(value).decode() if isinstance(value, bytes) else str(value)

report = {"tables": {}, "backup": {}, "iam": {}, "alarms": {}, "kms": {}}
for account, regions in get_backend("dynamodb").items():
    for region, backend in regions.items():
        for name, table in backend.tables.items():
            report["tables"][f"{region}/{name}"] = {
                "describe": table.describe(),
                "ttl": table.ttl, "pitr": table.continuous_backups,
                "items": sorted(json.dumps(i.to_json(), sort_keys=True, default=default)
                                for i in table.all_items()),
            }
for account, regions in get_backend("backup").items():
    for region, backend in regions.items():
        report["backup"][region] = {
            "vaults": {n: v.to_list_dict() for n, v in backend.vaults.items()},
            "plans": {i: p.to_get_dict() for i, p in backend.plans.items()},
            "selections": getattr(backend, "_ts_selections", {}),
            "settings": getattr(backend, "_ts_region_settings", None),
            "tags": backend.tagger.tags,
        }
for account, partitions in get_backend("iam").items():
    for partition, backend in partitions.items():
        for role in backend.roles.values():
            report["iam"][role.arn] = {
                "id": role.id, "created": role.create_date,
                "trust": role.assume_role_policy_document,
                "attached": sorted(role.managed_policies),
                "inline": role.policies, "tags": role.tags,
            }
for account, regions in get_backend("cloudwatch").items():
    for region, backend in regions.items():
        for alarm in backend.alarms.values():
            report["alarms"][alarm.alarm_arn] = {
                "state": alarm.state_value, "updated": alarm.configuration_updated_timestamp,
                "metrics": [q.id for q in alarm.metric_data_queries],
                "dimensions": [(d.name, d.value) for d in alarm.dimensions],
                "tags": backend.tagger.get_tag_dict_for_resource(alarm.alarm_arn),
            }
for account, regions in get_backend("kms").items():
    for region, backend in regions.items():
        for key in backend.keys.values():
            report["kms"][key.arn] = {"aliases": sorted(key.aliases), "material": key.key_material,
                                      "created": key.creation_date}
store.release()
print(json.dumps(report, sort_keys=True, default=default))
"""

# A child process: restore each document of a JSON-lines file; report each outcome and what
# was left in moto's backends afterwards.
RESTORE_EACH = r"""
import json, sys
from tablesmith.errors import LocalTargetError
from tablesmith.local.server import _prepare_moto
from tablesmith.local import snapshot
from moto.backends import get_backend

_prepare_moto()

def left():
    return sum(len(b.tables) for r in get_backend("dynamodb").values() for b in r.values()) + \
        sum(len(b.roles) for r in get_backend("iam").values() for b in r.values()) + \
        sum(len(b.alarms) for r in get_backend("cloudwatch").values() for b in r.values()) + \
        sum(len(b.vaults) for r in get_backend("backup").values() for b in r.values())

for line in open(sys.argv[1], encoding="utf-8"):
    text = json.loads(line)
    try:
        snapshot.restore(snapshot.loads(text))
        outcome = {"error": None}
    except LocalTargetError as exc:
        outcome = {"error": str(exc)}
    outcome["left"] = left()
    print(json.dumps(outcome), flush=True)
"""


def run(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TABLESMITH_POLL_INTERVAL": "0.2",
        "TABLESMITH_LOCAL_REPLICA_SECONDS": "0.3",
    }
    return subprocess.run(
        [TABLESMITH, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def python(code: str, *args: str, timeout: float = 240) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def plan(state: Path) -> subprocess.CompletedProcess[str]:
    return run(
        "plan",
        str(EXAMPLES),
        "--env",
        "prod",
        "--local",
        "--state-dir",
        str(state),
        "--detailed-exitcode",
    )


def private_copy(source: Path, target: Path) -> Path:
    """A copy of a state directory, private as the local target requires."""
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copytree(source, target)
    for path in (target, *target.iterdir()):
        path.chmod(0o700 if path.is_dir() else 0o600)
    (target / "lock").unlink(missing_ok=True)
    return target


class Marker:
    """A pickle that, if it were ever unpickled, would create ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (str(self.path), "w"))


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The examples' prod environment applied on the local target (its state directory)."""
    base = tmp_path_factory.mktemp("applied")
    base.chmod(0o700)
    state = base / "state"
    done = run(
        "apply",
        str(EXAMPLES),
        "--env",
        "prod",
        "--local",
        "--auto-approve",
        "--state-dir",
        str(state),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return state


def test_round_trip_keeps_ids_arns_items_and_resources(applied: Path, tmp_path: Path) -> None:
    state = private_copy(applied, tmp_path / "d" / "state")
    written = json.loads(python(PROBE, str(state), "write"))
    saved = json.loads((state / "state.json").read_text())
    assert saved["format"] == 2 and saved["schema"] == "tablesmith-local-state"
    assert not (state / "state.pickle").exists()

    planned = plan(state)  # a new process loads it and plans: reads only, so nothing is saved
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert json.loads((state / "state.json").read_text()) == saved
    reloaded = json.loads(python(PROBE, str(state), "read"))
    assert reloaded == written

    tables = written["tables"]
    assert sorted(tables) == sorted(
        f"{r}/{t}"
        for r in ("af-south-1", "eu-west-1")
        for t in ("campaigns", "products", "tenants")
    )
    assert len(tables["af-south-1/tenants"]["items"]) == 40
    assert tables["eu-west-1/tenants"]["items"] == tables["af-south-1/tenants"]["items"]
    described = tables["af-south-1/tenants"]["describe"]["TableDescription"]
    assert described["LatestStreamArn"].endswith(described["LatestStreamLabel"])
    assert described["DeletionProtectionEnabled"] is True
    assert [r["RegionName"] for r in described["Replicas"]] == ["eu-west-1"]
    home = written["backup"]["af-south-1"]
    assert len(home["plans"]) == 3 and len(home["vaults"]) == 3
    assert sum(len(s) for s in home["selections"].values()) == 3
    assert len(written["backup"]["eu-west-1"]["vaults"]) == 3  # the DR vaults
    rules = [p["BackupPlan"]["Rules"][0] for p in home["plans"].values()]
    assert all(rule["CopyActions"] and rule["RuleId"] for rule in rules)
    assert len(written["iam"]) == 3
    assert all(len(role["attached"]) == 2 for role in written["iam"].values())  # AWS-managed
    assert len(written["alarms"]) >= 20
    assert any(len(alarm["metrics"]) > 1 for alarm in written["alarms"].values())  # metric math
    assert written["kms"]  # the Regions' alias/aws/dynamodb keys, same ids and material


def test_an_old_pickle_is_never_opened_and_asks_for_a_reset(tmp_path: Path) -> None:
    marker = tmp_path / "unpickled"
    state = tmp_path / "d" / "state"
    state.mkdir(mode=0o700, parents=True)
    (state / "state.pickle").write_bytes(pickle.dumps(Marker(marker)))
    (state / "state.pickle").chmod(0o600)

    alone = plan(state)
    assert alone.returncode == 1
    assert "tablesmith local reset" in alone.stderr and "Traceback" not in alone.stderr
    assert not marker.exists()

    # with the old format's header next to it: the same
    old_header = {"format": 1, "moto": "5.2.5", "tablesmith": "0.1.0"}
    (state / "state.json").write_text(json.dumps(old_header))
    (state / "state.json").chmod(0o600)
    with_header = plan(state)
    assert with_header.returncode == 1
    assert "tablesmith local reset" in with_header.stderr
    assert len(with_header.stderr.strip().splitlines()) <= 2  # "local target" line + Error
    assert not marker.exists()

    reset = run("local", "reset", str(EXAMPLES), "--state-dir", str(state))
    assert reset.returncode == 0, reset.stderr
    assert not (state / "state.pickle").exists()
    assert plan(state).returncode == 2  # a fresh target: everything to create
    assert not marker.exists()


def test_a_stale_pickle_next_to_the_json_state_is_ignored(applied: Path, tmp_path: Path) -> None:
    marker = tmp_path / "unpickled"
    state = private_copy(applied, tmp_path / "d" / "state")
    (state / "state.pickle").write_bytes(pickle.dumps(Marker(marker)))
    planned = plan(state)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert not marker.exists()


def crafted_documents(valid: dict[str, Any], marker: Path) -> list[str]:
    """State files that would run code if unpickled or evaluated, or that abuse the schema."""
    code = f"__import__('os').system('touch {marker}')"
    table = valid["accounts"][ACCOUNT]["dynamodb"]["af-south-1"]["tables"][0]
    evil_name = copy.deepcopy(valid)
    evil_name["accounts"][ACCOUNT]["dynamodb"]["af-south-1"]["tables"][0] = {
        **table,
        "TableName": {"__reduce__": code},
    }
    evil_key = copy.deepcopy(valid)
    evil_key["accounts"][ACCOUNT]["dynamodb"]["af-south-1"]["tables"][0]["py/object"] = code
    evil_item = copy.deepcopy(valid)
    evil_item["accounts"][ACCOUNT]["dynamodb"]["af-south-1"]["tables"][0]["Items"] = [
        {"PK": {"S": "x"}, "SK": {"eval": code}}
    ]
    return [
        base64.b64encode(pickle.dumps(Marker(marker))).decode(),  # a pickle, base64'd
        pickle.dumps(Marker(marker), protocol=0).decode("latin-1"),  # a text pickle
        json.dumps(evil_name),
        json.dumps(evil_key),
        json.dumps(evil_item),
        f"!!python/object/apply:os.system ['touch {marker}']",  # YAML's code tag
        json.dumps({**valid, "format": f"{code}"}),
    ]


def test_a_crafted_state_runs_nothing_and_is_a_one_line_error(
    applied: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    state = private_copy(applied, tmp_path / "d" / "state")
    valid = json.loads((state / "state.json").read_text())
    for text in crafted_documents(valid, marker):
        (state / "state.json").write_text(text)
        refused = run(
            "plan",
            str(EXAMPLES),
            "--env",
            "prod",
            "--local",
            "--state-dir",
            str(state),
            "--table",
            "tenants",
        )
        assert refused.returncode == 1, refused.stdout
        errors = [line for line in refused.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and "Traceback" not in refused.stderr, refused.stderr
        assert not marker.exists()


# ---------------------------------------------------------------------------- malformed documents


def _nodes(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to every node of a JSON value, except inside the free-form AWS documents."""
    free_form = {
        "AdvancedBackupSettings",
        "ListOfTags",
        "Conditions",
        "MultiRegionConfiguration",
        "IndexActions",
        "ScanActions",
        "saved_at",
        "tablesmith",
        "moto",
    }
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in free_form:
                found += _nodes(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _nodes(item, (*path, index))
    return found


def _replace(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return document


def _wrong_kind(value: Any) -> Any:
    """A value no field that held ``value`` accepts."""
    if isinstance(value, dict):
        return [["nested"]]
    if isinstance(value, list):
        return {"not": "a list"}
    if isinstance(value, bool):
        return "true"
    if isinstance(value, int | float):
        return {"big": 10**30}
    return {"__reduce__": ["os.system", value]}


def mutations(valid: dict[str, Any], count: int, seed: int = 16) -> list[str]:
    """``count`` malformed documents: wrong kinds, unknown keys, huge numbers, missing fields."""
    rng = random.Random(seed)
    nodes = [p for p in _nodes(valid) if p and p[-1] not in ("Items",)]
    groups: dict[Any, list[tuple[Any, ...]]] = {}  # by service, so alarms do not dominate
    for node in nodes:
        groups.setdefault(node[2] if len(node) > 3 else None, []).append(node)
    texts = []
    for n in range(count):
        document = copy.deepcopy(valid)
        path = rng.choice(groups[rng.choice(sorted(groups, key=str))])
        kind = n % 4
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        if kind == 1 and isinstance(parent, dict):
            # an unknown key next to a known one (in a map: a value of the wrong kind)
            parent[f"unknown{n}"] = {"__reduce__": ["os.system", str(path[-1])]}
        elif (
            kind == 2
            and isinstance(parent, dict)
            and path[-1]
            in (
                "format",
                "TableName",
                "KeySchema",
                "BackupPlanId",
                "RoleName",
                "AlarmName",
                "KeyId",
                "StateValue",
                "CreationDateTime",
                "AssumeRolePolicyDocument",
            )
        ):
            del parent[path[-1]]  # a required field missing
        elif (
            kind == 3
            and isinstance(parent[path[-1]], int | float)
            and not isinstance(parent[path[-1]], bool)
        ):
            parent[path[-1]] = rng.choice([10**400, -(10**400), 1e300 * 1e10])  # inf too
        else:
            _replace(document, path, _wrong_kind(parent[path[-1]]))
        texts.append(json.dumps(document))
    return texts


SHAPES = [
    "",
    "null",
    "[]",
    '"state"',
    "{}",
    '{"format": 2}',
    '{"format": true, "accounts": {}}',
    '{"format": 3, "schema": "tablesmith-local-state", "accounts": {}}',
    '{"format": 2, "schema": "tablesmith-local-state", "accounts": {"1234": {}}}',
    '{"format": 2, "schema": "tablesmith-local-state", "accounts": {}, "extra": 1}',
    '{"format": NaN, "accounts": {}}',
    '{"format": 1e999}',
    '{"format": ' + "9" * 5000 + "}",
    "[" * 100_000 + "]" * 100_000,
    '{"format": 2, "schema": "tablesmith-local-state", "accounts": {"123456789012": '
    '{"dynamodb": {"af-south-1": {"tables": [' + "[" * 5000 + "]" * 5000 + "]}}}}}",
    '{"format": 2, "schema": "tablesmith-local-state", "accounts": {"123456789012": '
    '{"kms": {"mars-north-9": {"keys": []}}}}}',
]


def test_malformed_documents_are_all_one_line_errors_and_load_nothing(
    applied: Path, tmp_path: Path
) -> None:
    valid = json.loads((applied / "state.json").read_text())
    table = valid["accounts"][ACCOUNT]["dynamodb"]["af-south-1"]["tables"][0]
    table["Items"] = [{"PK": {"S": "a"}, "SK": {"S": "b"}, "m": {"M": {"x": {"N": "1"}}}}]
    deep: dict[str, Any] = {"S": "leaf"}
    for _ in range(40):
        deep = {"L": [deep]}
    semantic = copy.deepcopy(valid)  # valid JSON and schema, refused by moto half way through
    semantic["accounts"][ACCOUNT]["dynamodb"]["eu-west-1"]["tables"][0]["Items"] = [
        {"PK": {"N": "1"}, "SK": {"S": "b"}}
    ]  # the key attribute is a string
    too_deep = copy.deepcopy(valid)
    too_deep["accounts"][ACCOUNT]["dynamodb"]["af-south-1"]["tables"][0]["Items"] = [
        {"PK": {"S": "a"}, "SK": {"S": "b"}, "deep": deep}
    ]
    other_versions = {**valid, "moto": "5.2.99", "tablesmith": "9.9.9"}  # information only
    texts = [
        *SHAPES,
        json.dumps(semantic),
        json.dumps(too_deep),
        *mutations(valid, FUZZ_CASES),
        json.dumps(other_versions),
    ]
    cases = tmp_path / "cases.jsonl"
    cases.write_text("".join(json.dumps(text) + "\n" for text in texts))

    outcomes = [json.loads(line) for line in python(RESTORE_EACH, str(cases)).splitlines()]
    assert len(outcomes) == len(texts)
    *refused, accepted = outcomes
    assert accepted["error"] is None and accepted["left"] > 0  # the valid one still loads
    for text, outcome in zip(texts, refused, strict=False):
        assert outcome["error"], f"accepted: {text[:300]}"
        assert "\n" not in outcome["error"] and len(outcome["error"]) < 600, outcome["error"]
        assert outcome["left"] == 0, f"partly loaded: {outcome['error']}"


# Features the examples do not use, made through moto in a child process: the document is a
# fixed point of restore-then-dump, and KMS ciphertexts made before still decrypt after.
FEATURES = r"""
import json
from tablesmith.local.server import _prepare_moto
from tablesmith.local import snapshot
from moto.backends import get_backend

_prepare_moto()
snapshot.clear()
A, R = "123456789012", "af-south-1"
ddb = get_backend("dynamodb")[A][R]
key_attrs = [{"AttributeName": "pk", "AttributeType": "S"},
             {"AttributeName": "sk", "AttributeType": "N"},
             {"AttributeName": "alt", "AttributeType": "B"}]
table = ddb.create_table(
    "features", schema=[{"AttributeName": "pk", "KeyType": "HASH"},
                        {"AttributeName": "sk", "KeyType": "RANGE"}],
    throughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 3}, attr=key_attrs,
    global_indexes=[{"IndexName": "ByAlt",
                     "KeySchema": [{"AttributeName": "alt", "KeyType": "HASH"}],
                     "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["x"]},
                     "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}],
    indexes=[{"IndexName": "ByPkAlt", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                                   {"AttributeName": "alt", "KeyType": "RANGE"}],
              "Projection": {"ProjectionType": "KEYS_ONLY"}}],
    streams={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}, billing_mode="PROVISIONED",
    sse_specification=None, tags=[{"Key": "k", "Value": "v"}], deletion_protection_enabled=False,
    warm_throughput=None)
table.sse_specification = {"Enabled": False}  # as the extension leaves an AWS-owned key
ddb.update_time_to_live("features", {"Enabled": True, "AttributeName": "expires"})
ddb.update_continuous_backups("features", {"PointInTimeRecoveryEnabled": True,
                                           "RecoveryPeriodInDays": 7})
table._ts_table_class = {"TableClass": "STANDARD_INFREQUENT_ACCESS", "LastUpdateDateTime": 1.5}
ddb.put_item("features", {"pk": {"S": "a"}, "sk": {"N": "1"}, "alt": {"B": "AAE="}})
kms = get_backend("kms")[A][R]
key = kms.create_key(None, "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT", "mine", None)
kms.create_alias(key.id, "alias/mine")
signing = kms.create_key(None, "SIGN_VERIFY", "ECC_NIST_P256", "signer", None)
kms.create_key(None, None, None, "bare", None)  # CreateKey naming neither usage nor spec
blob, _ = kms.encrypt(key.id, b"secret", {})
signature = kms.sign(signing.id, b"msg", "ECDSA_SHA_256")[1]
iam = get_backend("iam")[A]["aws"]
policy = iam.create_policy("d", "/team/", json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"}]}), "mine", [])
iam.create_policy_version(policy.arn, json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "*"}]}), True)
iam.create_role("app", json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
     "Action": "sts:AssumeRole"}]}),
    "/", None, "app role", [{"Key": "t", "Value": "1"}], 3600)
iam.attach_role_policy(policy.arn, "app")
iam.put_role_policy("app", "inline", json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
get_backend("sns")[A][R].create_topic("oncall", {}, {"team": "a"})

first = json.loads(snapshot.dumps())
snapshot.restore(json.loads(json.dumps(first)))
second = json.loads(snapshot.dumps())
first.pop("saved_at"); second.pop("saved_at")
kms = get_backend("kms")[A][R]
print(json.dumps({
    "same": first == second,
    "decrypted": kms.decrypt(blob, {})[0].decode(),
    "verified": kms.verify(signing.id, b"msg", signature, "ECDSA_SHA_256")[1],
    "policy_versions": [v.version_id for v in iam_policy.versions]
        if (iam_policy := get_backend("iam")[A]["aws"].get_policy(policy.arn)) else None,
    "attachments": get_backend("iam")[A]["aws"].get_policy(policy.arn).attachment_count,
    "sse": get_backend("dynamodb")[A][R].tables["features"].sse_specification,
    "kms_keys": len(kms.keys),
}))
"""


def test_features_beyond_the_examples_survive_and_keys_still_work() -> None:
    report = json.loads(python(FEATURES))
    assert report["same"], report
    assert report["decrypted"] == "secret"
    assert report["verified"] is True
    assert report["policy_versions"] == ["v1", "v2"]
    assert report["attachments"] == 1
    assert report["sse"] == {"Enabled": False}
    assert report["kms_keys"] == 3  # no alias/aws/dynamodb key made by the restore
