"""Differential fuzz test: what tablesmith accepts, DynamoDB accepts, and the other way round.

Hypothesis draws table definitions (tablesmith's YAML, one table in an environment ``fuzz``),
biased to sit on AWS's boundaries: names of 2/3/255/256 characters or with a trailing newline,
attribute names of 0/255/256 bytes, keys that repeat, 20/21 projected attributes, caps of
40,000/40,001, tags near 50 and with control characters, unknown enum values. Each one is

* validated by tablesmith (``tablesmith.load``, the same path as ``tablesmith validate``);
* sent to DynamoDB Local (started here, on 127.0.0.1) as CreateTable, plus UpdateTimeToLive
  when TTL is on: tablesmith's own request (``create_table_request``) when it accepted the
  definition, else a direct translation of the definition (``_request``);
* checked against AWS's documented rules where DynamoDB Local is lax (``aws_rules``).

Properties:

1. tablesmith never accepts what AWS rejects;
2. when AWS rejects, tablesmith names a real reason, not only a policy;
3. tablesmith never rejects what AWS accepts, except by its deliberate policies (``POLICIES``),
   each of which its message names.

The space drawn leaves out what DynamoDB Local cannot judge and no AWS rule settles here
(replicas, backup, provisioned capacity numbers, on-demand caps on a provisioned table, which
DynamoDB Local ignores), and writes a value only where it is sent
(an unknown stream view type only with streams on, an out-of-range PITR period only with
PITR on, a KMS key only with CUSTOMER_MANAGED): tablesmith checks written values even when
their feature is off, which is stricter than AWS, on purpose.

``make test`` runs the ``suite`` profile (a few hundred examples); ``make fuzz`` the ``fuzz``
profile (``HYPOTHESIS_PROFILE=fuzz``, thousands). Failing examples are kept in
``tests/fuzz/.hypothesis-db`` (committed), so they are replayed first on every run.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aws_rules
import pytest
import yaml
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase

import tablesmith
from tablesmith.errors import SpecError
from tablesmith.shapes import create_table_request

if TYPE_CHECKING:
    from collections import Counter

pytestmark = [pytest.mark.dynamodb_local, pytest.mark.timeout(3600)]

ENV = "fuzz"
REGION = "us-east-1"
DATABASE = DirectoryBasedExampleDatabase(Path(__file__).resolve().parent / ".hypothesis-db")
_COMMON = settings(
    deadline=None,  # DynamoDB Local's answers take 5-100 ms
    database=DATABASE,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
settings.register_profile("suite", parent=_COMMON, max_examples=200)
settings.register_profile(
    "fuzz", parent=_COMMON, max_examples=int(os.environ.get("FUZZ_EXAMPLES", "4000"))
)
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))
# Count disagreements instead of failing on the first (to measure an older tablesmith: see
# docs/validation.md); such a run neither reads nor writes the example database.
TALLY_ONLY = os.environ.get("TABLESMITH_FUZZ_TALLY_ONLY") == "1"
if TALLY_ONLY:
    PROFILE = settings(PROFILE, database=None)

# tablesmith's deliberate policies: a rejection AWS would not make must name one of them
POLICIES = {
    "on-demand only": "tablesmith's on-demand-only policy",
    "naming convention": "does not match the naming convention",
    "mandatory tags": "missing mandatory tag(s)",
}
MANDATORY = ("Project", "Owner", "CostCenter", "ManagedBy", "Component")  # + Environment
OWNERSHIP_TAG = "tablesmith:managed"

# --------------------------------------------------------------------------- the definitions


def _mostly(
    usual: st.SearchStrategy[Any], edge: st.SearchStrategy[Any], one_in: int = 6
) -> st.SearchStrategy[Any]:
    """``usual``, or once in ``one_in`` draws ``edge``: most definitions are valid but for
    one or two things, which is where a missing rule shows."""
    # a middle value: Hypothesis draws a range's ends more often than the rest
    return st.integers(0, one_in - 1).flatmap(lambda n: edge if n == one_in // 2 else usual)


_ATTRIBUTES = _mostly(
    st.sampled_from(["PK", "SK", "a", "b", "status", "c", "d", "e"]),
    st.one_of(
        st.sampled_from(
            [
                "",
                "n" * 255,
                "n" * 256,
                "é" * 127,
                "é" * 128,
                "😀" * 63,
                "😀" * 64,
                "x\ny",
                "tab\tkey",
                "dot.ted",
                " ",
            ]
        ),
        st.text(min_size=1, max_size=6),
    ),
    one_in=25,
)
_TABLE_NAMES = _mostly(
    st.sampled_from(["orders", "abc", "sessions_v2", "t" * 64]),
    st.one_of(
        st.sampled_from(
            [
                "ab",
                "Orders",
                "my.table",
                "my-table",
                "orders\n",
                "orders ",
                "ordérs",
                "o" * 225,
                "o" * 226,
                "o" * 240,
                "o" * 255,
                "o" * 256,
            ]
        ),
        st.text(alphabet="abcXYZ019_.-", min_size=3, max_size=12),
    ),
    one_in=6,
)
_INDEX_NAMES = _mostly(
    st.sampled_from(["ByA", "ByB", "ByC", "By.A-1_", "I" * 200]),
    st.one_of(
        st.sampled_from(["ByA", "ab", "abc", "By A", "byX\n", "I" * 255, "I" * 256]),
        st.text(alphabet="abcXYZ019_.- é", min_size=2, max_size=8),
    ),
    one_in=15,
)
_TYPES = st.sampled_from(["S", "N", "B"])
_TAG_KEYS = _mostly(
    st.sampled_from(["Team", "Größe ⅷ", "a b", "ok_.:/=+-@", "k" * 128]),
    st.sampled_from(["", "a\tb", "aws:x", "AWS:y", "k" * 129, "a!", "a\x1cb"]),
    one_in=8,
)
_TAG_TEXT = _mostly(
    st.sampled_from(["x", "", "Größe ⅷ", "a b", "ok_.:/=+-@", "k" * 128, "v" * 256]),
    st.one_of(
        st.sampled_from(
            [
                "a\tb",
                "Team\nX",
                "a\x1cb",
                "aws:x",
                "AWS:y",
                "k" * 129,
                "v" * 257,
                "a\u2028b",
                "a!",
                "a\u00adb",
            ]
        ),
        st.text(max_size=8),
    ),
    one_in=8,
)
_CAPS = _mostly(
    st.sampled_from([None, -1, 1, 40000, 12345]), st.sampled_from([40001, 0, -2, 100000]), one_in=4
)
_KMS_KEYS = _mostly(
    st.sampled_from(
        [
            "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "mrk-1234abcd12ab34cd56ef1234567890ab",
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "alias/my-key",
            "arn:aws:kms:us-east-1:123456789012:alias/my-key",
            "alias/aws/dynamodb",
        ]
    ),
    st.sampled_from(
        [
            "my-key",
            "alias/",
            "alias/a b",
            "mrk-12",
            "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab\n",
        ]
    ),
    one_in=5,
)


def _chance(draw: st.DrawFn, one_in: int) -> bool:
    return draw(st.integers(0, one_in - 1)) == one_in // 2


def _key(draw: st.DrawFn, types: dict[str, str]) -> dict[str, str]:
    """A key; an attribute keeps its type across keys, but for one time in 15."""
    name = draw(_ATTRIBUTES)
    if name not in types:
        types[name] = draw(_TYPES)
    elif _chance(draw, 15):
        return {"name": name, "type": draw(_TYPES)}
    return {"name": name, "type": types[name]}


def _index_name(draw: st.DrawFn, used: set[str]) -> str:
    """An index name, unlike the table's others but for one time in 10."""
    name: str = draw(_INDEX_NAMES)
    if name in used and not _chance(draw, 10):
        name = f"{name}{len(used)}"
    used.add(name)
    return name


