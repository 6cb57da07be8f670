"""Replicas (global tables): one at a time through ReplicaUpdates, waiting for ACTIVE; then
their own tags, deletion protection and PITR in their own region, which AWS does not
propagate. moto ignores replica updates (measured), so these run on the embedded local
target, which adds them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from harness import Case, count_items, run_case, table

if TYPE_CHECKING:
    from pathlib import Path

DR = ["eu-west-1"]
REPLICA_SETTINGS = ["UpdatePitr", "TagResource"]  # a new replica: PITR and tags set there
BY_HOTEL = {"name": "ByHotel", "hash_key": {"name": "status", "type": "S"},
            "projection_type": "KEYS_ONLY"}

CASES = [
    Case("replica-add", {"main": table()}, {"main": table(replicas=DR)},
         ["CreateReplica", *REPLICA_SETTINGS], {"COST_CHANGE"}, items=12),
    Case("replica-add-protected", {"main": table(deletion_protection=True)},
         {"main": table(deletion_protection=True, replicas=DR)},
         ["CreateReplica", "UpdateDeletionProtection", *REPLICA_SETTINGS], {"COST_CHANGE"},
         items=5),
    Case("replica-add-second", {"main": table(replicas=DR)},
         {"main": table(replicas=[*DR, "us-east-1"])},
         ["CreateReplica", *REPLICA_SETTINGS], {"COST_CHANGE"}, items=3),
    Case("replica-remove", {"main": table(replicas=DR)}, {"main": table()},
         ["DeleteReplica"], {"DELETES_DATA"}, items=7),
    Case("replica-remove-protected", {"main": table(deletion_protection=True, replicas=DR)},
         {"main": table(deletion_protection=True)},
         ["UpdateDeletionProtection", "DeleteReplica"], {"DELETES_DATA", "LIFTS_PROTECTION"}),
    Case("replica-tags-follow-the-table", {"main": table(replicas=DR, tags={"Team": "a"})},
         {"main": table(replicas=DR, tags={"Team": "b"})},
         ["TagResource", "TagResource"], items=2),
    Case("replica-stream-forced-on", {"main": table(stream={"enabled": False})},
         {"main": table(replicas=DR)},
         ["UpdateStream", "CreateReplica", *REPLICA_SETTINGS], {"COST_CHANGE"}, items=4),
    # AWS propagates GSI creates, deletes and re-projections to every replica
    Case("replica-gsi-add", {"main": table(replicas=DR)},
         {"main": table(replicas=DR, global_secondary_indexes=[BY_HOTEL])},
         ["CreateGsi"], {"INDEX_BACKFILL"}, items=6),
    Case("replica-gsi-remove", {"main": table(replicas=DR, global_secondary_indexes=[BY_HOTEL])},
         {"main": table(replicas=DR)}, ["DeleteGsi"], {"DELETES_INDEX"}, items=3),
    Case("replica-gsi-reproject",
         {"main": table(replicas=DR, global_secondary_indexes=[BY_HOTEL])},
         {"main": table(replicas=DR, global_secondary_indexes=[
             {**BY_HOTEL, "projection_type": "INCLUDE", "non_key_attributes": ["n"]}])},
         ["DeleteGsi", "CreateGsi"], {"DELETES_INDEX", "INDEX_BACKFILL"}, items=4),
    Case("sse-owned-to-managed", {"main": table(encryption={"type": "AWS_OWNED"})},
         {"main": table(encryption={"type": "AWS_MANAGED"})}, ["UpdateSse"], items=3),
    Case("table-class", {"main": table()},
         {"main": table(table_class="STANDARD_INFREQUENT_ACCESS")}, ["UpdateTableClass"],
         {"COST_CHANGE"}, items=3),
    Case("on-demand-caps", {"main": table()},
         {"main": table(on_demand_throughput={"max_read_request_units": 100})},
         ["UpdateOnDemandThroughput"], items=3),
]


@pytest.mark.parametrize("engine", ["local"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_replicas(case: Case, engine: str, engine_endpoint: str, tmp_path: Path) -> None:
    run_case(case, engine, engine_endpoint, tmp_path)


@pytest.mark.parametrize("engine", ["local"])
def test_items_written_on_either_side_appear_on_the_other(engine: str, engine_endpoint: str,
                                                          tmp_path: Path) -> None:
    from harness import put_items, session, write_spec

    from tablesmith.hazards import HazardCode

    s = session(write_spec(tmp_path, {"main": table(replicas=DR)}, "rep-items-", engine),
                engine_endpoint)
    s.apply(s.plan(), allowed=frozenset(HazardCode))
    put_items(engine_endpoint, "rep-items-main", 9)
    import boto3
    replica = boto3.client("dynamodb", endpoint_url=engine_endpoint, region_name="eu-west-1")
    assert replica.scan(TableName="rep-items-main", Select="COUNT")["Count"] == 9
    replica.put_item(TableName="rep-items-main", Item={"PK": {"S": "x"}, "SK": {"S": "y"}})
    assert count_items(engine_endpoint, "rep-items-main") == 10


@pytest.mark.parametrize("engine", ["local"])
def test_replica_index_answers_queries_over_replicated_items(engine: str, engine_endpoint: str,
                                                             tmp_path: Path) -> None:
    """`query --index-name ByHotel --region eu-west-1` after the GSI was added (issue 12)."""
    from harness import ddb, put_items, session, write_spec

    from tablesmith.hazards import HazardCode

    start = {"main": table(replicas=DR)}
    s = session(write_spec(tmp_path / "start", start, "rep-gsi-", engine), engine_endpoint)
    s.apply(s.plan(), allowed=frozenset(HazardCode))
    put_items(engine_endpoint, "rep-gsi-main", 6)  # replicated before the index exists
    new = {"main": table(replicas=DR, global_secondary_indexes=[BY_HOTEL])}
    s = session(write_spec(tmp_path / "new", new, "rep-gsi-", engine), engine_endpoint)
    s.apply(s.plan(), allowed=frozenset(HazardCode))
    replica = ddb(engine_endpoint, DR[0])
    found = replica.query(TableName="rep-gsi-main", IndexName="ByHotel",
                          KeyConditionExpression="#s = :s",
                          ExpressionAttributeNames={"#s": "status"},
                          ExpressionAttributeValues={":s": {"S": "active"}})
    assert found["Count"] == 3
    assert set(found["Items"][0]) == {"PK", "SK", "status"}  # KEYS_ONLY
    (index,) = replica.describe_table(TableName="rep-gsi-main")["Table"]["GlobalSecondaryIndexes"]
    assert (index["IndexName"], index["IndexStatus"]) == ("ByHotel", "ACTIVE")
