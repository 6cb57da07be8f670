"""The ``tablesmith`` command line: a thin layer over the library.

Exit codes: 0 success (for ``plan --detailed-exitcode``: no changes), 1 error or invalid
spec, 2 changes present (``plan --detailed-exitcode`` only), 3 findings (``audit
--fail-on``), 130 an apply stopped by Ctrl-C / SIGTERM. Heavy modules (pydantic, boto3,
rich) are imported inside the commands so that ``--help`` stays fast.
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
    from tablesmith.local.helper import HelperTarget
    from tablesmith.local.server import LocalTarget

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
            _json_error(func, kwargs, exc, exc.summary)
            _print_diagnostics(exc.diagnostics)
            _fail(exc.summary)
        except TablesmithError as exc:
            if _State.debug:
                raise
            _json_error(func, kwargs, exc, str(exc))
            _fail(str(exc))

    return wrapper


_JSON_RESULTS = ("apply", "destroy")  # commands whose --json result is always printed


def _json_error(func: Callable[..., Any], kwargs: dict[str, Any], exc: Any,
                message: str) -> None:
    """A pipeline reading ``apply --json`` gets a result whatever happened."""
    if kwargs.get("as_json") and func.__name__ in _JSON_RESULTS and not exc.json_reported:
        _print_result_json(None, [], status="error", error=message)


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
      tablesmith audit --profile shop-prod --fail-on error   # every table of the account

    Exit codes: 0 success, 1 error or invalid spec, 2 changes (plan --detailed-exitcode),
    3 findings (audit --fail-on), 130 apply stopped by Ctrl-C / SIGTERM. Colours follow the
    terminal, and are off with NO_COLOR set or TERM=dumb.
    """
    import os

    _State.debug = debug
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        click.get_current_context().color = False  # https://no-color.org


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
        click.option("--env", "env", metavar="ENV",
                     help="Environment to work on (dev, sit, prod, or one the spec declares); "
                     "required, except for `apply PLANFILE`, which knows its own."),
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
                     help="State of the local target (default: .tablesmith/local/ENV next "
                     "to the spec: one per environment)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@contextmanager
def _session(path: str, env: str | None, tables: tuple[str, ...], profile: str | None,
             region: str | None, endpoint_url: str | None, local: bool,
             state_dir: str | None) -> Iterator[Any]:
    """Load the spec and bind the environment to its target (starting the local one)."""
    from tablesmith.errors import UsageError

    if not env:
        raise UsageError("--env ENV is required: the environment to work on")
    # --local: the local target starts loading its state while this process imports the
    # engine and loads the spec
    early = _local_target(path, state_dir, env).start() if local else None
    try:
        from tablesmith.engine import Session
        from tablesmith.spec.loader import load

        spec = load(path, env=env)
        environment = spec.environment(env)
        if early is not None:  # the rest of the engine, while the local target starts
            import tablesmith.diff  # noqa: F401
        with _target(path, local or (environment.target == "local" and not endpoint_url),
                     state_dir, env, early) as (local_endpoint, directory):
            yield Session.for_environment(
                spec, env, region=region, profile=profile, tables=tables,
                endpoint_url=local_endpoint or endpoint_url, local=bool(local_endpoint),
                state_dir=directory)
    finally:
        if early is not None:
            early.close(failed=True)  # not entered (the spec failed): stop it unheard


@contextmanager
def _target(path: str | None, local: bool, state_dir: str | None,
            env: str | None = None, started: HelperTarget | LocalTarget | None = None,
            ) -> Iterator[tuple[str | None, str | None]]:
    """The embedded local target's endpoint and state directory while the command runs
    ((None, None): not local). ``started``: the target ``_local_target`` already started."""
    _done_starting()
    if not local:
        yield None, None
        return
    target = started if started is not None else _local_target(path, state_dir, env).start()
    from tablesmith.aws import preload

    preload()  # while the local target starts (in its helper process, on the other core)
    with target as endpoint:
        click.echo(click.style(f"local target: {endpoint} (state: {target.state_dir})",
                               fg="bright_black"), err=True)
        yield endpoint, str(target.state_dir)


def _done_starting() -> None:
    """The command turns to its target: what it has made so far (the engine's modules, the
    spec) lives until it exits, so the cyclic collector stops scanning it. Its full passes
    over those objects took 75 ms of a 0.3 s no-change plan's reads of examples/."""
    import gc

    gc.freeze()


def _local_target(path: str | None, state_dir: str | None,
                  env: str | None) -> HelperTarget | LocalTarget:
    """The local target of this spec and environment (``tablesmith.local.helper``): served
    by a helper process on the other core, unless TABLESMITH_LOCAL_IN_PROCESS=1."""
    from pathlib import Path

    from tablesmith.local.helper import local_target
    from tablesmith.local.store import state_dir_for

    return local_target(state_dir_for(Path(path) if path else None,
                                      Path(state_dir) if state_dir else None, env).resolve())


def _allowed(text: str) -> Any:
    if not text.strip():
        return frozenset()  # nothing to parse: no need to import the hazard models
    from tablesmith.hazards import parse_codes

    try:
        return parse_codes(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--allow-hazards") from exc


def _progress(table: str, message: str) -> None:
    import time

    click.echo(click.style(time.strftime("%H:%M:%S"), fg="bright_black")
               + f" {click.style(table, fg='cyan')}: {message}", err=True)


def _terraform_state_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--terraform-state", metavar="PATH", type=click.Path(exists=True, dir_okay=False),
        help="A Terraform state (`terraform show -json` output or terraform.tfstate) that may "
        "still hold these tables: the plan names the `removed` block to hand each over.")(func)