def _projection(draw: st.DrawFn, index: dict[str, Any]) -> None:
    kind = draw(st.sampled_from(["ALL", "KEYS_ONLY", "INCLUDE", "INCLUDE"]))
    index["projection_type"] = kind
    if kind == "INCLUDE" or _chance(draw, 30):
        size = draw(_mostly(st.sampled_from([1, 2, 3]), st.sampled_from([0, 19, 20, 21])))
        if size > 3:  # many (around the limit of 20 per index): distinct names
            names = [f"p{i:02d}" for i in range(size)]
        else:
            names = draw(
                st.lists(_ATTRIBUTES, max_size=size, min_size=size, unique=not _chance(draw, 8))
            )
        index["non_key_attributes"] = names


@st.composite
def definitions(draw: st.DrawFn) -> tuple[str, str, dict[str, Any]]:
    """One table: (the environment's table_prefix, the table's name, its settings as written
    in YAML, every setting written out)."""
    name = draw(_TABLE_NAMES)
    types: dict[str, str] = {}
    used: set[str] = set()
    table: dict[str, Any] = {"partition_key": _key(draw, types)}
    if draw(st.booleans()):
        table["sort_key"] = _key(draw, types)
        if table["sort_key"]["name"] == table["partition_key"]["name"] and not _chance(draw, 4):
            del table["sort_key"]
    gsis = []
    for _ in range(
        draw(_mostly(st.sampled_from([0, 0, 1, 2, 3]), st.sampled_from([5, 20, 21]), one_in=10))
    ):
        gsi: dict[str, Any] = {"name": _index_name(draw, used), "hash_key": _key(draw, types)}
        if draw(st.booleans()):
            gsi["range_key"] = _key(draw, types)
            if gsi["range_key"]["name"] == gsi["hash_key"]["name"] and not _chance(draw, 4):
                del gsi["range_key"]
        _projection(draw, gsi)
        gsis.append(gsi)
    if len(gsis) > 5:  # many indexes: names must differ, or that is all one learns
        for i, gsi in enumerate(gsis):
            gsi["name"] = f"G{i:02d}"
    if gsis:
        table["global_secondary_indexes"] = gsis
    if "sort_key" in table or _chance(draw, 15):
        lsis = []
        for _ in range(
            draw(_mostly(st.sampled_from([0, 1, 2]), st.sampled_from([5, 6]), one_in=10))
        ):
            lsi: dict[str, Any] = {"name": _index_name(draw, used), "range_key": _key(draw, types)}
            if lsi["range_key"]["name"] == table["partition_key"]["name"] and not _chance(draw, 4):
                continue
            _projection(draw, lsi)
            lsis.append(lsi)
        if lsis:
            table["local_secondary_indexes"] = lsis
    stream = draw(st.booleans())
    views = ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]
    table["stream"] = {
        "enabled": stream,
        "view_type": draw(
            _mostly(
                st.sampled_from(views), st.sampled_from(["BOGUS", "new_image"] if stream else views)
            )
        ),
    }
    ttl = draw(st.booleans())
    table["ttl"] = {"enabled": ttl, "attribute_name": draw(_ATTRIBUTES) if ttl else "expiresAt"}
    pitr = draw(st.booleans())
    table["point_in_time_recovery"] = {
        "enabled": pitr,
        "recovery_period_days": draw(
            _mostly(st.sampled_from([1, 7, 35]), st.sampled_from([0, 36] if pitr else [1, 35]))
        ),
    }
    if draw(st.booleans()):
        table["on_demand_throughput"] = {
            k: v
            for k in ("max_read_request_units", "max_write_request_units")
            if (v := draw(_CAPS)) is not None
        }
    encryption = draw(st.sampled_from(["AWS_OWNED", "AWS_MANAGED", "CUSTOMER_MANAGED"]))
    table["encryption"] = {"type": encryption}
    if encryption == "CUSTOMER_MANAGED":
        table["encryption"]["kms_key_arn"] = draw(_KMS_KEYS)
    table["table_class"] = draw(
        _mostly(
            st.sampled_from(["STANDARD", "STANDARD_INFREQUENT_ACCESS"]),
            st.sampled_from(["BOGUS", "standard"]),
            one_in=10,
        )
    )
    table["deletion_protection"] = draw(st.booleans())
    table["alarms"] = {"enabled": draw(st.booleans())}
    if _chance(draw, 20):  # on-demand caps mean nothing to a provisioned table: none here
        table["billing_mode"] = "PROVISIONED"
        table.pop("on_demand_throughput", None)
    tags = dict.fromkeys(MANDATORY, "x")
    if _chance(draw, 10):
        del tags[draw(st.sampled_from(MANDATORY))]
    many = draw(_mostly(st.sampled_from([0, 1, 2]), st.sampled_from([41, 42, 43, 44]), 8))
    tags.update({f"T{i:02d}": "v" for i in range(many)})
    for _ in range(draw(_mostly(st.sampled_from([0, 1]), st.sampled_from([2, 3])))):
        tags[draw(_mostly(_TAG_KEYS, _TAG_TEXT, one_in=10))] = draw(_TAG_TEXT)
    tags.pop(OWNERSHIP_TAG, None)
    table["tags"] = tags
    prefix = draw(_mostly(st.just(""), st.sampled_from(["sbx_", "Dev-", "p" * 30, "\n"]), 8))
    return prefix, name, table


