"""The resource families around a table, in the order their operations run after the table's.

A new family is one module under ``tablesmith.around`` and one line here. Every stage loops
over ``FAMILIES`` (``live`` reads them, ``diff`` plans them, ``apply`` runs their handlers,
``render`` describes their operations, ``state`` fingerprints them, ``outputs`` and the
exporters ask them); none names a family.

Order: a plan lists a table's own operations, then each family's in this order; removal runs
the families in reverse, before the table goes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tablesmith.around.alarms import ALARMS
from tablesmith.around.backup import BACKUP
from tablesmith.around.contributor_insights import CONTRIBUTOR_INSIGHTS
from tablesmith.around.kinesis import KINESIS
from tablesmith.around.resource_policy import RESOURCE_POLICY
from tablesmith.spec.model import Table

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tablesmith.around.contract import Handler, ResourceFamily
    from tablesmith.plan import Op

FAMILIES: tuple[ResourceFamily[Any], ...] = (
    BACKUP,
    ALARMS,
    KINESIS,
    CONTRIBUTOR_INSIGHTS,
    RESOURCE_POLICY,
)


def family_of(op: Op) -> ResourceFamily[Any] | None:
    """The family whose handler runs ``op`` (None: one of the table's own operations)."""
    return next((f for f in FAMILIES if type(op) in f.handlers), None)


def family_handlers() -> Mapping[type[Op], Handler]:
    """Every family's handlers, by operation type."""
    return {t: h for f in FAMILIES for t, h in f.handlers.items()}


def table_itself(table: Table) -> Table:
    """``table`` without its families' settings (each at its default): what the table's own
    read (DescribeTable and friends) gives back for it."""
    fields = Table.model_fields
    return table.model_copy(update={
        name: fields[name].get_default(call_default_factory=True)
        for family in FAMILIES for name in family.spec_fields})
