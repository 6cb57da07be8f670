"""The ``tablesmith`` command line: a thin layer over the library.

Exit codes: 0 success (for ``plan --detailed-exitcode``: no changes), 1 error or invalid
spec, 2 changes present (``plan --detailed-exitcode`` only). Heavy modules (pydantic,
boto3, rich) are imported inside the commands so that ``--help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from tablesmith.errors import Diagnostic

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _State:
    debug = False


def _fail(message: str, code: int = 1) -> NoReturn:
    click.secho(f"Error: {message}", fg="red", err=True)
    sys.exit(code)


def _guard(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn tablesmith's errors into ``Error: …`` and exit 1 (traceback with --debug)."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from tablesmith.errors import SpecError, TablesmithError

        try:
            return func(*args, **kwargs)
        except SpecError as exc:
            if _State.debug:
                raise
            _print_diagnostics(exc.diagnostics)
            _fail(str(exc))
        except TablesmithError as exc:
            if _State.debug:
                raise
            _fail(str(exc))

    return wrapper


def _print_diagnostics(diagnostics: Sequence[Diagnostic]) -> None:
    for d in diagnostics:
        colour = "red" if d.severity == "error" else "yellow"
        where = f"{d.file}:{d.line}" if d.line else d.file
        click.echo(f"{where}: " + click.style(d.severity, fg=colour, bold=True)
                   + f": {d.path}: {d.message}", err=True)
        if d.hint:
            click.echo(f"    hint: {d.hint}", err=True)


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="tablesmith")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for errors.")
def cli(debug: bool) -> None:
    """Manage DynamoDB tables declaratively, with enterprise guardrails.

    A spec (YAML, or the dynamodb_table Terraform module's HCL blocks) describes each table
    once; environments (dev, sit, prod, or your own) say where it deploys and how it differs.

    \b
    Typical workflow:
      tablesmith validate specs/                 # every problem, before AWS is touched
      tablesmith show specs/ --env prod          # the effective, fully-defaulted tables
    """
    _State.debug = debug


path_argument = click.argument(
    "path", default=".", type=click.Path(exists=True, dir_okay=True, file_okay=True))


@cli.command(context_settings=CONTEXT)
@path_argument
@click.option("--env", "env", metavar="ENV", help="Check only this environment (default: all).")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@_guard
def validate(path: str, env: str | None, strict: bool, as_json: bool) -> None:
    """Check a spec without touching AWS; report every problem at once.

    PATH is a spec file or a directory of *.yaml / *.yml / *.tf / *.tfvars files
    (default: the current directory). Exits 0 when valid, 1 when not.

    \b
    Examples:
      tablesmith validate examples/
      tablesmith validate examples/terraform --strict --json
    """
    from tablesmith.errors import SpecError
    from tablesmith.spec.loader import load

    try:
        spec = load(path, env=env, strict=strict)
    except SpecError as exc:
        if as_json:
            click.echo(json.dumps({"valid": False,
                                   "diagnostics": [d.as_dict() for d in exc.diagnostics]},
                                  indent=2))
            sys.exit(1)
        raise
    envs = [env] if env else sorted(spec.tables_by_env)
    count = sum(len(spec.tables(e)) for e in envs)
    if as_json:
        click.echo(json.dumps({
            "valid": True,
            "environments": {e: [t.name for t in spec.tables(e)] for e in envs},
            "diagnostics": [d.as_dict() for d in spec.diagnostics],
        }, indent=2))
        return
    _print_diagnostics(spec.diagnostics)
    click.secho(f"Valid: {count} table(s) in {len(envs)} environment(s) "
                f"({', '.join(envs)}), {len(spec.warnings)} warning(s).", fg="green")


@cli.command(context_settings=CONTEXT)
@path_argument
@click.option("--env", "env", metavar="ENV", required=True, help="Environment to show.")
@click.option("--table", "tables", metavar="NAME", multiple=True,
              help="Only this table (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the effective spec as JSON.")
@_guard
def show(path: str, env: str, tables: tuple[str, ...], as_json: bool) -> None:
    """Print the effective spec of each table in an environment.

    Everything is resolved: module defaults, the environment's settings, overrides, the
    derived attribute definitions and the physical table names.

    \b
    Examples:
      tablesmith show examples/ --env prod
      tablesmith show examples/terraform --env dev --json
    """
    from tablesmith.render.spec import render_spec_json, render_spec_text
    from tablesmith.spec.loader import load

    spec = load(path, env=env)
    selected = [spec.table(env, t) for t in tables] if tables else list(spec.tables(env))
    if as_json:
        click.echo(json.dumps(render_spec_json(spec.environment(env), selected), indent=2))
    else:
        render_spec_text(spec.environment(env), selected)
        _print_diagnostics(spec.diagnostics)


def main() -> None:
    """Console entry point."""
    cli(prog_name="tablesmith")


if __name__ == "__main__":  # pragma: no cover
    main()