# --------------------------------------------------------------------------- both verdicts


def _yaml_text(document: dict[str, Any]) -> str:
    """JSON (valid YAML) with every character outside printable ASCII and astral escaped,
    so that the YAML reader sees exactly the strings drawn (no folded line separators)."""
    text = json.dumps(document, ensure_ascii=False)
    return re.sub(r"[^\x20-\x7e\U00010000-\U0010ffff]", lambda m: f"\\u{ord(m[0]):04x}", text)


def _tablesmith(
    prefix: str, name: str, table: dict[str, Any], workdir: Path
) -> tuple[Any, list[str]]:
    """tablesmith's verdict: the effective table (None if rejected) and the error messages."""
    environment = {"region": REGION, "table_prefix": prefix}
    document = {"version": 1, "environments": {ENV: environment}, "tables": {name: table}}
    text = _yaml_text(document)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml, as tablesmith reads it
    assert yaml.load(text, Loader=loader) == document, "the spec file says something else"
    path = workdir / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        spec = tablesmith.load(path, env=ENV)
    except SpecError as exc:
        return None, [f"{d.path}: {d.message}" for d in exc.diagnostics if d.severity == "error"]
    return spec.table(ENV, name), []


def _request(name: str, table: dict[str, Any]) -> dict[str, Any]:
    """The CreateTable request the definition says, translated directly (not by tablesmith)."""
    keys = [table["partition_key"]]
    schema = [{"AttributeName": table["partition_key"]["name"], "KeyType": "HASH"}]
    if "sort_key" in table:
        keys.append(table["sort_key"])
        schema.append({"AttributeName": table["sort_key"]["name"], "KeyType": "RANGE"})
    provisioned = table.get("billing_mode") == "PROVISIONED"
    capacity = {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}

    def projection(index: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"ProjectionType": index["projection_type"]}
        if index.get("non_key_attributes"):
            out["NonKeyAttributes"] = index["non_key_attributes"]
        return out

    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": schema,
        "BillingMode": table.get("billing_mode", "PAY_PER_REQUEST"),
        "DeletionProtectionEnabled": table["deletion_protection"],
    }
    gsis = []
    for g in table.get("global_secondary_indexes", []):
        g_schema = [{"AttributeName": g["hash_key"]["name"], "KeyType": "HASH"}]
        keys.append(g["hash_key"])
        if "range_key" in g:
            keys.append(g["range_key"])
            g_schema.append({"AttributeName": g["range_key"]["name"], "KeyType": "RANGE"})
        gsi = {"IndexName": g["name"], "KeySchema": g_schema, "Projection": projection(g)}
        if provisioned:
            gsi["ProvisionedThroughput"] = capacity
        gsis.append(gsi)
    lsis = []
    for i in table.get("local_secondary_indexes", []):
        keys.append(i["range_key"])
        lsis.append(
            {
                "IndexName": i["name"],
                "Projection": projection(i),
                "KeySchema": [
                    {"AttributeName": table["partition_key"]["name"], "KeyType": "HASH"},
                    {"AttributeName": i["range_key"]["name"], "KeyType": "RANGE"},
                ],
            }
        )
    definitions = {(k["name"], k["type"]) for k in keys}
    request["AttributeDefinitions"] = [
        {"AttributeName": n, "AttributeType": t} for n, t in sorted(definitions)
    ]
    if gsis:
        request["GlobalSecondaryIndexes"] = gsis
    if lsis:
        request["LocalSecondaryIndexes"] = lsis
    if provisioned:
        request["ProvisionedThroughput"] = capacity
    if table["stream"]["enabled"]:
        request["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": table["stream"]["view_type"],
        }
    encryption = table["encryption"]
    if encryption["type"] != "AWS_OWNED":
        request["SSESpecification"] = {"Enabled": True, "SSEType": "KMS"}
        if "kms_key_arn" in encryption:
            request["SSESpecification"]["KMSMasterKeyId"] = encryption["kms_key_arn"]
    if table["table_class"] != "STANDARD":
        request["TableClass"] = table["table_class"]
    caps = table.get("on_demand_throughput")
    if caps is not None:  # as written, whatever the billing mode
        request["OnDemandThroughput"] = {
            "MaxReadRequestUnits": caps.get("max_read_request_units", -1),
            "MaxWriteRequestUnits": caps.get("max_write_request_units", -1),
        }
    request["Tags"] = [{"Key": k, "Value": v} for k, v in _tags(table).items()]
    return request


