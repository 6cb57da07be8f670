"""The library's front door for AWS work: spec + environment -> target -> plan -> apply.

    spec = tablesmith.load("specs/")
    session = Session.for_environment(spec, "prod", endpoint_url="http://127.0.0.1:4566")
    plan = session.plan()
    session.apply(plan, allowed=frozenset())
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tablesmith.aws import Clients, Target
from tablesmith.errors import StalePlan, UsageError

if TYPE_CHECKING:
    from tablesmith.apply import ApplyResult, Reporter
    from tablesmith.hazards import HazardCode
    from tablesmith.plan import Plan
    from tablesmith.spec.loader import Spec
    from tablesmith.spec.model import Environment, Table
    from tablesmith.state import LiveState


def resolve_target(env: Environment, *, region: str | None = None, profile: str | None = None,
                   endpoint_url: str | None = None, local: bool = False) -> Target:
    """Where an environment's calls go: flags win over the spec's environment settings.

    ``local`` means ``endpoint_url`` is the embedded local target (fake fixed credentials).
    """
    return Target(region=region or env.region, profile=None if local else profile or env.profile,
                  endpoint_url=endpoint_url or env.endpoint_url, static_credentials=local)


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

    @classmethod
    def for_environment(cls, spec: Spec, env_name: str, *, region: str | None = None,
                        profile: str | None = None, endpoint_url: str | None = None,
                        tables: tuple[str, ...] = (), local: bool = False) -> Session:
        """Bind environment ``env_name`` of ``spec`` to its target (or the one given)."""
        env = spec.environment(env_name)
        target = resolve_target(env, region=region, profile=profile, endpoint_url=endpoint_url,
                                local=local)
        chosen = spec.tables(env_name)
        if tables:
            chosen = tuple(spec.table(env_name, t) for t in tables)
        if region and region != env.region:
            # the tables' region is part of their effective spec: move them with the flag
            chosen = tuple(t.model_copy(update={"region": region}) for t in chosen)
        everything = spec.tables(env_name)
        known = tuple(t.table_name for t in everything)
        return cls(environment=env_name, tables=chosen, clients=Clients(target), known=known,
                   everything=everything)

    def read(self, *, prune: bool = False) -> LiveState:
        """Read the live state of this environment's tables."""
        from tablesmith.live import read_live

        if prune and set(self.known) != {t.table_name for t in self.tables}:
            raise UsageError("--prune works on the whole environment: drop --table")
        return read_live(self.clients, self.tables, region=self.clients.target.region,
                         prune_environment=self.environment if prune else None,
                         known=self.known)

    def plan(self, *, prune: bool = False, lift_protection: bool = False) -> Plan:
        """Read live state and compute the plan."""
        from tablesmith.diff import plan_environment

        return plan_environment(self.read(prune=prune), self.tables,
                                environment=self.environment, prune=prune,
                                lift_protection=lift_protection)

    def plan_destroy(self, *, lift_protection: bool = False) -> Plan:
        """Read live state and compute the plan that removes every table of the spec."""
        from tablesmith.diff import plan_destroy
        from tablesmith.live import read_live

        live = read_live(self.clients, self.tables, region=self.clients.target.region,
                         known=self.known, destroy=True)
        chosen = {t.table_name for t in self.tables}
        return plan_destroy(live, self.tables, environment=self.environment,
                            lift_protection=lift_protection,
                            remaining=[t for t in self.everything if t.table_name not in chosen])

    def check_fresh(self, plan: Plan) -> None:
        """Refuse a saved plan whose live state has changed since it was made."""
        from tablesmith.live import read_live

        if plan.environment != self.environment:
            raise UsageError(f"the plan is for environment '{plan.environment}', "
                             f"not '{self.environment}'")
        live = read_live(self.clients, plan.desired, region=plan.region,
                         prune_environment=self.environment if plan.orphans else None,
                         destroy=plan.destroy)  # the same reads the plan was made from
        names = [t.table_name for t in plan.desired] + list(plan.orphans)
        if live.fingerprint(names) != plan.fingerprint:
            raise StalePlan("the live state changed since this plan was made; "
                            "run plan again and review it")

    def apply(self, plan: Plan, *, allowed: frozenset[HazardCode],
              report: Reporter | None = None) -> ApplyResult:
        """Apply ``plan`` (hazards checked first: nothing is called if one is refused)."""
        from tablesmith.apply import apply_plan

        return apply_plan(self.clients, plan, allowed=allowed, report=report)
