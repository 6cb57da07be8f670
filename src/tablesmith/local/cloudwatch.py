"""CloudWatch alarms start as AWS starts them, patched into moto in-process (every mode).

PutMetricAlarm, after the CloudWatch API reference: "When this operation creates an alarm, the
alarm state is immediately set to INSUFFICIENT_DATA. The alarm is then evaluated and its state
is set appropriately." and "When you update an existing alarm, its state is left unchanged".
moto starts every alarm, new or replaced, in ``OK``. This is not a matter of timing, so it holds
in the default mode too: an application or runbook rehearsed locally must not take ``OK`` for
"checked". Nothing evaluates the alarm afterwards (the local target has no metrics), so a new
alarm stays INSUFFICIENT_DATA until SetAlarmState changes it, as an alarm on a series nobody
publishes does on AWS.

Loading the saved state goes through ``put_metric_alarm`` too and then sets the saved state
(``local/snapshot.py``), so a reload keeps each alarm's state.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

INITIAL_STATE = "INSUFFICIENT_DATA"
INITIAL_REASON = "Unchecked: Initial alarm creation"

_INSTALLED = "_ts_cloudwatch_installed"  # marker attribute on moto's CloudWatchBackend class
_STATE = ("state_value", "state_reason", "state_reason_data", "state_updated_timestamp")


def install() -> None:
    """Patch moto's CloudWatch backend in this process; calling it again does nothing."""
    from moto.cloudwatch.models import CloudWatchBackend

    if getattr(CloudWatchBackend, _INSTALLED, False):
        return
    original = CloudWatchBackend.put_metric_alarm
    CloudWatchBackend.put_metric_alarm = functools.wraps(original)(  # type: ignore[method-assign]
        _put_metric_alarm(original)
    )
    setattr(CloudWatchBackend, _INSTALLED, True)


def _put_metric_alarm(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_metric_alarm(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        previous = self.alarms.get(name)
        kept = {attr: getattr(previous, attr) for attr in _STATE} if previous else None
        alarm = original(self, name, *args, **kwargs)
        if kept is not None:  # an update leaves the state as it was
            for attr, value in kept.items():
                setattr(alarm, attr, value)
        else:
            alarm.state_value = INITIAL_STATE
            alarm.state_reason = INITIAL_REASON
        return alarm

    return put_metric_alarm
