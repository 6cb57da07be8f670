"""AWS-managed IAM policies on the local target, each built when a call first names it.

moto either builds none of AWS's ~1,580 managed policies or, with
``MOTO_IAM_LOAD_MANAGED_POLICIES=true``, all of them, in every IAM backend it creates: about
0.2 s of every ``--local`` command whose state holds a role, to attach two of them (the
backup role's ``AWSBackupServiceRolePolicyForBackup`` and ``…ForRestores``). Here none is
built up front; the calls that take a policy ARN (attach, get, get a version, list versions,
detach) first build the AWS-managed policy they name, from the same moto data, read at that
one entry. An ARN that is no AWS-managed policy is left alone, so moto answers as before.

What this changes: ``ListPolicies --scope AWS`` lists only the AWS-managed policies built so
far (the ones attached or read). With ``MOTO_IAM_LOAD_MANAGED_POLICIES=true`` set, moto
builds them all again, as it would.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

_MARKER = "_tablesmith_lazy_aws_policies"
# the backend methods whose first argument is a policy ARN
_TAKE_ARN = (
    "attach_role_policy",
    "attach_group_policy",
    "attach_user_policy",
    "detach_role_policy",
    "detach_group_policy",
    "detach_user_policy",
    "get_policy",
    "get_policy_version",
    "list_policy_versions",
)
_AWS_POLICY_ARN = ":iam::aws:policy/"


def install() -> None:
    """Make moto's IAM backends build AWS-managed policies on demand (idempotent)."""
    from moto.iam.models import IAMBackend

    if getattr(IAMBackend, _MARKER, False):
        return
    for name in _TAKE_ARN:
        setattr(IAMBackend, name, _building_first(getattr(IAMBackend, name)))
    setattr(IAMBackend, _MARKER, True)


def _building_first(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self: Any, policy_arn: str, *args: Any, **kwargs: Any) -> Any:
        if isinstance(policy_arn, str) and policy_arn not in self.managed_policies:
            build_aws_policy(self, policy_arn)
        return method(self, policy_arn, *args, **kwargs)

    return wrapper


def build_aws_policy(backend: Any, arn: str) -> bool:
    """Add the AWS-managed policy ``arn`` to ``backend``; False when AWS has none of that ARN."""
    if _AWS_POLICY_ARN not in arn:
        return False
    from moto.iam.models import AWSManagedPolicy

    name = arn.rsplit("/", 1)[-1]
    data = _policy_data(name)
    if data is None:
        return False
    policy = AWSManagedPolicy.from_data(name, backend.account_id, backend.region_name, data)
    if policy.arn != arn:  # the same name under another path (or partition): not this one
        return False
    backend.aws_managed_policies.append(policy)
    backend.managed_policies[policy.arn] = policy
    return True


@functools.lru_cache(maxsize=64)
def _policy_data(name: str) -> dict[str, Any] | None:
    """One policy's entry of moto's AWS-managed policy document (4.7 MB of JSON).

    The document is one object with an entry per policy name, one space in; decoding just
    that entry takes microseconds where the whole document takes tens of milliseconds. A
    layout this does not recognise is decoded in full instead.
    """
    from moto.iam.aws_managed_policies import aws_managed_policies_data as document

    start = document.find(f'\n "{name}":')
    if start >= 0:
        at = document.index(":", start + len(name) + 4) + 1
        while document[at] in " \t\r\n":
            at += 1
        try:
            value, _ = json.JSONDecoder().raw_decode(document, at)
        except ValueError:
            value = None
        if isinstance(value, dict):
            return value
    found = json.loads(document).get(name)
    return found if isinstance(found, dict) else None
