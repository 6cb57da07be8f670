"""The resource families around a table, in the order their operations run after the table's.

A new family is one module under ``tablesmith.around`` and one line here. Every stage loops
over ``FAMILIES`` (``live`` reads them, ``diff`` plans them, ``apply`` runs their handlers,
``render`` describes their operations, ``state`` fingerprints them, ``outputs`` and the
exporters ask them); none names a family.

Order: backup, then alarms, as before the registry existed (a plan lists a table's own
operations, then each family's in this order; removal runs families in reverse).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tablesmith.around.alarms import ALARMS
from tablesmith.around.backup import BACKUP

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tablesmith.around.contract import Handler, ResourceFamily
    from tablesmith.plan import Op

FAMILIES: tuple[ResourceFamily[Any], ...] = (
    BACKUP,
    ALARMS,
)


def family_of(op: Op) -> ResourceFamily[Any] | None:
    """The family whose handler runs ``op`` (None: one of the table's own operations)."""
    return next((f for f in FAMILIES if type(op) in f.handlers), None)


def family_handlers() -> Mapping[type[Op], Handler]:
    """Every family's handlers, by operation type."""
    return {t: h for f in FAMILIES for t, h in f.handlers.items()}
