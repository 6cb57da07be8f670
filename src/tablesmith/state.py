"""What AWS holds, in the spec's own model (:class:`Table`) plus what only AWS knows.

``live.py`` fills these from AWS; ``diff.py`` compares them with the spec; the plan's
fingerprint is a hash of them. Nothing here calls AWS.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, SerializeAsAny

from tablesmith.spec.model import GlobalSecondaryIndex, PointInTimeRecovery, Table

if TYPE_CHECKING:
    from collections.abc import Iterable


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class ReplicaState(_Frozen):
    """A replica as its own region sees it: AWS does not propagate these settings."""

    region: str
    status: str  # CREATING | ACTIVE | UPDATING | DELETING | … (ReplicaStatus)
    arn: str | None = None
    deletion_protection: bool = False
    point_in_time_recovery: PointInTimeRecovery | None = None
    tags: dict[str, str] = {}
    # the GSIs the replica's own region describes (None: not read, e.g. while CREATING); AWS
    # makes them equal to the table's, but a change reaches each replica on its own time
    global_secondary_indexes: tuple[GlobalSecondaryIndex, ...] | None = None
    indexes_in_progress: tuple[str, ...] = ()  # its GSIs whose IndexStatus is not ACTIVE


class IndexState(_Frozen):
    """A GSI's transient state."""

    status: str  # CREATING | UPDATING | DELETING | ACTIVE
    backfilling: bool = False
    arn: str | None = None


class LiveTable(_Frozen):
    """One table as AWS holds it."""

    table: Table  # the same model the spec produces (backup/alarms are None here)
    arn: str
    table_id: str | None = None
    status: str = "ACTIVE"
    item_count: int = 0  # approximate: AWS refreshes it about every six hours
    stream_arn: str | None = None
    stream_label: str | None = None
    indexes: dict[str, IndexState] = {}
    replica_states: tuple[ReplicaState, ...] = ()
    # TTL in transition (ENABLING/DISABLING) cannot be changed again yet
    ttl_status: str = "DISABLED"

    def replica(self, region: str) -> ReplicaState | None:
        """The replica in ``region``, if any."""
        return next((r for r in self.replica_states if r.region == region), None)


class FamilyState(_Frozen):
    """What one resource family (``tablesmith.around``) read, for every table read; each
    family subclasses it with its own fields."""

    def fingerprint(self, table: str) -> object:
        """The JSON-able part of the plan's fingerprint for ``table``: definitions, not
        transient statuses (a saved plan is refused when it changed)."""
        raise NotImplementedError  # pragma: no cover


class LiveState(_Frozen):
    """Everything read for one environment: physical table name -> table (None: absent)."""

    region: str
    tables: dict[str, LiveTable | None]
    # tables found in AWS that the spec does not name but that carry our ownership tag
    orphans: tuple[str, ...] = ()
    # features the endpoint does not implement ("tags", "pitr"): emulators such as DynamoDB
    # Local answer UnknownOperationException; such settings are reported, not managed
    unsupported: tuple[str, ...] = ()
    # the resources around the tables, per family (``tablesmith.around``): name -> its read
    around: dict[str, SerializeAsAny[FamilyState]] = {}
    notes: tuple[str, ...] = ()  # what could not be read, for the plan's notices (no hash)

    def fingerprint(self, names: Iterable[str] | None = None) -> str:
        """A hash of the definitions (not of transient statuses or item counts).

        A saved plan records it; applying the plan after AWS changed is refused.
        """
        chosen = sorted(self.tables) if names is None else sorted(set(names))
        canonical = {}
        for name in chosen:
            live = self.tables.get(name)
            canonical[name] = None if live is None else {
                "table": live.table.model_dump(mode="json"),
                "arn": live.arn,
                "stream_arn": live.stream_arn,
                "replicas": [r.model_dump(mode="json",
                                          exclude={"status", "indexes_in_progress"})
                             for r in live.replica_states],
                **{family: state.fingerprint(name)
                   for family, state in sorted(self.around.items())},
            }
        canonical["__orphans__"] = sorted(self.orphans)  # type: ignore[assignment]
        blob = json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()
