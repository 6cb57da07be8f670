"""Built-in defaults: the module's variable defaults, and its documented environment profiles.

Both are plain settings layers (native shape), merged under whatever the user wrote, so
``tablesmith show`` prints exactly what the module would have done.
"""

from __future__ import annotations

from typing import Any

# variables.tf defaults, in tablesmith's spelling. Alarm values are main.tf's hard-coded ones.
MODULE_DEFAULTS: dict[str, Any] = {
    "billing_mode": "PAY_PER_REQUEST",
    "point_in_time_recovery": {"enabled": True, "recovery_period_days": 35},
    "ttl": {"enabled": False, "attribute_name": "expiryTime"},
    "stream": {"enabled": True, "view_type": "NEW_AND_OLD_IMAGES"},
    "encryption": {"type": "AWS_MANAGED"},  # main.tf: SSE on, AWS-managed key
    "deletion_protection": False,
    "table_class": "STANDARD",
    "replicas": [],
    "backup": {
        "enabled": False,
        "schedule": "cron(0 2 * * ? *)",
        "retention_days": 7,
        "copy_to_replica_regions": True,
    },
    "alarms": {
        "enabled": True,
        "alarm_actions": [],
        "ok_actions": [],
        "system_errors": {"enabled": True, "threshold": 0, "period": 300,
                          "evaluation_periods": 1, "statistic": "Sum"},
        "throttled_requests": {"enabled": True, "threshold": 5, "period": 300,
                               "evaluation_periods": 2, "statistic": "Sum"},
        "read_throttle_events": {"enabled": True, "threshold": 5, "period": 300,
                                 "evaluation_periods": 2, "statistic": "Sum"},
        "write_throttle_events": {"enabled": True, "threshold": 5, "period": 300,
                                  "evaluation_periods": 2, "statistic": "Sum"},
        # milliseconds; only created for replicated tables
        "replication_latency": {"enabled": True, "threshold": 60000, "period": 300,
                                "evaluation_periods": 2, "statistic": "Average"},
        # UserErrors is an account-and-region total: one alarm per region, opt-in
        "user_errors": {"enabled": False, "threshold": 10, "period": 300,
                        "evaluation_periods": 2, "statistic": "Sum"},
    },
    "tags": {},
}


def environment_profile(name: str, dr_region: str | None) -> dict[str, Any]:
    """The module README's settings for dev / sit / prod; other environments get none.

    ``dr_region`` None (an invalid DR region, already reported) means no prod replica.
    """
    if name == "dev":
        return {"backup": {"enabled": True, "schedule": "cron(0 2 * * ? *)",
                           "retention_days": 7}}
    if name == "sit":
        return {"backup": {"enabled": True, "schedule": "cron(0 2 * * ? *)",
                           "retention_days": 14}}
    if name == "prod":
        return {
            "backup": {"enabled": True, "schedule": "cron(0 */1 * * ? *)", "retention_days": 90},
            "deletion_protection": True,
            "replicas": [dr_region] if dr_region else [],
        }
    return {}


BUILTIN_ENVIRONMENTS = ("dev", "sit", "prod")
