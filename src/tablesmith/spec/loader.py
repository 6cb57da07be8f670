"""Load spec files (YAML and the module's HCL) into a validated :class:`Spec`.

For each table and environment the settings are layered, later winning:

    module defaults (variables.tf)
    → the environment's built-in profile (dev / sit / prod, from the module README)   [YAML]
    → Environment tag = environment name                                             [YAML]
    → top-level ``defaults`` → ``environments.<env>.defaults``                         [YAML]
    → the table → ``tables.<name>.environments.<env>``                                 [YAML]
    → the module block as written                                                     [HCL]

HCL module blocks are taken as written (module defaults only), in the environment named by
their ``tags.Environment``; the environment's placement (region, name prefix) still applies.
Every problem of every table in every environment is collected before anything is raised.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from tablesmith.errors import Diagnostic, SpecError, UsageError
from tablesmith.spec.defaults import BUILTIN_ENVIRONMENTS, MODULE_DEFAULTS, environment_profile
from tablesmith.spec.limits import MAX_TABLE_ENVIRONMENTS, total_size_problem
from tablesmith.spec.model import Conventions, Environment, EnvironmentSettings, Table
from tablesmith.spec.patterns import HINT as PATTERN_HINT
from tablesmith.spec.patterns import name_pattern
from tablesmith.spec.regions import endpoint_problem, nearest, region_problem
from tablesmith.spec.resolve import _REGION, _report_validation_error, _Reporter, resolve_table
from tablesmith.spec.source import Layer, Merged, Origin, merge
from tablesmith.spec.yaml_source import load_yaml

YAML_SUFFIXES = (".yaml", ".yml")
HCL_SUFFIXES = (".tf", ".tfvars")
TABLE_ONLY_KEYS = ("only_in", "environments")


class _Document(BaseModel):
    """The top level of a YAML spec file."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    version: StrictInt = 1
    conventions: Conventions | None = None
    defaults: dict[StrictStr, Any] = Field(default_factory=dict)
    environments: dict[StrictStr, EnvironmentSettings | None] = Field(default_factory=dict)
    tables: dict[StrictStr, dict[StrictStr, Any]] = Field(default_factory=dict)


@dataclass
class _TableSource:
    """One table as found in the files: its layers, before environments are applied."""

    name: str
    name_origin: Origin
    base: Layer
    only_in: tuple[str, ...] | None = None  # None: every environment
    overrides: dict[str, Layer] = field(default_factory=dict)
    hcl_environment: str | None = None  # set for module blocks: their tags.Environment
    layer: Layer | None = None  # the YAML file's layer (to locate only_in and overrides)


