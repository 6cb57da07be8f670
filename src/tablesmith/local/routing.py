"""moto's REST routing without werkzeug's URL builders, which it never uses.

moto routes each REST request (AWS Backup's, among tablesmith's services) through a
werkzeug ``Map`` of ``moto.core.routing.SmithyRule``, made on the service's first request.
werkzeug compiles every rule twice over for ``Map.build`` (URL building: it generates the
source of two functions per rule and compiles them) although moto only matches: for
Backup's 129 rules that was 25-30 ms of the helper's first Backup request, 0.035 s in all,
while a ``--local`` command waited for its reads. Here a rule compiles its builders on the
first ``build`` instead, with werkzeug's own code, so that what a build returns is unchanged.
"""

from __future__ import annotations

from typing import Any

_MARK = "_tablesmith_lazy"


def install() -> None:
    """Make ``SmithyRule`` compile its URL builders when first used (idempotent)."""
    from moto.core.routing import SmithyRule

    eager = SmithyRule._compile_builder
    if getattr(eager, _MARK, False):
        return

    def lazy_builder(rule: Any, append_unknown: bool = True) -> Any:
        attribute = "_build_unknown" if append_unknown else "_build"

        def build(bound: Any, *args: Any, **kwargs: Any) -> Any:
            compiled = eager(bound, append_unknown).__get__(bound, None)
            setattr(bound, attribute, compiled)  # compiled once: the next build calls it
            return compiled(*args, **kwargs)

        return build

    setattr(lazy_builder, _MARK, True)
    SmithyRule._compile_builder = lazy_builder  # type: ignore[method-assign,assignment]
