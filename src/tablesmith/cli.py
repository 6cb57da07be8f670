"""The ``tablesmith`` command line: a thin layer over the library.

Exit codes: 0 success (for ``plan --detailed-exitcode``: no changes), 1 error or invalid
spec, 2 changes present (``plan --detailed-exitcode`` only). Heavy modules (pydantic,
boto3, rich) are imported inside the commands so that ``--help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

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
            _fail(exc.summary)
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
    Examples (the typical workflow):
      tablesmith validate specs/                 # every problem, before AWS is touched
      tablesmith show specs/ --env prod          # the effective, fully-defaulted tables
      tablesmith plan specs/ --env prod          # what would change, and its hazards
      tablesmith apply specs/ --env prod         # do it, in the order AWS requires
      tablesmith destroy specs/ --env dev --allow-hazards DELETES_DATA

    Exit codes: 0 success, 1 error or invalid spec, 2 changes (plan --detailed-exitcode).
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


def aws_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options of every command that reaches AWS."""
    options = [
        click.option("--env", "env", metavar="ENV", required=True,
                     help="Environment to work on (dev, sit, prod, or one the spec declares)."),
        click.option("--table", "tables", metavar="NAME", multiple=True,
                     help="Only this table (repeatable)."),
        click.option("--profile", metavar="NAME", help="AWS profile (default: the spec's, "
                     "then the standard credential chain)."),
        click.option("--region", metavar="REGION",
                     help="AWS region (default: the environment's, af-south-1)."),
        click.option("--endpoint-url", metavar="URL", envvar="AWS_ENDPOINT_URL",
                     help="Send AWS calls to this endpoint (moto, DynamoDB Local, …); "
                     "also read from AWS_ENDPOINT_URL."),
        click.option("--local", is_flag=True,
                     help="Use the embedded local target (no AWS account needed), whatever "
                     "the spec says."),
        click.option("--state-dir", metavar="DIR", type=click.Path(file_okay=False),
                     help="State of the local target (default: .tablesmith/local next to "
                     "the spec)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@contextmanager
def _session(path: str, env: str, tables: tuple[str, ...], profile: str | None,
             region: str | None, endpoint_url: str | None, local: bool,
             state_dir: str | None) -> Iterator[Any]:
    """Load the spec and bind the environment to its target (starting the local one)."""
    from tablesmith.engine import Session
    from tablesmith.spec.loader import load

    spec = load(path, env=env)
    environment = spec.environment(env)
    with _target(path, local or (environment.target == "local" and not endpoint_url),
                 state_dir) as local_endpoint:
        yield Session.for_environment(
            spec, env, region=region, profile=profile, tables=tables,
            endpoint_url=local_endpoint or endpoint_url, local=bool(local_endpoint))


@contextmanager
def _target(path: str, local: bool, state_dir: str | None) -> Iterator[str | None]:
    """The embedded local target's endpoint while the command runs (None: not local)."""
    if not local:
        yield None
        return
    from pathlib import Path

    from tablesmith.local.server import LocalTarget
    from tablesmith.local.store import state_dir_for

    directory = state_dir_for(Path(path), Path(state_dir) if state_dir else None)
    with LocalTarget(directory) as endpoint:
        click.echo(click.style(f"local target: {endpoint} (state: {directory})",
                               fg="bright_black"), err=True)
        yield endpoint


def _allowed(text: str) -> Any:
    from tablesmith.hazards import parse_codes

    try:
        return parse_codes(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--allow-hazards") from exc


def _progress(table: str, message: str) -> None:
    import time

    click.echo(click.style(time.strftime("%H:%M:%S"), fg="bright_black")
               + f" {click.style(table, fg='cyan')}: {message}", err=True)


def _is_planfile(path: str) -> bool:
    from pathlib import Path

    from tablesmith.spec.loader import HCL_SUFFIXES, YAML_SUFFIXES

    p = Path(path)
    return p.is_file() and p.suffix not in YAML_SUFFIXES + HCL_SUFFIXES


@cli.command(context_settings=CONTEXT)
@path_argument
@aws_options
@click.option("--out", "out", metavar="FILE", type=click.Path(dir_okay=False),
              help="Save the plan for `tablesmith apply FILE`.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON (stable format).")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 0 when there are no changes, 2 when there are, 1 on error.")
@click.option("--prune", is_flag=True,
              help="Also plan to delete tables this environment owns that left the spec "
              "(they are looked for only with --prune; not with --table).")
@click.option("--lift-deletion-protection", is_flag=True,
              help="With --prune: lift protection of pruned tables (still needs "
              "--allow-hazards at apply).")
@_guard
def plan(path: str, env: str, tables: tuple[str, ...], profile: str | None, region: str | None,
         endpoint_url: str | None, local: bool, state_dir: str | None, out: str | None,
         as_json: bool, detailed_exitcode: bool, prune: bool,
         lift_deletion_protection: bool) -> None:
    """Show what apply would change, and what each change risks.

    Reads the live state of every table of the environment and diffs it with the spec.
    Each operation is listed with its hazards (REPLACES_TABLE, DELETES_DATA, INDEX_BACKFILL,
    DISABLES_RECOVERY, STREAM_ARN_CHANGES, …); blocking hazards must be allowed at apply.

    \b
    Examples:
      tablesmith plan examples/ --env dev
      tablesmith plan examples/ --env prod --out prod.plan --detailed-exitcode
      AWS_ENDPOINT_URL=http://127.0.0.1:8000 tablesmith plan specs/ --env dev --json
    """
    from pathlib import Path

    from tablesmith.render.plan import render_plan_json, render_plan_text

    with _session(path, env, tables, profile, region, endpoint_url, local,
                  state_dir) as session:
        result = session.plan(prune=prune, lift_protection=lift_deletion_protection)
    if out:
        Path(out).write_text(result.to_json(), encoding="utf-8")
    if as_json:
        click.echo(json.dumps(render_plan_json(result), indent=2))
    else:
        render_plan_text(result)
        if out:
            click.echo(f"Saved the plan to {out}: apply it with `tablesmith apply {out} "
                       f"--env {env}`.")
    if detailed_exitcode and result.has_changes:
        sys.exit(2)


def _confirm(auto_approve: bool, verb: str) -> None:
    if auto_approve:
        return
    if not sys.stdin.isatty():
        _fail(f"{verb} needs confirmation and there is no terminal to ask: "
              "pass --auto-approve")
    answer = click.prompt(f"Do you want to {verb}? Only 'yes' will be accepted",
                          default="", show_default=False)
    if answer != "yes":
        _fail(f"{verb} cancelled.")


def _print_result_json(session: Any, done: list[Any]) -> None:
    """One shape for every apply/destroy result."""
    click.echo(json.dumps({
        "applied": len(done),
        "operations": [{"op": op.op, "table": op.table, "region": op.region} for op in done],
        "aws_calls": session.clients.total_calls,
    }, indent=2))


def _apply_and_report(session: Any, plan: Any, allowed: Any, as_json: bool) -> None:
    from tablesmith.apply import check_hazards

    check_hazards(plan, allowed)
    result = session.apply(plan, allowed=allowed, report=None if as_json else _progress)
    if as_json:
        _print_result_json(session, result.done)
    else:
        click.secho(f"Apply complete: {len(result.done)} operation(s).", fg="green", bold=True)


@cli.command(context_settings=CONTEXT)
@click.argument("path", default=".", type=click.Path(exists=True))
@aws_options
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option("--allow-hazards", "allow", default="", metavar="CODE,...",
              help="Allow these blocking hazards (e.g. DELETES_DATA,REPLACES_TABLE).")
@click.option("--prune", is_flag=True, help="Also delete owned tables that left the spec.")
@click.option("--lift-deletion-protection", is_flag=True,
              help="With --prune: lift protection of pruned tables.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@_guard
def apply(path: str, env: str, tables: tuple[str, ...], profile: str | None,
          region: str | None, endpoint_url: str | None, local: bool, state_dir: str | None,
          auto_approve: bool, allow: str, prune: bool, lift_deletion_protection: bool,
          as_json: bool) -> None:
    """Make AWS match the spec (or apply a saved plan).

    PATH is a spec file or directory, or a plan saved by `plan --out`. Operations run in
    the order AWS requires (one GSI change per UpdateTable, waiting for each; replicas one at
    a time, then their own tags, protection and PITR), tables in parallel. A saved plan is
    refused if the live state changed since it was made. Blocking hazards are refused unless
    named in --allow-hazards; then nothing is called.

    \b
    Examples:
      tablesmith apply examples/ --env dev --auto-approve
      tablesmith apply prod.plan --env prod
      tablesmith apply specs/ --env dev --allow-hazards DELETES_DATA --auto-approve
    """
    allowed = _allowed(allow)
    if _is_planfile(path):
        _apply_saved(path, env, profile, region, endpoint_url, local, state_dir, allowed,
                     auto_approve, as_json)
        return
    with _session(path, env, tables, profile, region, endpoint_url, local,
                  state_dir) as session:
        result_plan = session.plan(prune=prune, lift_protection=lift_deletion_protection)
        _review_and_apply(session, result_plan, allowed, auto_approve, as_json,
                          "apply these changes")


def _apply_saved(path: str, env: str, profile: str | None, region: str | None,
                 endpoint_url: str | None, local: bool, state_dir: str | None, allowed: Any,
                 auto_approve: bool, as_json: bool) -> None:
    """`apply PLANFILE`: refuse a stale plan, then apply exactly what was saved."""
    from pathlib import Path

    from tablesmith.aws import Clients
    from tablesmith.engine import Session, resolve_target
    from tablesmith.plan import Plan
    from tablesmith.spec.model import Environment

    try:
        saved = Plan.from_json(Path(path).read_text(encoding="utf-8"))
    except ValueError as exc:
        _fail(f"{path} is not a plan saved by `tablesmith plan --out`: {exc}")
    with _target(path, local, state_dir) as local_endpoint:
        target = resolve_target(Environment(name=env, region=saved.region), region=region,
                                profile=profile, endpoint_url=local_endpoint or endpoint_url,
                                local=bool(local_endpoint))
        session = Session(environment=env, tables=saved.desired, clients=Clients(target),
                          known=tuple(t.table_name for t in saved.desired))
        session.check_fresh(saved)
        _review_and_apply(session, saved, allowed, auto_approve, as_json, "apply this plan")


def _review_and_apply(session: Any, plan: Any, allowed: Any, auto_approve: bool,
                      as_json: bool, question: str) -> None:
    """Show the plan, refuse unallowed hazards, confirm, apply, report."""
    from tablesmith.apply import check_hazards
    from tablesmith.render.plan import render_plan_text

    if not plan.has_changes:
        if as_json:
            _print_result_json(session, [])
        else:
            click.secho("No changes. AWS matches the spec." if not plan.destroy
                        else "Nothing to destroy.", fg="green", bold=True)
        return
    if not as_json:
        render_plan_text(plan)
    check_hazards(plan, allowed)
    _confirm(auto_approve, question)
    _apply_and_report(session, plan, allowed, as_json)


@cli.command(context_settings=CONTEXT)
@path_argument
@aws_options
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option("--allow-hazards", "allow", default="", metavar="CODE,...",
              help="Must include DELETES_DATA: destroying tables deletes their data.")
@click.option("--lift-deletion-protection", is_flag=True,
              help="Turn deletion protection off first on protected tables and replicas.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@_guard
def destroy(path: str, env: str, tables: tuple[str, ...], profile: str | None,
            region: str | None, endpoint_url: str | None, local: bool, state_dir: str | None,
            auto_approve: bool, allow: str, lift_deletion_protection: bool,
            as_json: bool) -> None:
    """Delete the tables the spec manages in an environment, replicas first.

    Tables not in the spec are never touched. Deletion protection is honoured: a protected
    table is refused unless you pass both --lift-deletion-protection and
    --allow-hazards DELETES_DATA.

    \b
    Example:
      tablesmith destroy examples/ --env dev --allow-hazards DELETES_DATA --auto-approve
    """

    allowed = _allowed(allow)
    with _session(path, env, tables, profile, region, endpoint_url, local,
                  state_dir) as session:
        result_plan = session.plan_destroy(lift_protection=lift_deletion_protection)
        _review_and_apply(session, result_plan, allowed, auto_approve, as_json,
                          "destroy these tables")


@cli.command(context_settings=CONTEXT)
@path_argument
@aws_options
@click.option("--json", "as_json", is_flag=True, help="Print the outputs as JSON.")
@_guard
def output(path: str, env: str, tables: tuple[str, ...], profile: str | None,
           region: str | None, endpoint_url: str | None, local: bool, state_dir: str | None,
           as_json: bool) -> None:
    """Print every output of the module for each table, read from live state.

    table_name, table_id, table_arn, table_stream_arn, table_stream_label,
    global_secondary_indexes, gsi_arns, backup_plan_id, backup_vault_name, backup_vault_arn,
    replica_table_arn, replica_region, replica_backup_vault_arn, user_errors_alarm_arn,
    system_errors_alarm_arn, throttled_requests_alarm_arn, table_info — null where a feature
    is off, as the module does — plus replica_table_arns, replica_backup_vault_arns and
    alarm_arns.

    \b
    Examples:
      tablesmith output examples/ --env prod --local
      tablesmith output examples/ --env dev --table tenants --json
    """
    from tablesmith.outputs import environment_outputs

    with _session(path, env, tables, profile, region, endpoint_url, local,
                  state_dir) as session:
        values = environment_outputs(session.tables, session.read())
    if as_json:
        click.echo(json.dumps(values, indent=2, sort_keys=True))
        return
    for name, outputs in values.items():
        click.echo(click.style(f"{name}", bold=True, fg="cyan"))
        if not outputs.get("exists"):
            click.echo("  (not created yet: run apply)")
            continue
        for key, value in outputs.items():
            if key == "exists":
                continue
            shown = json.dumps(value) if isinstance(value, (dict, list)) else value
            click.echo(f"  {key} = {'null' if value is None else shown}")


@cli.group(context_settings=CONTEXT)
def export() -> None:
    """Render an environment as Terraform or CloudFormation (the spec stays the source).

    Both exports come from the same effective spec that plan/apply use, and are
    deterministic: the same spec gives byte-identical files.

    \b
    Examples:
      tablesmith export terraform examples/ --env prod -o build/terraform
      tablesmith export cloudformation examples/ --env prod -o build/cfn
    """


_EXPORT_PATTERNS = {"terraform": ("*.tf.json",),
                    "cloudformation": ("*.template.json", "README.md")}


def _export(kind: str, path: str, env: str, out: str) -> None:
    from pathlib import Path

    from tablesmith.spec.loader import load

    spec = load(path, env=env)
    tables = spec.tables(env)
    if not tables:
        _fail(f"environment '{env}' has no tables to export")
    if kind == "terraform":
        from tablesmith.export.terraform import render_terraform as render
    else:
        from tablesmith.export.cloudformation import render_cloudformation as render
    files = render(spec.environment(env), tables)
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    # files of an earlier export go: a table removed from the spec must not linger
    for pattern in _EXPORT_PATTERNS[kind]:
        for old in target.glob(pattern):
            if old.name not in files:
                old.unlink()
    for name, text in sorted(files.items()):
        (target / name).write_text(text, encoding="utf-8")
        click.echo(f"wrote {target / name}")


@export.command("terraform", context_settings=CONTEXT)
@path_argument
@click.option("--env", "env", metavar="ENV", required=True, help="Environment to export.")
@click.option("-o", "--out", "out", metavar="DIR", required=True, help="Output directory.")
@_guard
def export_terraform(path: str, env: str, out: str) -> None:
    """Terraform JSON (*.tf.json): tables with replicas, AWS Backup, IAM, alarms, outputs.

    Provider aliases are declared for every replica region; outputs keep the module's names,
    as maps keyed by table.

    \b
    Example:
      tablesmith export terraform examples/ --env prod -o build/terraform
      cd build/terraform && terraform init && terraform plan
    """
    _export("terraform", path, env, out)


@export.command("cloudformation", context_settings=CONTEXT)
@path_argument
@click.option("--env", "env", metavar="ENV", required=True, help="Environment to export.")
@click.option("-o", "--out", "out", metavar="DIR", required=True, help="Output directory.")
@_guard
def export_cloudformation(path: str, env: str, out: str) -> None:
    """CloudFormation templates: the main stack, one DR stack per replica region, README.

    Replicated tables become AWS::DynamoDB::GlobalTable (with the stack's own region among
    the replicas); the README gives the deployment order and the cross-region references.

    \b
    Example:
      tablesmith export cloudformation examples/ --env prod -o build/cfn
    """
    _export("cloudformation", path, env, out)


@cli.group(context_settings=CONTEXT)
def local() -> None:
    """The embedded local target: every AWS call on this machine, kept between runs.

    Any command that reaches AWS takes --local (or an environment with `target: local`):
    tablesmith then starts a moto server in-process on 127.0.0.1, with what moto lacks
    (global-table replicas, AWS Backup selections, …), and keeps its state in
    .tablesmith/local next to the spec (--state-dir to choose).

    \b
    Examples:
      tablesmith apply examples/ --env dev --local --auto-approve
      tablesmith local serve examples/ --port 4567     # for your application
      tablesmith local reset examples/
    """


@local.command(context_settings=CONTEXT)
@click.argument("path", default=".", type=click.Path(exists=True))
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default="a free port",
              help="Port on 127.0.0.1 to serve on.")
@click.option("--state-dir", metavar="DIR", type=click.Path(file_okay=False),
              help="State directory (default: .tablesmith/local next to the spec).")
@_guard
def serve(path: str, port: int, state_dir: str | None) -> None:
    """Serve the local target for applications until Ctrl-C (state is kept).

    While it runs, `--local` commands on the same state use this server. Items your
    application writes are saved like the rest (every second, and on Ctrl-C / SIGTERM).

    \b
    Example:
      tablesmith local serve examples/ --port 4567
    """
    import signal
    import threading
    from pathlib import Path

    from tablesmith.local.server import LOCAL_KEY, LocalTarget
    from tablesmith.local.store import state_dir_for

    directory = state_dir_for(Path(path), Path(state_dir) if state_dir else None)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    server = LocalTarget(directory, port)
    with server as endpoint:
        if server.owner_pid is not None:
            _fail(f"the local state in {directory} is already served at {endpoint} "
                  f"(pid {server.owner_pid})")
        click.echo(f"tablesmith local target serving at {endpoint} (state: {directory})")
        click.echo("Use it from your application, for example:")
        click.echo(f"  boto3.client('dynamodb', endpoint_url='{endpoint}', "
                   f"region_name='af-south-1', aws_access_key_id='{LOCAL_KEY}', "
                   f"aws_secret_access_key='{LOCAL_KEY}')")
        click.echo(f"  AWS_ACCESS_KEY_ID={LOCAL_KEY} AWS_SECRET_ACCESS_KEY={LOCAL_KEY} "
                   f"aws dynamodb list-tables --endpoint-url {endpoint} --region af-south-1")
        click.echo("Press Ctrl-C to save and stop.", err=True)
        sys.stdout.flush()
        server.autosave()
        while not stop.wait(0.5):
            pass
    click.echo("Saved and stopped.", err=True)


@local.command(context_settings=CONTEXT)
@click.argument("path", default=".", type=click.Path(exists=True))
@click.option("--state-dir", metavar="DIR", type=click.Path(file_okay=False),
              help="State directory (default: .tablesmith/local next to the spec).")
@_guard
def reset(path: str, state_dir: str | None) -> None:
    """Forget everything the local target holds (tables, items, backups, alarms).

    \b
    Example:
      tablesmith local reset examples/
    """
    from pathlib import Path

    from tablesmith.local.store import StateStore, state_dir_for

    directory = state_dir_for(Path(path), Path(state_dir) if state_dir else None)
    StateStore(directory).reset()
    click.echo(f"Local state in {directory} reset.")


def main() -> None:
    """Console entry point. Usage errors exit 1, not click's 2: 2 means "changes" here."""
    try:
        code = cli.main(prog_name="tablesmith", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
