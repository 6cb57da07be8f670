"""IAM policy statements' building blocks, for ``iam_policy`` and the resource families.

Each family grants what its own reads and handlers call (``ResourceFamily.iam_statements``),
with these: ARNs in the Region's partition, and one statement shape (actions sorted, each
once; ``Resource: "*"`` only for actions AWS does not scope to a resource).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tablesmith.spec.regions import partition

if TYPE_CHECKING:
    from collections.abc import Iterable


def arn(service: str, region: str, account: str, resource: str) -> str:
    """An ARN of ``service`` in ``region``'s partition."""
    return f"arn:{partition(region)}:{service}:{region}:{account}:{resource}"


def table_arns(name: str, region: str, account: str) -> list[str]:
    """A table's ARN with its indexes and streams."""
    base = arn("dynamodb", region, account, f"table/{name}")
    return [base, f"{base}/index/*", f"{base}/stream/*"]


def statement(sid: str, actions: Iterable[str], resources: Iterable[str] | str,
              condition: dict[str, Any] | None = None) -> dict[str, Any]:
    """One Allow statement (IAM Sids take only letters and digits: ``sid`` says why)."""
    out: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": sorted(set(actions))}
    listed = [resources] if isinstance(resources, str) else resources
    out["Resource"] = "*" if resources == "*" else sorted(set(listed))
    if condition:
        out["Condition"] = condition
    return out
