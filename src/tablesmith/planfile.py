"""Saved plans are checked, never trusted.

A plan file (``plan --out``) may be edited by anyone who can reach it: a CI artifact store, a
shared folder, a pull request. So ``apply PLANFILE`` treats it as a *request*, not as
instructions:

1. **Shape**: pydantic validates every field (nothing is evaluated); every desired table
   lives in the plan's region, and no table is named twice.
2. **Target**: the plan records where it was made (kind, endpoint or local state directory,
   profile, account, region). Applied anywhere else, it is refused.
3. **Freshness**: the live state is read again; if its fingerprint differs, the plan is stale.
4. **Recomputation**: the plan is made again from the file's desired tables and that fresh
   live state. Its operations must be the file's (item counts aside, which AWS refreshes
   every few hours); otherwise the differences are listed and nothing is called. What is
   applied, and gated on hazards, is the *recomputed* plan: an operation the diff would not
   make (a policy attached to a stranger role, a tag on a table outside the spec, a hazard
   list emptied by hand) can never run.
5. **Approvals**: hazards allowed at plan time (``plan --allow-hazards … --out``) are
   recorded in the file, but a file can claim anything. They count only when the plan is
   signed with ``TABLESMITH_PLAN_KEY`` (HMAC-SHA256) and the signature verifies; otherwise
   ``--allow-hazards`` must name them at apply. With the key set at apply, an unsigned or
   badly signed plan is refused whole.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tablesmith.errors import PlanRejected, UsageError

if TYPE_CHECKING:
    from tablesmith.hazards import HazardCode
    from tablesmith.plan import Plan, PlanTarget

KEY_VARIABLE = "TABLESMITH_PLAN_KEY"
# fields AWS refreshes on its own schedule: not a reason to refuse a reviewed plan
_VOLATILE = frozenset({"item_count"})


def _key() -> bytes | None:
    key = os.environ.get(KEY_VARIABLE, "")
    return key.encode() if key else None


def sign(plan: Plan) -> Plan:
    """The plan with its signature, when ``TABLESMITH_PLAN_KEY`` is set (else unchanged)."""
    key = _key()
    if key is None:
        return plan
    digest = hmac.new(key, plan.signed_body(), hashlib.sha256).hexdigest()
    return plan.model_copy(update={"signature": digest})


def verified_approvals(plan: Plan) -> frozenset[HazardCode]:
    """The hazards approved at plan time that can be believed: all of them for a plan whose
    signature verifies, none for an unsigned plan. Refuses a plan whose signature fails, and
    any unsigned plan while ``TABLESMITH_PLAN_KEY`` is set."""
    key = _key()
    if key is None:
        return frozenset()
    if plan.signature is None:
        raise PlanRejected(f"{KEY_VARIABLE} is set but the plan is not signed: make it again "
                           f"with `tablesmith plan --out` and {KEY_VARIABLE} set")
    expected = hmac.new(key, plan.signed_body(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, plan.signature):
        raise PlanRejected("the plan's signature does not match: the file was changed after "
                           f"it was made, or signed with another {KEY_VARIABLE}; nothing was "
                           "changed. Make the plan again and review it")
    return frozenset(plan.approved)


def check_shape(plan: Plan) -> None:
    """Refuse a plan whose desired tables could not have come from one environment."""
    names = [t.table_name for t in plan.desired]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise PlanRejected(f"the plan names table(s) {', '.join(twice)} more than once")
    elsewhere = sorted(f"{t.table_name} ({t.region})" for t in plan.desired
                       if t.region != plan.region)
    if elsewhere:
        raise PlanRejected(f"the plan is for {plan.region} but holds table(s) in other regions: "
                           f"{', '.join(elsewhere)}")
    if plan.target is not None and plan.target.region != plan.region:
        raise PlanRejected(f"the plan is for {plan.region} but its target is in "
                           f"{plan.target.region}")


def check_target(recorded: PlanTarget | None, current: PlanTarget) -> None:
    """Refuse to apply a plan anywhere but where it was made."""
    if recorded is None:
        raise PlanRejected("the plan records no target; make it again with "
                           "`tablesmith plan --out`")
    fields = ("kind", "endpoint", "state_dir", "profile", "account", "region")
    differs = [f"{f}: planned {_shown(getattr(recorded, f))}, now {_shown(getattr(current, f))}"
               for f in fields if getattr(recorded, f) != getattr(current, f)]
    if differs:
        raise PlanRejected("the plan was made for another target, and applies only there:\n  "
                           + "\n  ".join(differs)
                           + "\nnothing was changed. Make a plan for this target instead")


def _shown(value: str | None) -> str:
    return "none" if value is None else value


def operation_differences(saved: Plan, recomputed: Plan) -> list[str]:
    """How the file's operations differ from the ones its tables need now ([] if alike)."""
    have = [_comparable(op) for op in saved.operations]
    want = [_comparable(op) for op in recomputed.operations]
    if have == want:
        return []
    lines = []
    for op in saved.operations:
        if _comparable(op) not in want:
            lines.append(f"not needed, or not as written: {_label(op)}")
    for op in recomputed.operations:
        if _comparable(op) not in have:
            lines.append(f"needed but missing, or different: {_label(op)}")
    return lines or ["the same operations in another order"]