def _held_by_terraform(plan: Any, terraform_state: str | None) -> Any:
    """``plan`` with a notice per table the state file still holds (``tablesmith.handover``)."""
    if not terraform_state:
        return plan
    from pathlib import Path

    from tablesmith.handover import state_notices
    from tablesmith.importer.terraform import held_tables

    return state_notices(plan, held_tables(Path(terraform_state)))


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
              "(every plan names them; only --prune deletes them; not with --table).")
@click.option("--lift-deletion-protection", is_flag=True,
              help="With --prune: lift protection of pruned tables (still needs "
              "--allow-hazards at apply).")
@click.option("--allow-hazards", "allow", default="", metavar="CODE,...",
              help="With --out: record that these blocking hazards are approved. `apply "
              "FILE` honours the record only for a plan signed with TABLESMITH_PLAN_KEY.")
@_terraform_state_option
@_guard
def plan(path: str, env: str | None, tables: tuple[str, ...], profile: str | None,
         region: str | None, endpoint_url: str | None, local: bool, state_dir: str | None,
         out: str | None, as_json: bool, detailed_exitcode: bool, prune: bool,
         lift_deletion_protection: bool, allow: str, terraform_state: str | None) -> None:
    """Show what apply would change, and what each change risks.

    Reads the live state of every table of the environment and diffs it with the spec.
    Each operation is listed with its hazards (REPLACES_TABLE, DELETES_DATA, INDEX_BACKFILL,
    DISABLES_RECOVERY, STREAM_ARN_CHANGES, …); blocking hazards must be allowed at apply.

    \b
    Examples:
      tablesmith plan examples/ --env dev
      tablesmith plan examples/ --env prod --out prod.plan --detailed-exitcode
      tablesmith plan specs/ --env prod --terraform-state terraform.tfstate
      AWS_ENDPOINT_URL=http://127.0.0.1:8000 tablesmith plan specs/ --env dev --json
    """
    from pathlib import Path

    approved = _allowed(allow)
    if approved and not out:
        raise click.UsageError("--allow-hazards records approvals in a saved plan: add --out")
    with _session(path, env, tables, profile, region, endpoint_url, local,
                  state_dir) as session:
        result = _held_by_terraform(
            session.plan(prune=prune, lift_protection=lift_deletion_protection),
            terraform_state)
    from tablesmith.render.plan import render_plan_json, render_plan_text

    if out:
        from tablesmith.planfile import sign, write_plan

        result = sign(result.model_copy(update={
            "spec_path": str(Path(path).resolve()),
            "approved": tuple(sorted(approved))}))
        write_plan(Path(out), result.to_json())
    if as_json:
        click.echo(json.dumps(render_plan_json(result), indent=2))
    else:
        render_plan_text(result)
        if out:
            click.echo(f"Saved the plan to {out}: apply it with `tablesmith apply {out}` "
                       "(it remembers its environment and target).")
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


def _op_json(op: Any) -> dict[str, str]:
    return {"op": op.op, "table": op.table, "region": op.region}


def _print_result_json(session: Any, done: list[Any], *, status: str = "applied",
                       result: Any = None, error: Any = None) -> None:
    """One shape for every apply/destroy result, printed whatever happened.

    ``status``: applied, no-changes, refused, failed, interrupted or error.
    """
    from tablesmith.errors import HazardRefused

    refused = error.refused if isinstance(error, HazardRefused) else []
    click.echo(json.dumps({
        "status": status,
        "applied": len(done),
        "operations": [_op_json(op) for op in done],
        "in_progress": [_op_json(op) for op in getattr(result, "in_progress", [])],
        "not_started": [_op_json(op) for op in getattr(result, "not_started", [])],
        "failed": dict(sorted(getattr(result, "failed", {}).items())),
        "refused": [{**_op_json(op), "code": h.code.value, "message": h.message}
                    for op, h in refused],
        "error": None if error is None else str(error),
        "aws_calls": session.clients.total_calls if session is not None else 0,
    }, indent=2))


@contextmanager
def _stop_on_signals() -> Iterator[Any]:
    """The first Ctrl-C / SIGTERM asks the apply to stop after the operation in flight (an
    AWS call is never cut in half); a second one exits at once."""
    import os
    import signal
    import threading

    stop = threading.Event()

    def request_stop(signum: int, _frame: Any) -> None:
        if stop.is_set():
            click.echo("Stopping now (exit 130); run plan/apply again to converge.", err=True)
            os._exit(130)
        stop.set()
        click.echo("Stopping after the operation in flight (again to stop at once)...",
                   err=True)

    if threading.current_thread() is not threading.main_thread():
        yield stop  # signals are the main thread's: a library caller stops through `stop`
        return
    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _apply_and_report(session: Any, plan: Any, allowed: Any, as_json: bool) -> None:
    from tablesmith.apply import check_hazards
    from tablesmith.errors import ApplyError, Interrupted

    check_hazards(plan, allowed)
    with _stop_on_signals() as stop:
        try:
            result = session.apply(plan, allowed=allowed,
                                   report=None if as_json else _progress, stop=stop)
        except Interrupted as exc:
            _report_interrupted(session, exc, as_json)
        except ApplyError as exc:
            if as_json:
                failed = exc.result
                _print_result_json(session, getattr(failed, "done", []), status="failed",
                                   result=failed, error=exc)
                exc.json_reported = True
            raise
    if as_json:
        _print_result_json(session, result.done)
    else:
        click.secho(f"Apply complete: {len(result.done)} operation(s).", fg="green", bold=True)