def _tags(table: dict[str, Any]) -> dict[str, str]:
    """The table's tags as sent: the environment's name, the spec's, and the ownership tag."""
    return {"Environment": ENV, **table["tags"], OWNERSHIP_TAG: ENV}


def _alarm_names(name: str, table: dict[str, Any]) -> list[str]:
    """The CloudWatch alarms tablesmith makes for the table (README, "Around each table"),
    with the module defaults' rules (UserErrors off, no replicas)."""
    if not table["alarms"]["enabled"]:
        return []
    names = [
        f"{name}-{suffix}"
        for suffix in (
            "system-errors",
            "system-errors-partiql-streams",
            "throttled-requests",
            "throttled-requests-partiql",
            "read-throttle-events",
            "write-throttle-events",
        )
    ]
    for gsi in table.get("global_secondary_indexes", []):
        names += [f"{name}-{gsi['name']}-{kind}-throttle-events" for kind in ("read", "write")]
    return names


def _aws(
    client: Any, request: dict[str, Any], table: dict[str, Any], alarm_names: list[str]
) -> list[str]:
    """AWS's verdict: DynamoDB Local's answers, plus AWS's rules where it is lax."""
    problems = aws_rules.create_table_problems(request)
    pitr = table["point_in_time_recovery"]
    problems += aws_rules.pitr_problems(pitr["enabled"], pitr["recovery_period_days"])
    alarm_tags = {**_tags(table), "Component": "monitoring"}
    problems += aws_rules.alarm_problems(
        alarm_names, [{"Key": k, "Value": v} for k, v in {**alarm_tags, "Name": "x"}.items()]
    )
    # DynamoDB Local checks no tags, and rejects none of what the rules above cover
    lax = {k: v for k, v in request.items() if k != "Tags"}
    try:
        client.create_table(**lax)
    except ClientError as exc:
        return [*problems, f"DynamoDB Local: {exc.response['Error']['Message']}"]
    try:
        ttl = table["ttl"]
        if ttl["enabled"]:
            client.update_time_to_live(
                TableName=request["TableName"],
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["attribute_name"]},
            )
    except ClientError as exc:
        problems.append(f"DynamoDB Local (TTL): {exc.response['Error']['Message']}")
    finally:
        if request.get("DeletionProtectionEnabled"):
            client.update_table(TableName=request["TableName"], DeletionProtectionEnabled=False)
        client.delete_table(TableName=request["TableName"])
    return problems