def _comparable(op: Any) -> dict[str, Any]:
    data: dict[str, Any] = op.model_dump(mode="json", exclude=set(_VOLATILE) | {"hazards"})
    data["hazards"] = sorted(h.code.value for h in op.hazards)  # messages carry counts
    return data


def _label(op: Any) -> str:
    codes = ", ".join(sorted(h.code.value for h in op.hazards)) or "no hazards"
    return f"{op.op} {op.table} ({op.region}; {codes})"


MAX_PLAN_BYTES = 64 * 1024 * 1024  # thousands of tables; a larger file is not a plan of ours


def write_plan(path: Path, text: str) -> None:
    """Write a saved plan: a new file or our own regular file, never through a symlink."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        raise UsageError(f"cannot write the plan to {path}: {exc.strerror or exc} (a symlink "
                         "is never followed)") from exc
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def read_plan(path: Path) -> Plan:
    """Read and validate a saved plan; one line saying why when it is not one."""
    from pydantic import ValidationError

    import tablesmith.around.registry  # noqa: F401 (its families' operations are in plans)
    from tablesmith.plan import Plan

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(MAX_PLAN_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read the plan {path}: {exc.strerror or exc} (a symlink is "
                         "never followed)") from exc
    if len(data) > MAX_PLAN_BYTES:
        raise PlanRejected(f"{path} is larger than any plan tablesmith writes")
    try:
        plan = Plan.from_json(data.decode("utf-8"))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "the document"
        raise PlanRejected(f"{path} is not a plan saved by `tablesmith plan --out`: "
                           f"{where}: {first.get('msg', 'invalid')} "
                           f"({exc.error_count()} problem(s))") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise PlanRejected(f"{path} is not a plan saved by `tablesmith plan --out`: "
                           f"{exc}") from exc
    if plan.target is None:
        raise PlanRejected(f"{path} records no target; make it again with "
                           "`tablesmith plan --out`")
    return plan


def context_conflicts(plan: Plan, *, env: str | None, profile: str | None, region: str | None,
                      endpoint_url: str | None, local: bool,
                      state_dir: str | None) -> list[str]:
    """Flags given to ``apply PLANFILE`` that contradict the context the plan recorded."""
    target = plan.target
    assert target is not None
    conflicts = []
    if env and env != plan.environment:
        conflicts.append(f"the plan is for environment '{plan.environment}', not '{env}'")
    if region and region != target.region:
        conflicts.append(f"the plan is for region {target.region}, not {region}")
    if profile and profile != target.profile:
        conflicts.append(f"the plan was made with profile {_shown(target.profile)}, "
                         f"not {profile}")
    if local and target.kind != "local":
        conflicts.append("the plan was not made for the embedded local target (--local)")
    if endpoint_url and (target.kind != "endpoint" or endpoint_url != target.endpoint):
        where = target.endpoint if target.kind == "endpoint" else (
            "the embedded local target" if target.kind == "local" else "AWS")
        conflicts.append(f"the plan was made for {where}, not endpoint {endpoint_url} "
                         "(--endpoint-url or AWS_ENDPOINT_URL)")
    if state_dir and (target.kind != "local"
                      or str(Path(state_dir).resolve()) != target.state_dir):
        conflicts.append(f"the plan was made for the local state {_shown(target.state_dir)}, "
                         f"not {state_dir}")
    return conflicts