def _report_interrupted(session: Any, exc: Any, as_json: bool) -> NoReturn:
    """What a stopped apply did and did not do; exit 130 (128 + SIGINT), as shells expect."""
    result = exc.result
    if as_json:
        _print_result_json(session, result.done, status="interrupted", result=result,
                           error=exc)
    else:
        click.secho(f"Interrupted: {len(result.done)} operation(s) done.", fg="yellow",
                    bold=True, err=True)
        for op in result.in_progress:
            click.echo(f"  still finishing at AWS: {op.op} {op.table} ({op.region})", err=True)
        for op in result.not_started:
            click.echo(f"  not started: {op.op} {op.table} ({op.region})", err=True)
        click.echo("Run plan/apply again to converge: plans are made from what AWS holds.",
                   err=True)
    sys.exit(130)


def _review_and_apply(session: Any, plan: Any, allowed: Any, auto_approve: bool,
                      as_json: bool, question: str) -> None:
    """Show the plan, refuse unallowed hazards, confirm, apply, report."""
    from tablesmith.apply import check_hazards
    from tablesmith.errors import HazardRefused
    from tablesmith.render.plan import render_plan_text

    if not plan.has_changes:
        if as_json:
            _print_result_json(session, [], status="no-changes")
        else:
            click.secho("No changes. AWS matches the spec." if not plan.destroy
                        else "Nothing to destroy.", fg="green", bold=True)
        return
    if not as_json:
        render_plan_text(plan)
    try:
        check_hazards(plan, allowed)
    except HazardRefused as exc:
        if as_json:
            _print_result_json(session, [], status="refused", error=exc)
            exc.json_reported = True
        raise
    _confirm(auto_approve, question)
    _apply_and_report(session, plan, allowed, as_json)


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
@click.option("--lock-timeout", type=click.FloatRange(0), default=0.0, metavar="SECONDS",
              help="Wait this long for another apply/destroy of the environment to finish "
              "(default: fail at once, naming the holder).")
@_terraform_state_option
@_guard
def apply(path: str, env: str | None, tables: tuple[str, ...], profile: str | None,
          region: str | None, endpoint_url: str | None, local: bool, state_dir: str | None,
          auto_approve: bool, allow: str, prune: bool, lift_deletion_protection: bool,
          as_json: bool, lock_timeout: float, terraform_state: str | None) -> None:
    """Make AWS match the spec (or apply a saved plan).

    PATH is a spec file or directory, or a plan saved by `plan --out`. Operations run in
    the order AWS requires (one GSI change per UpdateTable, waiting for each; replicas one at
    a time, then their own tags, protection and PITR), tables in parallel. Blocking hazards
    are refused unless named in --allow-hazards; then nothing is called.

    A saved plan carries its environment and target (endpoint, local state, profile,
    account, region) and applies only there: no other flag is needed, and one that
    contradicts the file is an error. It is checked, not trusted: refused if the live state
    changed since, and recomputed from its tables, so that an edited file cannot act beyond
    them. Hazards approved at plan time count only for a plan signed with
    TABLESMITH_PLAN_KEY.

    One apply or destroy at a time per environment and target: the lock is a lease in the
    table conventions.lock.table on AWS, a file lock on the local target (--lock-timeout to
    wait; `tablesmith force-unlock` for a lease whose holder is gone).

    \b
    Examples:
      tablesmith apply examples/ --env dev --auto-approve
      tablesmith apply prod.plan
      tablesmith apply specs/ --env dev --allow-hazards DELETES_DATA --auto-approve
    """
    allowed = _allowed(allow)
    if _is_planfile(path):
        if tables or prune or lift_deletion_protection or terraform_state:
            _fail("--table, --prune, --lift-deletion-protection and --terraform-state belong "
                  "to `plan`: a saved plan already holds them")
        _apply_saved(path, env, profile, region, endpoint_url, local, state_dir, allowed,
                     auto_approve, as_json, lock_timeout)
        return
    with _session(path, env, tables, profile, region, endpoint_url, local,
                  state_dir) as session, session.locked(_command(), lock_timeout):
        # planned under the lock: another apply cannot change what this plan is made from
        result_plan = _held_by_terraform(
            session.plan(prune=prune, lift_protection=lift_deletion_protection),
            terraform_state)
        _review_and_apply(session, result_plan, allowed, auto_approve, as_json,
                          "apply these changes")


def _command() -> str:
    """This command line, for a lock's holder description."""
    import os

    return " ".join([os.path.basename(sys.argv[0]) or "tablesmith", *sys.argv[1:]])[:500]


