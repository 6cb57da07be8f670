"""Hazards: the closed set of risks an operation can carry, with stable codes.

A *blocking* hazard makes ``apply`` refuse the plan unless ``--allow-hazards CODE`` names it;
a non-blocking one is shown and applied. Codes are stable: scripts may match on them.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class HazardCode(StrEnum):
    """Every hazard tablesmith knows."""

    REPLACES_TABLE = "REPLACES_TABLE"  # key schema / LSI change: delete + create, data lost
    DELETES_DATA = "DELETES_DATA"  # a table or a replica (or a vault with backups) goes
    DELETES_INDEX = "DELETES_INDEX"  # a GSI goes: queries on it fail until it is back
    INDEX_BACKFILL = "INDEX_BACKFILL"  # a new GSI on a table holding items backfills them
    DISABLES_RECOVERY = "DISABLES_RECOVERY"  # PITR off / shorter, backup plan or selection gone
    STREAM_ARN_CHANGES = "STREAM_ARN_CHANGES"  # stream off/on: consumers lose their position
    STOPS_STREAMING = "STOPS_STREAMING"  # a Kinesis streaming destination disabled: its
    # consumers get no more change records (re-enabling does not replay the changes between)
    TTL_TWO_STEPS = "TTL_TWO_STEPS"  # TTL attribute change: disable now, enable ~1 hour later
    LIFTS_PROTECTION = "LIFTS_PROTECTION"  # deletion protection turned off
    COST_CHANGE = "COST_CHANGE"  # replicas, table class or billing change the bill
    SHORTENS_RETENTION = "SHORTENS_RETENTION"  # backups kept for less time than before
    ADOPTS_TABLE = "ADOPTS_TABLE"  # the table is owned by another environment's spec
    TABLE_NOT_EMPTY = "TABLE_NOT_EMPTY"  # MRSC set up on a table AWS counts items in
    LOCKS_OUT = "LOCKS_OUT"  # a resource policy denies everyone (tablesmith too) its actions
    REMOVES_ACCESS = "REMOVES_ACCESS"  # a resource policy's grants to other principals go


BLOCKING = frozenset({
    HazardCode.REPLACES_TABLE,
    HazardCode.DELETES_DATA,
    HazardCode.DELETES_INDEX,
    HazardCode.DISABLES_RECOVERY,
    HazardCode.STREAM_ARN_CHANGES,
    HazardCode.STOPS_STREAMING,
    HazardCode.LIFTS_PROTECTION,
    HazardCode.SHORTENS_RETENTION,
    HazardCode.ADOPTS_TABLE,
    HazardCode.TABLE_NOT_EMPTY,
    HazardCode.LOCKS_OUT,
    HazardCode.REMOVES_ACCESS,
})


class Hazard(BaseModel):
    """One risk carried by one operation: a stable code, a message, a suggested way out."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    code: HazardCode
    message: str
    suggestion: str = ""

    @property
    def blocking(self) -> bool:
        """Must the user allow it explicitly?"""
        return self.code in BLOCKING


def parse_codes(text: str) -> frozenset[HazardCode]:
    """Parse ``--allow-hazards A,B``; raises ValueError naming the unknown codes."""
    codes = [c.strip().upper() for c in text.split(",") if c.strip()]
    known = {c.value for c in HazardCode}
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise ValueError(f"unknown hazard code(s) {', '.join(unknown)}; "
                         f"known: {', '.join(sorted(known))}")
    return frozenset(HazardCode(c) for c in codes)
