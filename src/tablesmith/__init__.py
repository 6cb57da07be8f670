"""tablesmith: declarative, guard-railed Amazon DynamoDB tables.

    import tablesmith
    spec = tablesmith.load("examples/")          # raises tablesmith.SpecError with every problem
    for table in spec.tables("prod"):
        print(table.table_name, table.replicas)

Names are imported lazily so that the command line starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "load": "tablesmith.spec.loader",
    "Spec": "tablesmith.spec.loader",
    "Diagnostic": "tablesmith.errors",
    "TablesmithError": "tablesmith.errors",
    "SpecError": "tablesmith.errors",
    "UsageError": "tablesmith.errors",
    "AwsError": "tablesmith.errors",
    "PlanError": "tablesmith.errors",
    "HazardRefused": "tablesmith.errors",
    "StalePlan": "tablesmith.errors",
    "ApplyError": "tablesmith.errors",
    "LocalTargetError": "tablesmith.errors",
    **{
        name: "tablesmith.spec.model"
        for name in (
            "Table", "Key", "GlobalSecondaryIndex", "LocalSecondaryIndex", "PointInTimeRecovery",
            "TimeToLive", "Stream", "Encryption", "OnDemandThroughput", "Backup", "AlarmRule",
            "Alarms", "Environment", "Conventions", "TableSettings",
        )
    },
}

__all__ = [
    "AlarmRule", "Alarms", "ApplyError", "AwsError", "Backup", "Conventions", "Diagnostic",
    "Encryption", "Environment", "GlobalSecondaryIndex", "HazardRefused", "Key",
    "LocalSecondaryIndex", "LocalTargetError", "OnDemandThroughput", "PlanError",
    "PointInTimeRecovery", "Spec", "SpecError", "StalePlan", "Stream", "Table", "TableSettings",
    "TablesmithError", "TimeToLive", "UsageError", "load",
]
assert sorted(__all__) == sorted(_EXPORTS)

if TYPE_CHECKING:
    from tablesmith.errors import (
        ApplyError,
        AwsError,
        Diagnostic,
        HazardRefused,
        LocalTargetError,
        PlanError,
        SpecError,
        StalePlan,
        TablesmithError,
        UsageError,
    )
    from tablesmith.spec.loader import Spec, load
    from tablesmith.spec.model import (
        AlarmRule,
        Alarms,
        Backup,
        Conventions,
        Encryption,
        Environment,
        GlobalSecondaryIndex,
        Key,
        LocalSecondaryIndex,
        OnDemandThroughput,
        PointInTimeRecovery,
        Stream,
        Table,
        TableSettings,
        TimeToLive,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tablesmith' has no attribute '{name}'")
    return getattr(importlib.import_module(module), name)
