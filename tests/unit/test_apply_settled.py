"""Apply waits for a table to settle before each operation, but not again for a table it saw
settled and has made no status-changing call to since (``apply._Runner._settled``)."""

from __future__ import annotations

from typing import Any

from tablesmith.apply import apply_plan
from tablesmith.plan import (
    Action,
    Category,
    Plan,
    UpdateDeletionProtection,
    UpdatePitr,
    UpdateTtl,
)
from tablesmith.spec.model import PointInTimeRecovery, TimeToLive

REGION = "af-south-1"


class _Ddb:
    """A DynamoDB client whose tables are always ACTIVE; it records every call."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def describe_table(self, **kwargs: Any) -> Any:
        self.calls.append("describe_table")
        return {"Table": {"TableName": kwargs["TableName"], "TableStatus": "ACTIVE",
                          "TableArn": f"arn:aws:dynamodb:{REGION}:1:table/t"}}

    def __getattr__(self, method: str) -> Any:
        def call(**kwargs: Any) -> Any:
            self.calls.append(method)
            return {}
        return call


class _Clients:
    def __init__(self, ddb: _Ddb) -> None:
        self.ddb = ddb

    def client(self, service: str, region: str | None = None) -> Any:
        assert service == "dynamodb"
        return self.ddb

    def dynamodb(self, region: str | None = None) -> Any:
        return self.ddb


def _apply(*ops: Any) -> list[str]:
    ddb = _Ddb()
    plan = Plan(environment="dev", region=REGION, desired=(), operations=ops, fingerprint="x")
    apply_plan(_Clients(ddb), plan, allowed=frozenset())  # type: ignore[arg-type]
    return ddb.calls


def _pitr(table: str = "t") -> UpdatePitr:
    return UpdatePitr(table=table, region=REGION, action=Action.UPDATE, category=Category.DRIFT,
                      before=PointInTimeRecovery(enabled=False, recovery_period_days=35),
                      after=PointInTimeRecovery(enabled=True, recovery_period_days=35))


def _protection() -> UpdateDeletionProtection:
    return UpdateDeletionProtection(table="t", region=REGION, action=Action.UPDATE,
                                    category=Category.DRIFT, before=False, after=True)


def test_calls_that_leave_the_status_alone_need_no_second_wait() -> None:
    ttl = UpdateTtl(table="t", region=REGION, action=Action.UPDATE, category=Category.DRIFT,
                    before=TimeToLive(enabled=False, attribute_name="expires"),
                    after=TimeToLive(enabled=True, attribute_name="expires"))
    assert _apply(_pitr(), ttl) == [
        "describe_table", "update_continuous_backups", "update_time_to_live"]


def test_an_update_table_makes_the_next_operation_wait_again() -> None:
    assert _apply(_protection(), _pitr()) == [
        "describe_table", "update_table", "describe_table",  # UpdateTable waits after itself
        "update_continuous_backups"]


def test_each_table_is_waited_for_on_its_own() -> None:
    assert _apply(_pitr("a"), _pitr("b")).count("describe_table") == 2