@dataclass(frozen=True)
class Spec:
    """A loaded, valid spec: its environments and each environment's effective tables."""

    sources: tuple[str, ...]
    conventions: Conventions
    environments: dict[str, Environment]
    tables_by_env: dict[str, tuple[Table, ...]]
    diagnostics: tuple[Diagnostic, ...] = ()  # warnings only (errors raise SpecError)

    def environment(self, name: str) -> Environment:
        """The environment called ``name``; a UsageError with a hint when there is none."""
        env = self.environments.get(name)
        if env is None:
            close = difflib.get_close_matches(name, list(self.environments), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            known = ", ".join(sorted(self.environments))
            raise UsageError(f"unknown environment '{name}'{hint}; this spec has: {known}")
        return env

    def tables(self, env: str) -> tuple[Table, ...]:
        """The effective tables of environment ``env``, sorted by name."""
        self.environment(env)
        return self.tables_by_env.get(env, ())

    def table(self, env: str, name: str) -> Table:
        """One effective table by logical (or physical) name."""
        for table in self.tables(env):
            if name in (table.name, table.table_name):
                return table
        names = [t.name for t in self.tables(env)]
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise UsageError(f"no table '{name}' in environment '{env}'{hint}")

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        """Warnings found while loading."""
        return tuple(d for d in self.diagnostics if d.severity == "warning")


def spec_files(path: Path) -> list[Path]:
    """The spec files at ``path``: the file itself, or a directory's YAML and HCL files."""
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(
            p for p in path.iterdir()
            if p.is_file() and not p.name.startswith(".")
            and p.suffix in YAML_SUFFIXES + HCL_SUFFIXES)
        if not files:
            raise UsageError(f"no spec files (*.yaml, *.yml, *.tf, *.tfvars) in {path}")
        return files
    raise UsageError(f"no such file or directory: {path}")


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load(path: str | Path = ".", *, env: str | None = None, strict: bool = False) -> Spec:
    """Load and validate the spec at ``path`` (a file or a directory).

    ``env`` restricts validation to one environment; ``strict`` turns warnings into errors.
    Raises :class:`SpecError` with every problem found, or :class:`UsageError`.
    """
    loader = _Loader()
    files = spec_files(Path(path))
    too_much = total_size_problem(files, HCL_SUFFIXES, str(path))
    if too_much is not None:
        raise SpecError([too_much])
    for file in files:
        loader.read(file)
    return loader.build(env, strict)


class _Loader:
    def __init__(self) -> None:
        self.sources: list[str] = []
        self.problems: list[Diagnostic] = []
        self.docs: list[tuple[Layer, _Document]] = []
        self.tables: list[_TableSource] = []
        self.env_layers: dict[str, Layer] = {}  # environment -> the file layer declaring it
        self.bad_dr: set[str] = set()  # environments whose dr_region cannot take replicas

    # ------------------------------------------------------------------ reading

    def read(self, file: Path) -> None:
        name = _display(file)
        self.sources.append(name)
        if file.suffix in HCL_SUFFIXES:
            self._read_hcl(file, name)
        else:
            self._read_yaml(file, name)

    def _read_yaml(self, file: Path, name: str) -> None:
        layer, problems = load_yaml(file, name)
        self.problems += problems
        if layer is None:
            return
        report = _Reporter(Merged(layer.data, [layer]), layer.anchor or Origin(name, 1, ""))
        doc: _Document | None = None
        for _ in range(4):
            try:
                doc = _Document.model_validate(report.merged.data)
                break
            except ValidationError as exc:
                bad = []
                for error in exc.errors():
                    _report_validation_error(report, error, _Document)
                    bad.append(tuple(p for p in error["loc"] if p != "[key]"))
                # drop what is wrong and go on: the tables still get checked
                report.removed += bad
                report.merged = report.merged.without(bad)
        self.problems += report.found
        if doc is None:
            return
        if doc.version != 1:
            self.problems.append(Diagnostic(
                name, (layer.origin_of(("version",)) or Origin(name, 1, "")).line, "version",
                f"spec version {doc.version} is not supported", "this tablesmith reads version: 1"))
        self.docs.append((layer, doc))
        for env_name in doc.environments:
            self.env_layers[env_name] = layer
        for table_name, body in doc.tables.items():
            self._add_yaml_table(layer, table_name, body)

    def _add_yaml_table(self, layer: Layer, name: str, body: dict[str, Any]) -> None:
        origin = layer.origin_of(("tables", name)) or Origin("?", 0, f"tables.{name}")
        base = layer.sub("tables", name)
        base = Layer({k: v for k, v in body.items() if k not in TABLE_ONLY_KEYS},
                     base.origins, base.anchor)
        source = _TableSource(name=name, name_origin=origin, base=base, layer=layer)
        only_in = body.get("only_in")
        if only_in is not None:
            if isinstance(only_in, list) and all(isinstance(e, str) for e in only_in):
                source.only_in = tuple(only_in)
            else:
                self._problem(layer, ("tables", name, "only_in"),
                              "only_in must be a list of environment names")
        overrides = body.get("environments")
        if overrides is not None:
            if not isinstance(overrides, dict):
                self._problem(layer, ("tables", name, "environments"),
                              "environments must map environment names to settings")
            else:
                for env_name, settings in overrides.items():
                    if settings is None:
                        settings = {}
                    if not isinstance(settings, dict):
                        self._problem(layer, ("tables", name, "environments", env_name),
                                      "an environment override must be a mapping of settings")
                        continue
                    sub = layer.sub("tables", name, "environments", env_name)
                    source.overrides[env_name] = Layer(settings, sub.origins, sub.anchor)
        self.tables.append(source)

    def _read_hcl(self, file: Path, name: str) -> None:
        from tablesmith.spec.hcl_source import load_hcl  # python-hcl2 is slow to import

        blocks, problems = load_hcl(file, name)
        self.problems += problems
        for block in blocks:
            if {"table_name", "tags"} & block.dropped:
                continue  # an expression there was reported; nothing sound can follow
            if block.name is None:
                self.problems.append(Diagnostic(
                    block.name_origin.file, block.name_origin.line, "table_name",
                    "'table_name' is required"))
                continue
            if block.environment is None:
                where = block.layer.origin_of(("tags",)) or block.layer.anchor \
                    or block.name_origin
                self.problems.append(Diagnostic(
                    where.file, where.line, "tags.Environment",
                    "the module block has no tags.Environment, so its environment is unknown",
                    "add tags = { Environment = \"dev\", ... } (a mandatory tag of the module)"))
                continue
            self.tables.append(_TableSource(
                name=block.name, name_origin=block.name_origin, base=block.layer,
                only_in=(block.environment,), hcl_environment=block.environment))

    def _problem(self, layer: Layer, path: tuple[str | int, ...], message: str,
                 hint: str = "") -> None:
        origin = layer.origin_of(path) or layer.anchor or Origin("?", 0, "")
        self.problems.append(Diagnostic(origin.file, origin.line, origin.path, message, hint))

    # ------------------------------------------------------------------ building

    def _environments(self) -> tuple[dict[str, Environment], dict[str, list[Layer]]]:
        """Every environment (built-in, declared, or named by a module block)."""
        raw: dict[str, dict[str, Any]] = {name: {} for name in BUILTIN_ENVIRONMENTS}
        defaults: dict[str, list[Layer]] = {}
        for layer, doc in self.docs:
            for name, settings in doc.environments.items():
                raw.setdefault(name, {})
                if settings is None:
                    continue
                raw[name].update(settings.model_dump(exclude_unset=True, exclude={"defaults"}))
                if settings.defaults:
                    defaults.setdefault(name, []).append(
                        layer.sub("environments", name, "defaults"))
        for table in self.tables:
            if table.hcl_environment:
                raw.setdefault(table.hcl_environment, {})
        envs: dict[str, Environment] = {}
        for name, values in raw.items():
            env = Environment(name=name, **values)
            declared = self.env_layers.get(name)

            def problem(fname: str, message: str, hint: str = "", env_name: str = name,
                        at: Layer | None = declared) -> None:
                if at is None:
                    return
                o = at.origin_of(("environments", env_name, fname)) or Origin("?", 0, "")
                self.problems.append(Diagnostic(
                    o.file, o.line, f"environments.{env_name}.{fname}", message, hint))

            for fname in ("region", "dr_region"):
                value = getattr(env, fname)
                if not _REGION.fullmatch(value):
                    problem(fname, f"{value!r} is not an AWS region name", "e.g. af-south-1")
                    self.bad_dr.add(name)
                elif (unknown := region_problem(value)) is not None:
                    problem(fname, unknown, nearest(value))
                    self.bad_dr.add(name)
            if env.dr_region == env.region and name == "prod":  # only prod replicates there
                problem("dr_region", f"dr_region {env.dr_region} is the environment's own region",
                        "the DR region (where prod replicas go) must differ from region")
                self.bad_dr.add(name)
            clear = endpoint_problem(env.endpoint_url) if env.endpoint_url else None
            if clear and env.endpoint_url and env.endpoint_url.startswith(("http://", "https://")):
                problem("endpoint_url", clear, "use https://, or a loopback address "
                        "(127.0.0.1, localhost) for an emulator on this machine")
            if env.endpoint_url and not env.endpoint_url.startswith(("http://", "https://")):
                problem("endpoint_url", f"'{env.endpoint_url}' is not an http(s) URL",
                        "e.g. http://127.0.0.1:8000")
            envs[name] = env
        return envs, defaults

    def build(self, only_env: str | None, strict: bool) -> Spec:
        envs, env_defaults = self._environments()
        if only_env is not None and only_env not in envs:
            close = difflib.get_close_matches(only_env, list(envs), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise UsageError(f"unknown environment '{only_env}'{hint}; "
                             f"this spec has: {', '.join(sorted(envs))}")
        conventions = self._conventions()
        self._check_size(envs, only_env)
        top_defaults = [layer.sub("defaults") for layer, doc in self.docs if doc.defaults]
        self._check_env_names(envs)
        by_env: dict[str, list[Table]] = {name: [] for name in envs}
        seen: dict[tuple[str, str], Origin] = {}
        for source in self.tables:
            for env_name in sorted(envs):
                if source.only_in is not None and env_name not in source.only_in:
                    continue
                if only_env is not None and env_name != only_env:
                    continue
                env = envs[env_name]
                key = (env_name, env.physical_name(source.name))
                if key in seen:
                    first = seen[key]
                    o = source.name_origin
                    self.problems.append(Diagnostic(
                        o.file, o.line, o.path,
                        f"table '{source.name}' is defined twice in environment '{env_name}'",
                        f"first defined at {first.file}:{first.line}"))
                    continue
                seen[key] = source.name_origin
                layers = self._layers(source, env, top_defaults, env_defaults)
                resolution = resolve_table(merge(layers), name=source.name,
                                           name_origin=source.name_origin, env=env,
                                           conventions=conventions)
                self.problems += resolution.diagnostics
                if resolution.table is not None:
                    by_env[env_name].append(resolution.table)
        problems = sorted(set(self.problems))
        if strict:
            problems = [Diagnostic(d.file, d.line, d.path, d.message, d.hint, "error")
                        for d in problems]
        if any(d.severity == "error" for d in problems):
            raise SpecError(problems)
        return Spec(
            sources=tuple(self.sources),
            conventions=conventions,
            environments=envs,
            tables_by_env={k: tuple(sorted(v, key=lambda t: t.name)) for k, v in by_env.items()},
            diagnostics=tuple(problems),
        )

    def _layers(self, source: _TableSource, env: Environment, top_defaults: list[Layer],
                env_defaults: dict[str, list[Layer]]) -> list[Layer]:
        layers = [Layer(MODULE_DEFAULTS)]
        if source.hcl_environment is None:
            dr_region = None if env.name in self.bad_dr else env.dr_region
            layers.append(Layer(environment_profile(env.name, dr_region)))
            layers.append(Layer({"tags": {"Environment": env.name}}))
            layers += top_defaults
            layers += env_defaults.get(env.name, [])
        layers.append(source.base)
        override = source.overrides.get(env.name)
        if override is not None:
            layers.append(override)
        return layers

    def _check_size(self, envs: dict[str, Environment], only_env: str | None) -> None:
        """Refuse a spec that would take minutes: every table is resolved per environment."""
        pairs = sum(1 for source in self.tables for name in envs
                    if (source.only_in is None or name in source.only_in)
                    and only_env in (None, name))
        if pairs > MAX_TABLE_ENVIRONMENTS:
            where = self.sources[0] if len(self.sources) == 1 else "(spec)"
            raise SpecError([*self.problems, Diagnostic(
                where, 0, "tables",
                f"{pairs:,} tables across environments to validate; tablesmith validates at "
                f"most {MAX_TABLE_ENVIRONMENTS:,} at once",
                "validate one environment at a time (--env), or split the spec into several "
                "directories")])

    def _conventions(self) -> Conventions:
        found = [(layer, doc.conventions) for layer, doc in self.docs
                 if doc.conventions is not None]
        layer, conventions = found[-1] if found else (None, Conventions())
        # the naming pattern is checked here, once, at the line it is written on (it runs on
        # RE2, in linear time: spec/patterns.py)
        at = ("conventions", "table_name_pattern")
        pattern = name_pattern(conventions.table_name_pattern)
        if pattern.problem is not None and layer is not None:
            self._problem(layer, at, pattern.problem, PATTERN_HINT)
        return conventions

    def _check_env_names(self, envs: dict[str, Environment]) -> None:
        """Environment names used by tables must exist (a typo would silently skip a table)."""
        known = list(envs)
        for source in self.tables:
            if source.hcl_environment is not None:
                continue
            names = [(n, "only_in") for n in source.only_in or ()]
            names += [(n, "environments") for n in source.overrides]
            for env_name, where in names:
                if env_name in envs:
                    continue
                close = difflib.get_close_matches(env_name, known, n=1)
                hint = f"did you mean '{close[0]}'?" if close else \
                    f"declare it under environments: (known: {', '.join(sorted(known))})"
                override = source.overrides.get(env_name)
                at = ("tables", source.name, "only_in")
                origin = override.anchor if override is not None and where == "environments" \
                    else (source.layer.origin_of(at) if source.layer else None)
                origin = origin or source.name_origin
                self.problems.append(Diagnostic(
                    origin.file, origin.line, origin.path,
                    f"unknown environment '{env_name}'", hint))