def _apply_saved(path: str, env: str | None, profile: str | None, region: str | None,
                 endpoint_url: str | None, local: bool, state_dir: str | None, allowed: Any,
                 auto_approve: bool, as_json: bool, lock_timeout: float = 0.0) -> None:
    """`apply PLANFILE`: the plan's own context; refuse it if it does not hold, then apply
    the plan recomputed from its tables and fresh live state (see tablesmith.planfile)."""
    from pathlib import Path

    from tablesmith.aws import Clients
    from tablesmith.engine import Session, resolve_target
    from tablesmith.planfile import context_conflicts, read_plan, verified_approvals
    from tablesmith.spec.model import Environment

    saved = read_plan(Path(path))
    target = saved.target
    assert target is not None  # read_plan refuses a plan without one
    conflicts = context_conflicts(saved, env=env, profile=profile, region=region,
                                  endpoint_url=endpoint_url, local=local, state_dir=state_dir)
    if conflicts:
        _fail("the flags contradict the saved plan (it applies where it was made; drop them):"
              "\n  " + "\n  ".join(conflicts))
    approved = verified_approvals(saved)
    with _target(None, target.kind == "local", target.state_dir) as (local_endpoint, directory):
        resolved = resolve_target(
            Environment(name=saved.environment, region=saved.region), region=target.region,
            profile=target.profile, endpoint_url=local_endpoint or target.endpoint,
            local=bool(local_endpoint), state_dir=directory)
        session = Session(environment=saved.environment, tables=saved.desired,
                          clients=Clients(resolved),
                          known=tuple(t.table_name for t in saved.desired), lock=saved.lock)
        with session.locked(_command(), lock_timeout):
            _apply_checked(session, saved, approved, allowed, auto_approve, as_json)


def _apply_checked(session: Any, saved: Any, approved: Any, allowed: Any, auto_approve: bool,
                   as_json: bool) -> None:
    """Verify a saved plan under the lock, then review and apply what it recomputes to."""
    checked = session.verify_saved(saved)
    if saved.approved and not as_json:
        trust = "signed" if approved else \
            "not honoured: the plan is unsigned (pass --allow-hazards to approve)"
        click.echo(f"Approved at plan time: {', '.join(saved.approved)} ({trust})", err=True)
    _review_and_apply(session, checked, allowed | approved, auto_approve, as_json,
                      "apply this plan")


@cli.command(context_settings=CONTEXT)
@path_argument
@aws_options
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option("--allow-hazards", "allow", default="", metavar="CODE,...",
              help="Must include DELETES_DATA: destroying tables deletes their data.")
@click.option("--lift-deletion-protection", is_flag=True,
              help="Turn deletion protection off first on protected tables and replicas.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--lock-timeout", type=click.FloatRange(0), default=0.0, metavar="SECONDS",
              help="Wait this long for another apply/destroy of the environment to finish "
              "(default: fail at once, naming the holder).")
@_guard
def destroy(path: str, env: str, tables: tuple[str, ...], profile: str | None,
            region: str | None, endpoint_url: str | None, local: bool, state_dir: str | None,
            auto_approve: bool, allow: str, lift_deletion_protection: bool, lock_timeout: float,
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
                  state_dir) as session, session.locked(_command(), lock_timeout):
        result_plan = session.plan_destroy(lift_protection=lift_deletion_protection)
        _review_and_apply(session, result_plan, allowed, auto_approve, as_json,
                          "destroy these tables")


