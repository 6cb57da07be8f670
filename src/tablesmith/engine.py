"""The library's front door for AWS work: spec + environment -> target -> plan -> apply.

    spec = tablesmith.load("specs/")
    session = Session.for_environment(spec, "prod", endpoint_url="http://127.0.0.1:4566")
    plan = session.plan()
    session.apply(plan, allowed=frozenset())
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tablesmith.aws import Clients, LocalAccess, Target
from tablesmith.errors import PlanRejected, StalePlan, UsageError
from tablesmith.spec.model import LockSettings

if TYPE_CHECKING:
    import threading
    from collections.abc import Sequence
    from contextlib import AbstractContextManager
    from typing import Any

    from tablesmith.apply import ApplyResult, Reporter
    from tablesmith.hazards import HazardCode
    from tablesmith.plan import Plan, PlanTarget
    from tablesmith.spec.loader import Spec
    from tablesmith.spec.model import Environment, Table
    from tablesmith.state import LiveState


def resolve_target(env: Environment, *, region: str | None = None, profile: str | None = None,
                   endpoint_url: str | None = None, local: bool = False,
                   state_dir: str | None = None) -> Target:
    """Where an environment's calls go: flags win over the spec's environment settings.

    ``local`` means ``endpoint_url`` is the embedded local target (its own credentials),
    serving ``state_dir``. An endpoint that is not on this machine must be https: the
    request signatures and session tokens would otherwise cross the network in clear text.
    """
    from_spec: list[str] = []
    if not local and not endpoint_url and env.endpoint_url:
        from_spec.append("endpoint")
    if not local and not profile and env.profile:
        from_spec.append("profile")
    endpoint = endpoint_url or env.endpoint_url
    if endpoint and not local:
        check_endpoint(endpoint, "the spec's environment" if "endpoint" in from_spec
                       else "--endpoint-url / AWS_ENDPOINT_URL")
    return Target(region=region or env.region, profile=None if local else profile or env.profile,
                  endpoint_url=endpoint, static_credentials=local,
                  state_dir=state_dir if local else None, from_spec=tuple(from_spec),
                  local=local_access(endpoint, state_dir) if local else None)


def local_access(endpoint: str | None, state_dir: str | None) -> LocalAccess:
    """The embedded local target at ``endpoint`` (started in this process, or serving
    ``state_dir``) for ``aws.Clients``: its key goes to its loopback endpoint only."""
    from tablesmith.local.server import access_key_for
    from tablesmith.local.store import require_local_endpoint

    checked = require_local_endpoint(endpoint)  # refuses anything but http://127.0.0.1:<port>
    return LocalAccess(checked, access_key_for(checked, state_dir))


def check_endpoint(url: str, source: str) -> None:
    """Refuse an endpoint that would send credentials in clear text over a network."""
    from tablesmith.spec.regions import endpoint_problem

    problem = endpoint_problem(url)
    if problem:
        raise UsageError(f"endpoint {problem} (from {source}); use https:// or a loopback "
                         "address (127.0.0.1, localhost)")


@dataclass
class Session:
    """One environment of one spec, bound to one target."""

    environment: str
    tables: tuple[Table, ...]
    clients: Clients
    # every table the spec names in this environment (``tables`` may be a --table subset):
    # prune must never take a spec table for an orphan
    known: tuple[str, ...] = ()
    everything: tuple[Table, ...] = ()  # all of the environment's tables (--table or not)
    lock: LockSettings = field(default_factory=LockSettings)  # conventions.lock

    @classmethod
    def for_environment(cls, spec: Spec, env_name: str, *, region: str | None = None,
                        profile: str | None = None, endpoint_url: str | None = None,
                        tables: tuple[str, ...] = (), local: bool = False,
                        state_dir: str | None = None) -> Session:
        """Bind environment ``env_name`` of ``spec`` to its target (or the one given)."""
        env = spec.environment(env_name)
        target = resolve_target(env, region=region, profile=profile, endpoint_url=endpoint_url,
                                local=local, state_dir=state_dir)
        chosen = spec.tables(env_name)
        if tables:
            chosen = tuple(spec.table(env_name, t) for t in tables)
        if region and region != env.region:
            # the tables' region is part of their effective spec: move them with the flag
            chosen = tuple(t.model_copy(update={"region": region}) for t in chosen)
        everything = spec.tables(env_name)
        known = tuple(t.table_name for t in everything)
        return cls(environment=env_name, tables=chosen, clients=Clients(target), known=known,
                   everything=everything, lock=spec.conventions.lock)

    def read(self, *, prune: bool = False, orphans: bool = True) -> LiveState:
        """Read the live state of this environment's tables (and, with ``orphans``, the
        tables it owns that left the spec: one tagging-API call per region)."""
        from tablesmith.live import read_live

        if prune and set(self.known) != {t.table_name for t in self.tables}:
            raise UsageError("--prune works on the whole environment: drop --table")
        return read_live(self.clients, self.tables, region=self.clients.target.region,
                         prune_environment=self.environment if orphans or prune else None,
                         known=self.known, prune=prune)

    def describe_target(self) -> PlanTarget:
        """Where this session's calls go, as a plan records it (asks STS for the account)."""
        from tablesmith.plan import PlanTarget

        target = self.clients.target
        kind = "local" if target.static_credentials else \
            "endpoint" if self.clients.custom_endpoint else "aws"
        return PlanTarget(
            kind=kind, region=target.region,
            endpoint=self.clients.custom_endpoint if kind == "endpoint" else None,
            state_dir=target.state_dir if kind == "local" else None,
            profile=target.profile, account=self.clients.account_id(),
            from_spec=tuple(f for f in target.from_spec if f in ("endpoint", "profile")))

    def plan(self, *, prune: bool = False, lift_protection: bool = False) -> Plan:
        """Read live state and compute the plan."""
        from tablesmith.diff import plan_environment

        plan = plan_environment(self.read(prune=prune), self.tables,
                                environment=self.environment, prune=prune,
                                lift_protection=lift_protection)
        return plan.model_copy(update={"target": self.describe_target(), "prune": prune,
                                       "lift_protection": lift_protection,
                                       "known": tuple(sorted(self.known)), "lock": self.lock})

    def plan_destroy(self, *, lift_protection: bool = False) -> Plan:
        """Read live state and compute the plan that removes every table of the spec."""
        chosen = {t.table_name for t in self.tables}
        remaining = tuple(t for t in self.everything if t.table_name not in chosen)
        plan = self._destroy_plan(self.tables, remaining, lift_protection)
        return plan.model_copy(update={"target": self.describe_target(),
                                       "lift_protection": lift_protection,
                                       "remaining": remaining})

    def _destroy_plan(self, tables: Sequence[Table], remaining: Sequence[Table],
                      lift_protection: bool) -> Plan:
        from tablesmith.diff import plan_destroy
        from tablesmith.live import read_live

        live = read_live(self.clients, tables, region=self.clients.target.region,
                         known=tuple(t.table_name for t in (*tables, *remaining)) or self.known,
                         destroy=True)
        return plan_destroy(live, tables, environment=self.environment,
                            lift_protection=lift_protection, remaining=remaining)

    def verify_saved(self, saved: Plan) -> Plan:
        """Check a saved plan against this target and fresh live state; the plan to apply.

        Refuses (nothing called) a plan for another environment or target, a stale one, and
        one whose operations are not what its tables need now (see :mod:`tablesmith.planfile`).
        The result is the plan recomputed here, carrying the file's context.
        """
        from tablesmith.diff import plan_environment
        from tablesmith.live import read_live
        from tablesmith.planfile import check_shape, check_target, operation_differences

        if saved.environment != self.environment:
            raise UsageError(f"the plan is for environment '{saved.environment}', "
                             f"not '{self.environment}'")
        check_shape(saved)
        check_target(saved.target, self.describe_target())
        if saved.destroy:
            recomputed = self._destroy_plan(saved.desired, saved.remaining,
                                            saved.lift_protection)
        else:
            live = read_live(self.clients, saved.desired, region=saved.region,
                             prune_environment=self.environment,
                             known=saved.known or tuple(t.table_name for t in saved.desired),
                             prune=saved.prune)
            recomputed = plan_environment(live, saved.desired, environment=self.environment,
                                          prune=saved.prune,
                                          lift_protection=saved.lift_protection)
        if recomputed.fingerprint != saved.fingerprint:
            raise StalePlan("the live state changed since this plan was made; "
                            "run plan again and review it")
        differences = operation_differences(saved, recomputed)
        if differences:
            raise PlanRejected(
                "the plan's operations are not what its tables need (was the file edited?):"
                "\n  " + "\n  ".join(differences)
                + "\nnothing was changed. Make the plan again and review it")
        return recomputed.model_copy(update={
            "target": saved.target, "spec_path": saved.spec_path, "approved": saved.approved,
            "prune": saved.prune, "lift_protection": saved.lift_protection,
            "remaining": saved.remaining, "known": saved.known, "lock": saved.lock,
            "signature": saved.signature})

    def locked(self, command: str, timeout: float = 0.0) -> AbstractContextManager[Any]:
        """Hold this environment's apply lock (see :mod:`tablesmith.lock`)."""
        from tablesmith.lock import hold

        return hold(self.clients, self.environment, self.describe_target(), self.lock,
                    command=command, timeout=timeout)

    def apply(self, plan: Plan, *, allowed: frozenset[HazardCode],
              report: Reporter | None = None, stop: threading.Event | None = None,
              ) -> ApplyResult:
        """Apply ``plan`` (hazards checked first: nothing is called if one is refused).

        Setting ``stop`` ends the apply at the next operation boundary (``Interrupted``).
        """
        from tablesmith.apply import apply_plan

        return apply_plan(self.clients, plan, allowed=allowed, report=report, stop=stop)