def _policies(errors: list[str]) -> list[str]:
    """The errors that name a deliberate policy."""
    return [e for e in errors if any(marker in e for marker in POLICIES.values())]


# --------------------------------------------------------------------------- the property


@settings(parent=PROFILE)
@given(definition=definitions())
def test_tablesmith_accepts_exactly_what_aws_accepts(
    definition: tuple[str, str, dict[str, Any]], fuzz_dynamodb: Any, tally: Counter[str]
) -> None:
    prefix, name, table = definition
    physical = prefix + name  # the environment's table_prefix, then the spec's name
    with tempfile.TemporaryDirectory() as tmp:
        effective, errors = _tablesmith(prefix, name, table, Path(tmp))
    # what apply would send, when tablesmith accepts; else what the definition says
    request = create_table_request(effective) if effective else _request(physical, table)
    aws = _aws(fuzz_dynamodb, request, table, _alarm_names(physical, table))
    real = [e for e in errors if e not in _policies(errors)]
    shown = json.dumps({"table_prefix": prefix, "name": name, "table": table})
    for error in _policies(errors):
        tally[f"policy:{next(k for k, v in POLICIES.items() if v in error)}"] += 1
    if aws and not errors:
        outcome, why = "DISAGREE: tablesmith accepts", f"tablesmith accepts what AWS rejects: {aws}"
    elif aws and not real:
        outcome, why = (
            "DISAGREE: only a policy",
            (f"AWS rejects ({aws}) but tablesmith names only policies: {errors}"),
        )
    elif not aws and real:
        outcome, why = (
            "DISAGREE: tablesmith rejects",
            (f"tablesmith rejects what AWS accepts, for no listed policy: {real}"),
        )
    else:
        outcome, why = ("both reject" if aws else "policy reject" if errors else "both accept"), ""
    tally[f"case:{outcome}"] += 1
    if why:
        if TALLY_ONLY:
            tally["why:" + re.sub(r"'[^']*'|\d+", "_", (aws or real)[0])[:90]] += 1
            return
        pytest.fail(f"{why}\n{shown}")