@cli.command("force-unlock", context_settings=CONTEXT)
@path_argument
@aws_options
@click.argument("lease_id", metavar="LEASE_ID")
@_guard
def force_unlock(path: str, env: str | None, tables: tuple[str, ...], profile: str | None,
                 region: str | None, endpoint_url: str | None, local: bool,
                 state_dir: str | None, lease_id: str) -> None:
    """Remove an apply lock whose holder is gone (a lease in conventions.lock.table).

    LEASE_ID is the one a refused apply names ("… (lease 3f2a9c1b0d4e)"). A lease also
    expires by itself when its holder stops renewing it (conventions.lock.lease_seconds);
    file locks (the local target, other endpoints) end with their process and need no force.
    Remove a lease only when you know its holder is not running: two applies at once
    interleave their changes.

    \b
    Example:
      tablesmith force-unlock specs/ --env prod 3f2a9c1b0d4e
    """
    from tablesmith.lock import force_unlock as unlock

    with _session(path, env, tables, profile, region, endpoint_url, local,
                  state_dir) as session:
        holder = unlock(session.clients, session.describe_target(), session.lock, lease_id)
    click.echo(f"Removed the lease of {holder.describe()}.")


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
    is off, as the module does — plus replica_table_arns, replica_backup_vault_arns,
    replica_global_secondary_indexes (each replica's GSIs, as its own region holds them) and
    alarm_arns.

    \b
    Examples:
      tablesmith output examples/ --env prod --local
      tablesmith output examples/ --env dev --table tenants --json
    """
    from tablesmith.outputs import environment_outputs

    with _session(path, env, tables, profile, region, endpoint_url, local,
                  state_dir) as session:
        values = environment_outputs(session.tables, session.read(orphans=False))
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


@cli.command("iam-policy", context_settings=CONTEXT)
@path_argument
@click.option("--env", "env", metavar="ENV", required=True, help="Environment to grant.")
@click.option("--read-only", is_flag=True, help="Only what `plan` needs (no changes).")
@click.option("--account", metavar="ID", help="The 12-digit account of the ARNs (default: "
              "the caller's, from STS; else the IAM variable ${aws:PrincipalAccount}).")
@click.option("--profile", metavar="NAME", help="AWS profile to ask STS for the account.")
@_guard
def iam_policy(path: str, env: str, read_only: bool, account: str | None,
               profile: str | None) -> None:
    """Print the least-privilege IAM policy (JSON) that plan, or apply and destroy, need.

    Scoped to the environment's table ARNs (replica regions, /index/*, /stream/*), backup
    vaults, plans and roles, and alarm names; actions AWS cannot scope get Resource "*",
    each in a statement whose Sid says why. Without --account the caller's account is
    asked of STS; when that fails, ${aws:PrincipalAccount} stands in (IAM resolves it).

    \b
    Examples:
      tablesmith iam-policy examples/ --env prod --account 123456789012 > prod-apply.json
      tablesmith iam-policy examples/ --env prod --read-only --profile shop-prod
      aws iam put-role-policy --role-name ci-plan --policy-name tablesmith \\
          --policy-document "$(tablesmith iam-policy specs/ --env dev --read-only)"
    """
    import re

    from tablesmith.errors import TablesmithError, UsageError
    from tablesmith.iam_policy import (
        MANAGED_POLICY_LIMIT,
        PRINCIPAL_ACCOUNT,
        ROLE_INLINE_LIMIT,
        iam_policy,
        policy_json,
        policy_size,
    )
    from tablesmith.spec.loader import load

    if account is not None and not re.fullmatch(r"\d{12}", account):
        raise UsageError(f"--account {account!r} is not a 12-digit AWS account ID")
    spec = load(path, env=env)
    tables = spec.tables(env)
    if account is None:
        from tablesmith.aws import Clients, Target

        environment = spec.environment(env)
        try:
            account = Clients(Target(region=environment.region,
                                     profile=profile or environment.profile)).account_id()
        except TablesmithError as exc:
            click.echo(f"note: the account is not known ({exc}); the policy names "
                       f"{PRINCIPAL_ACCOUNT}", err=True)
        account = account or PRINCIPAL_ACCOUNT
    document = iam_policy(tables, account=account, environment=env, read_only=read_only,
                          lock=spec.conventions.lock)
    click.echo(policy_json(document))
    size = policy_size(document)
    if size > MANAGED_POLICY_LIMIT:  # IAM's quotas, in characters without whitespace
        where = "an inline role policy" if size <= ROLE_INLINE_LIMIT else "several policies"
        click.echo(f"note: the policy has {size} characters, more than a managed policy's "
                   f"{MANAGED_POLICY_LIMIT}: attach it as {where}", err=True)


@cli.command(context_settings=CONTEXT)
@click.option("--region", "regions", metavar="REGION", multiple=True,
              help="Region to audit (repeatable; default: the environment's primary and "
              "replica regions with --spec, else af-south-1 and eu-west-1).")
@click.option("--profile", metavar="NAME", help="AWS profile (default: the standard chain).")
@click.option("--endpoint-url", metavar="URL", envvar="AWS_ENDPOINT_URL",
              help="Send AWS calls to this endpoint; also read from AWS_ENDPOINT_URL.")
@click.option("--local", is_flag=True, help="Audit the embedded local target.")
@click.option("--state-dir", metavar="DIR", type=click.Path(file_okay=False),
              help="State of the local target (default: .tablesmith/local/ENV next to the "
              "spec, or in the current directory).")
@click.option("--spec", "spec_path", metavar="PATH", type=click.Path(exists=True),
              help="Also report tables no spec names (tablesmith-unmanaged) and spec tables "
              "whose live state differs (tablesmith-spec-drift); needs --env.")
@click.option("--env", "env", metavar="ENV", help="With --spec: the environment to plan.")
@click.option("--kms-key", "kms_keys", metavar="ARN", multiple=True,
              help="Only these KMS keys pass dynamodb-table-encrypted-kms (repeatable).")
@click.option("--require-customer-key", is_flag=True,
              help="dynamodb-table-encrypted-kms: the AWS-managed key aws/dynamodb fails.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the report as JSON (stable format: docs/audit-json.md).")
@click.option("--fail-on", "fail_on", type=click.Choice(["info", "warning", "error"]),
              help="Exit 3 when a finding of this severity or worse exists.")
@_guard
def audit(regions: tuple[str, ...], profile: str | None, endpoint_url: str | None,
          local: bool, state_dir: str | None, spec_path: str | None, env: str | None,
          kms_keys: tuple[str, ...], require_customer_key: bool, as_json: bool,
          fail_on: str | None) -> None:
    """Check every DynamoDB table of an account against the guardrails.

    Reads every table of the regions (and their replicas) with its backup coverage, alarms
    and tags, in bulk: about 2 AWS calls per table, plus 3 per AWS Backup plan. Each finding
    has a stable rule ID (AWS Config's managed-rule name where one exists), a severity and a
    one-line fix. Exit codes: 0 done, 1 error, 3 a finding at or above --fail-on.

    \b
    Rules (docs/audit-json.md):
      dynamodb-pitr-enabled                          error
      dynamodb-in-backup-plan                        error
      dynamodb-resources-protected-by-backup-plan    warning
      dynamodb-last-backup-recovery-point-created    warning
      dynamodb-table-deletion-protection-enabled     warning
      dynamodb-table-encrypted-kms                   warning
      tablesmith-alarm-unpublished-series            warning
      tablesmith-no-error-alarm                      warning
      tablesmith-replica-drift                       warning
      tablesmith-mandatory-tags                      warning
      tablesmith-unmanaged                           info     (with --spec)
      tablesmith-spec-drift                          warning  (with --spec)

    \b
    Examples:
      tablesmith audit --profile shop-prod --region af-south-1 --region eu-west-1
      tablesmith audit --local --json > audit.json
      tablesmith audit --spec specs/ --env prod --fail-on warning     # in CI
      tablesmith audit --endpoint-url http://127.0.0.1:4566 --require-customer-key
    """
    from pathlib import Path

    from tablesmith.audit import Policy, default_regions, run_audit
    from tablesmith.audit.render import render_audit_json, render_audit_text
    from tablesmith.audit.rules import Severity
    from tablesmith.aws import Clients
    from tablesmith.engine import resolve_target
    from tablesmith.spec.model import Environment

    if sum((bool(profile), bool(endpoint_url) and not local, local)) > 1:
        raise click.UsageError("use one of --profile, --endpoint-url and --local")
    if bool(spec_path) != bool(env):
        raise click.UsageError("--spec and --env go together")
    spec = None
    if spec_path and env:
        from tablesmith.spec.loader import load

        spec = load(spec_path, env=env)
        environment = spec.environment(env)
        local = local or (environment.target == "local" and not endpoint_url and not profile)
    else:
        environment = Environment(name=env or "audit")
    chosen = tuple(dict.fromkeys(regions)) or default_regions(spec, env)  # order kept
    with _target(spec_path or ".", local, state_dir) as (local_endpoint, directory):
        target = resolve_target(environment.model_copy(update={"region": chosen[0]}),
                                region=chosen[0], profile=profile,
                                endpoint_url=local_endpoint or endpoint_url,
                                local=bool(local_endpoint), state_dir=directory)
        report = run_audit(Clients(target), chosen, spec=spec, env=env,
                           spec_path=str(Path(spec_path)) if spec_path else "",
                           policy=Policy(kms_keys=kms_keys,
                                         require_customer_key=require_customer_key),
                           now=_audit_now())
    if as_json:
        click.echo(json.dumps(render_audit_json(report), indent=2))
    else:
        render_audit_text(report)
    if fail_on and any(f.severity >= Severity.parse(fail_on) for f in report.findings):
        sys.exit(3)


def _audit_now() -> Any:
    """TABLESMITH_AUDIT_NOW (ISO 8601) evaluates the time-based rules as of that instant."""
    import datetime as dt
    import os

    text = os.environ.get("TABLESMITH_AUDIT_NOW")
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        _fail(f"TABLESMITH_AUDIT_NOW={text!r} is not an ISO 8601 time")
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


@cli.group("import", context_settings=CONTEXT)
def import_() -> None:
    """Write a spec for tables that already run, so that tablesmith can take them over.

    \b
    Examples:
      tablesmith import aws --env prod --all -o specs/
      tablesmith import aws --env dev --table orders --table users -o specs/ --claim
      terraform show -json > state.json && tablesmith import terraform state.json -o specs/
    """


@import_.command("aws", context_settings=CONTEXT)
@aws_options
@click.option("--prefix", metavar="P", help="Import every table whose name starts with P.")
@click.option("--all", "everything", is_flag=True, help="Import every table of the region.")
@click.option("-o", "--out", "out", metavar="DIR", required=True,
              help="Write the spec to DIR/ENV.yaml.")
@click.option("--force", is_flag=True, help="Overwrite DIR/ENV.yaml if it exists.")
@click.option("--claim", is_flag=True, help="Let the spec claim the tables: the plan then "
              "tags each tablesmith:managed=ENV (what --prune may delete), visibly.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@_guard
def import_aws(env: str | None, tables: tuple[str, ...], profile: str | None,
               region: str | None, endpoint_url: str | None, local: bool,
               state_dir: str | None, prefix: str | None, everything: bool, out: str,
               force: bool, claim: bool, as_json: bool) -> None:
    """Read live tables (with their AWS Backup plan and alarms) into a native YAML spec.

    Every setting is written out, and each table is checked before it is written: the
    spec, loaded back, must plan no change (`plan --detailed-exitcode` exits 0), apart from
    the ownership tag, which only --claim adds (a separate TagResource in the plan). What
    the spec cannot express (PROVISIONED billing, a backup plan with several rules, …) is
    skipped with the reason; exit 1 when any table was skipped.

    \b
    Examples:
      tablesmith import aws --env dev --all -o specs/
      tablesmith import aws --env prod --prefix orders -o specs/ --profile shop-prod
      tablesmith import aws --env dev --table orders -o specs/ --local --force --json
      tablesmith plan specs/ --env dev --detailed-exitcode      # then: no changes
    """
    from pathlib import Path

    from tablesmith.aws import Clients
    from tablesmith.engine import resolve_target
    from tablesmith.errors import UsageError
    from tablesmith.importer.aws import choose_tables, describe_source, import_tables
    from tablesmith.importer.yaml_writer import write_spec
    from tablesmith.spec.model import Environment

    if not env:
        raise UsageError("--env ENV is required: the environment the tables belong to")
    if sum((bool(tables), prefix is not None, everything)) != 1:
        raise click.UsageError("choose the tables with one of --table, --prefix and --all")
    environment = Environment(name=env, **({"region": region} if region else {}))
    with _target(None, local, state_dir, env) as (local_endpoint, directory):
        clients = Clients(resolve_target(environment, region=region, profile=profile,
                                         endpoint_url=local_endpoint or endpoint_url,
                                         local=bool(local_endpoint), state_dir=directory))
        names = choose_tables(clients, environment.region, tables, prefix, everything)
        if not names:
            raise UsageError(f"no tables to import in {environment.region}")
        result = import_tables(clients, environment, names, claim=claim,
                               header=describe_source(clients, environment))
    written = write_spec(Path(out), env, result.text, force=force) if result.text else None
    if as_json:
        click.echo(json.dumps({
            "environment": env, "region": environment.region,
            "file": str(written) if written else None, "claim": claim,
            "imported": [r.name for r in result.results if r.imported],
            "skipped": [{"table": r.name, "reason": r.reason} for r in result.skipped],
            "notices": list(result.notices)}, indent=2))
    else:
        for r in result.results:
            if r.imported:
                click.echo(click.style("imported", fg="green") + f" {r.name}"
                           + (" (claimed: the plan tags it tablesmith:managed)"
                              if claim and r.claimed else ""))
            else:
                click.echo(click.style("skipped", fg="yellow") + f"  {r.name}: {r.reason}")
        for notice in result.notices:
            click.echo(f"note: {notice}", err=True)
        click.echo(f"wrote {written}" if written else "nothing written: no table to import")
    if result.skipped:
        sys.exit(1)


@import_.command("terraform", context_settings=CONTEXT)
@click.argument("state", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--out", "out", metavar="DIR", required=True,
              help="Write DIR/ENV.yaml per environment and DIR/removed.tf.")
@click.option("--env", metavar="ENV", help="Only the tables of ENV (their Environment tag); "
              "also the environment of tables without that tag.")
@click.option("--force", is_flag=True, help="Overwrite the files if they exist.")
@click.option("--claim", is_flag=True, help="Let the spec claim the tables: the plan then "
              "tags each tablesmith:managed=ENV (what --prune may delete), visibly.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@_guard
def import_terraform(state: str, out: str, env: str | None, force: bool, claim: bool,
                     as_json: bool) -> None:
    """Take over what a Terraform state holds: write its tables as a spec, and removed.tf.

    STATE is `terraform show -json` output or a terraform.tfstate (version 4); it is
    read, never run. Each instance of the dynamodb_table module (module.X:
    aws_dynamodb_table.this with its backup vault, plan, selection, role and alarms) is
    written as tablesmith reads that module block, and root-level aws_dynamodb_table
    (with aws_dynamodb_table_replica) resources exactly as they are. removed.tf holds
    one `removed { from = … lifecycle { destroy = false } }` block per module or
    resource handed over (Terraform >= 1.7): Terraform forgets them, destroys nothing.
    Every other resource is listed with the reason it stays Terraform's; exit 1 when
    a table could not be handed over. Steps and rollback: docs/migrating-from-terraform.md.

    \b
    Examples:
      terraform show -json > state.json
      tablesmith import terraform state.json -o specs/
      tablesmith import terraform terraform.tfstate --env prod -o specs/ --json
      tablesmith plan specs/ --env prod        # module-defect fixes only, then apply
      # then replace the module blocks with specs/removed.tf; terraform plan: 0 to destroy
    """
    from pathlib import Path

    from tablesmith.importer.terraform import describe_source, import_state, read_state
    from tablesmith.importer.yaml_writer import write_file, write_spec

    resources = read_state(Path(state))
    result = import_state(resources, env_name=env, claim=claim,
                          header=describe_source(Path(state).name, resources))
    written = [write_spec(Path(out), s.environment.name, s.text, force=force)
               for s in result.specs]
    removed = (write_file(Path(out), "removed.tf", result.removed_text, force=force)
               if result.handovers else None)
    if as_json:
        click.echo(json.dumps({
            "files": [str(p) for p in written], "removed_file": str(removed) if removed else None,
            "claim": claim,
            "handed_over": [{"from": h.address, "tables": list(h.tables),
                             "resources": list(h.resources)} for h in result.handovers],
            "skipped": [{"address": s.address, "reason": s.reason, "table": s.table}
                        for s in result.skipped],
            "notices": list(result.notices)}, indent=2))
    else:
        for h in result.handovers:
            click.echo(click.style("handed over", fg="green") + f" {h.address}: "
                       + (", ".join(h.tables) or "replicas")
                       + f" ({len(h.resources)} resource instances)")
        for s in result.skipped:
            click.echo(click.style("skipped", fg="yellow") + f"  {s.address}: {s.reason}")
        for notice in result.notices:
            click.echo(f"note: {notice}", err=True)
        for path in (*written, *([removed] if removed else [])):
            click.echo(f"wrote {path}")
        if not written:
            click.echo("nothing written: no table to hand over")
    if any(s.table for s in result.skipped):
        sys.exit(1)


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


def _export(kind: str, path: str, env: str, out: str) -> None:
    from pathlib import Path

    from tablesmith.export.files import write_export
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
    # only files the previous export listed in its manifest are replaced or removed
    done = write_export(target, kind, files)
    for name in done.written:
        click.echo(f"wrote {target / name}")
    for name in done.removed:
        click.echo(f"removed {target / name} (no longer exported)")


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
    tablesmith then starts a moto server on 127.0.0.1, with what moto lacks (global-table
    replicas, AWS Backup selections, …), in a helper process that lives as long as the
    command (TABLESMITH_LOCAL_IN_PROCESS=1: in the command's own), and keeps its state in
    .tablesmith/local/ENV next to the spec, one per environment (--state-dir to choose).

    \b
    Examples:
      tablesmith apply examples/ --env dev --local --auto-approve
      tablesmith local serve examples/ --env dev --port 4567   # for your application
      tablesmith local reset examples/ --env dev
    """


@local.command(context_settings=CONTEXT)
@click.argument("path", default=".", type=click.Path(exists=True))
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default="a free port",
              help="Port on 127.0.0.1 to serve on.")
@click.option("--env", "env", metavar="ENV",
              help="The environment whose local state to serve (each has its own).")
@click.option("--state-dir", metavar="DIR", type=click.Path(file_okay=False),
              help="State directory (default: .tablesmith/local/ENV next to the spec).")
@click.option("--realistic", is_flag=True,
              help="AWS's slow phases: GSI backfill, replica creation, the TTL cooldown "
                   "(also: TABLESMITH_LOCAL_REALISTIC=1 for any --local command).")
@click.option("--time-scale", type=click.FloatRange(0, 1000, min_open=True), default=None,
              metavar="FACTOR", help="With --realistic: real seconds per AWS second "
                                     "(0.01: an hour lasts 36 s; default 1).")
@_guard
def serve(path: str, port: int, env: str | None, state_dir: str | None, realistic: bool,
          time_scale: float | None) -> None:
    """Serve the local target for applications until Ctrl-C (state is kept).

    While it runs, `--local` commands on the same state use this server. Items your
    application writes are saved like the rest (every second, and on Ctrl-C / SIGTERM).
    It answers only requests to 127.0.0.1 signed with the state directory's access key,
    which it prints; moto's /moto-api is closed and browsers are refused (no CORS).

    \b
    Example:
      tablesmith local serve examples/ --env dev --port 4567
      tablesmith local serve examples/ --env dev --realistic --time-scale 0.1
    """
    import signal
    import threading
    from pathlib import Path

    from tablesmith.local import realistic as realism
    from tablesmith.local.server import LocalTarget
    from tablesmith.local.store import state_dir_for

    if time_scale is not None and not realistic:
        raise click.UsageError("--time-scale needs --realistic")
    if realistic:
        realism.configure(realistic=True, scale=time_scale)
    directory = state_dir_for(Path(path), Path(state_dir) if state_dir else None, env)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    server = LocalTarget(directory, port)
    with server as endpoint:
        if server.owner_pid is not None:
            _fail(f"the local state in {directory} is already served at {endpoint} "
                  f"(pid {server.owner_pid})")
        click.echo(f"tablesmith local target serving at {endpoint} (state: {directory})")
        if realism.enabled():
            click.echo(f"Realistic mode: AWS's phases, time scale {realism.time_scale():g}",
                       err=True)
        key = server.access_key  # this state directory's: requests signed otherwise fail
        click.echo("Use it from your application, for example:")
        click.echo(f"  boto3.client('dynamodb', endpoint_url='{endpoint}', "
                   f"region_name='af-south-1', aws_access_key_id='{key}', "
                   f"aws_secret_access_key='{key}')")
        click.echo(f"  AWS_ACCESS_KEY_ID={key} AWS_SECRET_ACCESS_KEY={key} "
                   f"aws dynamodb list-tables --endpoint-url {endpoint} --region af-south-1")
        click.echo(f"The access key is this state directory's secret (in "
                   f"{server.store.credentials_file}); keep it to yourself.", err=True)
        click.echo("Press Ctrl-C to save and stop.", err=True)
        sys.stdout.flush()
        server.autosave()
        while not stop.wait(0.5):
            pass
    click.echo("Saved and stopped.", err=True)


@local.command(context_settings=CONTEXT)
@click.argument("path", default=".", type=click.Path(exists=True))
@click.option("--env", "env", metavar="ENV",
              help="The environment whose local state to forget (each has its own).")
@click.option("--state-dir", metavar="DIR", type=click.Path(file_okay=False),
              help="State directory (default: .tablesmith/local/ENV next to the spec).")
@_guard
def reset(path: str, env: str | None, state_dir: str | None) -> None:
    """Forget everything the local target holds (tables, items, backups, alarms).

    \b
    Example:
      tablesmith local reset examples/ --env dev
    """
    from pathlib import Path

    from tablesmith.local.store import StateStore, state_dir_for

    directory = state_dir_for(Path(path), Path(state_dir) if state_dir else None, env)
    StateStore(directory).reset()
    click.echo(f"Local state in {directory} reset.")


def main() -> NoReturn:
    """Console entry point. Usage errors exit 1, not click's 2: 2 means "changes" here."""
    try:
        code: object = cli.main(prog_name="tablesmith", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        code = 1
    except click.ClickException as exc:
        exc.show()
        code = 1
    except SystemExit as exc:
        code = exc.code
    if isinstance(code, str):  # sys.exit("message"), as Python prints it
        click.echo(code, err=True)
        code = 1
    _leave(code if isinstance(code, int) else 0)


def _leave(code: int) -> NoReturn:
    """Exit with ``code``, skipping the interpreter's teardown.

    When a command returns, it has written its output, saved what it saves and stopped its
    threads and local target; what is left is freeing the objects of ~1,500 modules one by
    one, 0.2-0.3 s after a plan or an apply that nobody waits for. The exit handlers still
    run (logging's among them) and the output is flushed first.
    """
    import atexit
    import contextlib
    import os

    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)  # CPython's
    if run_exit_handlers is None:
        sys.exit(code)  # no way to run them ourselves: the usual exit
    run_exit_handlers()
    for stream in (sys.stdout, sys.stderr):
        # a closed pipe (`| head`): nothing left to tell
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
