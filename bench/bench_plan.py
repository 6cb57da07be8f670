"""Benchmark: apply-from-empty and no-change plan against a moto server, at 1 to 200 tables.

    .venv/bin/python bench/bench_plan.py                  # N = 1, 10, 40, 200; 5 plan runs
    .venv/bin/python bench/bench_plan.py --quick          # smoke run: N = 1, 10; 2 plan runs
    .venv/bin/python bench/bench_plan.py --sizes 40 --runs 9 --profile

A moto server is started on 127.0.0.1 (a free port; stopped at the end, on Ctrl-C and on
SIGTERM too), with fake credentials only: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are
``testing``, AWS_PROFILE is unset and the AWS config and credentials files point at paths
that do not exist, so nothing can reach real AWS. For each N (generated spec, environment
``dev``, which has no replicas), after ``POST /moto-api/reset``:

1. library: ``tablesmith.load`` + ``Session.for_environment(..., endpoint_url=...)``, plan and
   ``session.apply(plan, allowed=frozenset())`` from an empty account (timed: apply only);
2. library: a no-change plan, ``--runs`` times with a fresh Session each (as every CLI run
   has), checked to have no operations; AWS calls counted from ``session.clients.calls``, and
   botocore retries from an ``after-call`` hook (``ResponseMetadata.RetryAttempts``, and final
   ``ThrottlingException`` errors);
3. CLI: ``tablesmith plan DIR --env dev --endpoint-url URL --detailed-exitcode``, ``--runs``
   times as a subprocess; it must exit 0 (no changes).

Then, in the same run and on the same server:

4. the floor (``--floor-runs``, default 5): 40 tables applied from YAML and from the module's
   HCL (``specgen.write_hcl_spec``), backup off (alarms on) and whole environments (backup and
   alarms on); each ``tablesmith plan`` CLI run alternates with a run of
   ``bench/floor_plan.py`` (bare boto3 in its own process: the per-table reads no tool avoids,
   one paginated DescribeAlarms, and with whole environments the backup plans, selections and
   role), and the AWS calls per table of a whole environment's no-change plan, per API;
5. ``--scale`` tables (default 1,000; tables only): apply from empty, a no-change re-plan, a
   tag change of every table (1,000 TagResource, each send time recorded by a botocore
   ``before-send`` hook: at most 5 in any 1 s window), and a re-plan that must be empty.

Targets: no-change plan of 40 tables < 1.0 s wall (checked on the CLI median, what a user
waits for, and the library median); <= 5 read calls per table (at every N >= 10, and the
marginal cost of one more table; at N = 1 the fixed per-run calls dominate); 200 tables without a
throttling storm (no final ThrottlingException, retries <= 1% of calls). moto never throttles,
so the last one only shows that tablesmith itself causes no retries (timeouts, pool
exhaustion); real DynamoDB's control-plane limits are not exercised here.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specgen import use_bytecode_cache, write_hcl_spec, write_spec

if TYPE_CHECKING:
    from types import FrameType

    from tablesmith.engine import Session
    from tablesmith.plan import Plan

REPO = Path(__file__).resolve().parents[1]
SIZES = (1, 10, 40, 200)
QUICK_SIZES = (1, 10)
ENV = "dev"
PLAN_TARGET_N = 40
PLAN_TARGET_S = 1.0
READS_PER_TABLE_TARGET = 5.0
STORM_N = 200
STORM_RETRY_FRACTION = 0.01
FLOOR_N = 40
FLOOR_RATIO = 1.5  # tablesmith's no-change plan within 1.5x of the bare-boto3 floor
WHOLE_CALLS_PER_TABLE = 5.0  # AWS calls per table, whole environments
SCALE_N = 1000
TAG_RATE = 5  # TagResource: DynamoDB's 5 calls per second per account
FLOOR_SCRIPT = REPO / "bench" / "floor_plan.py"


def fake_aws_environment(scratch: Path) -> None:
    """Fake credentials only; no profile, no config files, no IMDS, no proxy for loopback."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                 "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ROLE_ARN",
                 "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        os.environ.pop(name, None)
    os.environ.update({
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": str(scratch / "no-such-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(scratch / "no-such-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_PROXY": ",".join(filter(None, ("127.0.0.1", "localhost",
                                           os.environ.get("NO_PROXY")))),
        "TABLESMITH_POLL_INTERVAL": "0.2",
    })


@dataclass
class RetryWatch:
    """botocore ``after-call`` hook: retries and final throttling errors, per operation."""

    retries: Counter[str] = field(default_factory=Counter)
    throttled: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _hooked: set[int] = field(default_factory=set)

    def attach(self, session: Session) -> None:
        """Hook every client the session's ``Clients`` hands out (they are made lazily)."""
        clients = session.clients
        make = clients.client

        def client(service: str, region: str | None = None) -> Any:
            made = make(service, region)
            with self._lock:
                if id(made) not in self._hooked:
                    self._hooked.add(id(made))
                    made.meta.events.register("after-call", self._after_call)
            return made

        clients.client = client  # type: ignore[method-assign]

    def _after_call(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        attempts = int(parsed.get("ResponseMetadata", {}).get("RetryAttempts", 0))
        code = parsed.get("Error", {}).get("Code", "")
        with self._lock:
            if attempts:
                self.retries[model.name] += attempts
            if code in ("ThrottlingException", "ProvisionedThroughputExceededException",
                        "RequestLimitExceeded"):
                self.throttled[model.name] += 1

    @property
    def total(self) -> int:
        return sum(self.retries.values())


class PoolWarnings(logging.Handler):
    """Counts urllib3's "Connection pool is full, discarding connection" warnings."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "pool is full" in record.getMessage():
            self.count += 1


@dataclass
class Result:
    """The measurements for one N."""

    n: int
    apply_s: float = 0.0
    apply_ops: int = 0
    apply_calls: int = 0
    plan_lib: list[float] = field(default_factory=list)
    plan_cli: list[float] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)  # of one no-change plan
    apply_retries: int = 0
    plan_retries: int = 0
    throttled: int = 0

    @property
    def reads_per_table(self) -> float:
        return sum(self.calls.values()) / self.n

    @property
    def retries(self) -> int:
        return self.apply_retries + self.plan_retries


def new_session(spec_dir: Path, endpoint: str, watch: RetryWatch) -> Session:
    import tablesmith
    from tablesmith.engine import Session

    spec = tablesmith.load(str(spec_dir), env=ENV)
    session = Session.for_environment(spec, ENV, endpoint_url=endpoint)
    watch.attach(session)
    return session


def check_no_change(plan: Plan, n: int) -> None:
    if plan.has_changes or plan.operations:
        ops = ", ".join(f"{op.op} {op.table}" for op in plan.operations[:5])
        sys.exit(f"N={n}: the plan after apply is not empty: {len(plan.operations)} "
                 f"operation(s): {ops} ...")


def run_size(n: int, runs: int, workdir: Path, endpoint: str, exe: str,
             reset: Any) -> Result:
    result = Result(n)
    # the tables alone: the reads-per-table target is about them (AWS Backup and alarms add
    # their own reads; bench_terraform.py measures whole environments)
    spec_dir = write_spec(workdir / f"spec{n}", n, tables_only=True)
    reset(endpoint)

    watch = RetryWatch()
    session = new_session(spec_dir, endpoint, watch)
    plan = session.plan()
    creates = sum(1 for op in plan.operations if op.op == "CreateTable")
    if creates < n:
        sys.exit(f"N={n}: expected {n} table creations in the first plan, got {creates}")
    before = session.clients.total_calls
    started = time.perf_counter()
    applied = session.apply(plan, allowed=frozenset())
    result.apply_s = time.perf_counter() - started
    result.apply_ops = len(applied.done)
    result.apply_calls = session.clients.total_calls - before
    result.apply_retries = watch.total

    watch = RetryWatch()
    for i in range(runs):
        started = time.perf_counter()
        session = new_session(spec_dir, endpoint, watch)
        plan = session.plan()
        result.plan_lib.append(time.perf_counter() - started)
        check_no_change(plan, n)
        if i == 0:
            result.calls = Counter(session.clients.calls)
    result.plan_retries = watch.total
    result.throttled = sum(watch.throttled.values())

    argv = [exe, "plan", str(spec_dir), "--env", ENV, "--endpoint-url", endpoint,
            "--detailed-exitcode"]
    for i in range(runs + 1):  # the first is an untimed warm-up (disk and bytecode caches)
        started = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, check=False,
                              stdin=subprocess.DEVNULL)
        if i:
            result.plan_cli.append(time.perf_counter() - started)
        if proc.returncode != 0:
            sys.exit(f"N={n}: `{' '.join(argv)}` exited {proc.returncode} (0 = no changes "
                     f"expected)\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return result


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    for row in [headers, ["-" * w for w in widths], *rows]:
        cells = zip(row, widths, strict=True)
        print("  ".join(c.ljust(w) if j == 0 else c.rjust(w)
                        for j, (c, w) in enumerate(cells)))


def report(results: list[Result], runs: int, pool_warnings: int) -> list[str]:
    """Print the tables; return the missed targets."""
    print(f"\nlibrary and CLI plan: median of {runs} run(s); apply: one run from empty "
          "(library, TABLESMITH_POLL_INTERVAL=0.2)\n")
    print_table(
        ["N", "apply s", "apply ops", "apply calls", "plan (lib) s", "plan (CLI) s",
         "read calls/table", "retries", "throttled"],
        [[str(r.n), f"{r.apply_s:.2f}", str(r.apply_ops), str(r.apply_calls),
          f"{statistics.median(r.plan_lib):.3f}", f"{statistics.median(r.plan_cli):.3f}",
          f"{r.reads_per_table:.2f}", str(r.retries), str(r.throttled)] for r in results])

    print("\nAWS calls of one no-change plan, per operation (total, per table):\n")
    ops = sorted({op for r in results for op in r.calls})
    print_table(["operation", *(f"N={r.n}" for r in results)],
                [[op, *(f"{r.calls[op]} ({r.calls[op] / r.n:.2f})" for r in results)]
                 for op in ops]
                + [["total", *(f"{sum(r.calls.values())} ({r.reads_per_table:.2f})"
                               for r in results)]])
    print(f"\nurllib3 'connection pool is full' warnings: {pool_warnings}")

    missed: list[str] = []
    verdicts: list[list[str]] = []
    by_n = {r.n: r for r in results}
    at = by_n.get(PLAN_TARGET_N)
    if at is None:
        verdicts.append([f"no-change plan, {PLAN_TARGET_N} tables", f"< {PLAN_TARGET_S} s",
                         "not run", "-"])
    else:
        for how, times in (("CLI", at.plan_cli), ("lib", at.plan_lib)):
            median = statistics.median(times)
            ok = median < PLAN_TARGET_S
            verdicts.append([f"no-change plan, {PLAN_TARGET_N} tables ({how})",
                             f"< {PLAN_TARGET_S:.1f} s", f"{median:.3f} s",
                             "PASS" if ok else "MISS"])
            if not ok:
                missed.append(verdicts[-1][0])
    # Per table: at every N >= 10 (at N=1 the fixed per-run calls, endpoint probes and KMS key
    # lookups, are most of the cost), and the marginal cost of one more table.
    scored = [r for r in results if r.n >= 10] or results
    worst = max(scored, key=lambda r: r.reads_per_table)
    per_table = worst.reads_per_table
    measured = f"worst {per_table:.2f} (N={worst.n})"
    big, small = max(results, key=lambda r: r.n), min(results, key=lambda r: r.n)
    if big.n > small.n:
        marginal = ((sum(big.calls.values()) - sum(small.calls.values()))
                    / (big.n - small.n))
        per_table = max(per_table, marginal)
        measured += f"; marginal {marginal:.2f}"
    ok = per_table <= READS_PER_TABLE_TARGET
    verdicts.append(["read calls per table, N >= 10", f"<= {READS_PER_TABLE_TARGET:.0f}",
                     measured, "PASS" if ok else "MISS"])
    if not ok:
        missed.append(verdicts[-1][0])
    storm = by_n.get(STORM_N)
    if storm is None:
        verdicts.append([f"{STORM_N} tables, no throttling storm", "no throttling", "not run",
                         "-"])
    else:
        calls = storm.apply_calls + sum(storm.calls.values()) * len(storm.plan_lib)
        ok = storm.throttled == 0 and storm.retries <= STORM_RETRY_FRACTION * calls
        verdicts.append([f"{STORM_N} tables, no throttling storm",
                         "0 throttled, retries <= 1%",
                         f"{storm.throttled} throttled, {storm.retries} retries / {calls} calls",
                         "PASS" if ok else "MISS"])
        if not ok:
            missed.append(verdicts[-1][0])
    print()
    print_table(["target", "wanted", "measured", "verdict"], verdicts)
    return missed


def breakdown(spec_dir: Path, endpoint: str, n: int, runs: int) -> None:
    """Where a library no-change plan's time goes, next to what moto itself can serve."""
    import tablesmith
    from tablesmith.diff import plan_environment
    from tablesmith.engine import Session
    from tablesmith.live import MAX_READERS

    phases: dict[str, list[float]] = {}

    def timed(name: str, func: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        value = func(*args, **kwargs)
        phases.setdefault(name, []).append(time.perf_counter() - started)
        return value

    calls = 0
    for _ in range(runs):
        spec = timed("load spec (YAML + validation)", tablesmith.load, str(spec_dir), env=ENV)
        session: Session = timed("Session.for_environment", Session.for_environment, spec, ENV,
                                 endpoint_url=endpoint)
        client = timed("first DynamoDB client (model load)", session.clients.dynamodb)
        live = timed("read live state (all AWS calls)", session.read)
        timed("diff", plan_environment, live, session.tables, environment=ENV)
        calls = session.clients.total_calls

    names = [t.table_name for t in session.tables]
    sequential = []
    for _ in range(60):
        started = time.perf_counter()
        client.describe_table(TableName=names[0])
        sequential.append(time.perf_counter() - started)

    def raw_read(name: str) -> None:  # the 4 reads tablesmith makes per table, nothing else
        arn = client.describe_table(TableName=name)["Table"]["TableArn"]
        client.describe_continuous_backups(TableName=name)
        client.describe_time_to_live(TableName=name)
        client.list_tags_of_resource(ResourceArn=arn)

    raw = []
    for _ in range(runs):
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=min(MAX_READERS, len(names))) as pool:
            list(pool.map(raw_read, names))
        raw.append(time.perf_counter() - started)
    read = statistics.median(phases["read live state (all AWS calls)"])
    floor = statistics.median(raw)
    print(f"\nWhere a library no-change plan of {n} tables spends its time (median of {runs}):\n")
    print_table(["phase", "median s"],
                [[name, f"{statistics.median(times):.3f}"] for name, times in phases.items()]
                + [[f"  raw botocore: the same {4 * len(names)} reads, {MAX_READERS} threads",
                    f"{floor:.3f}"]])
    print(f"\nThe read phase made {calls} calls in {read:.3f} s ({calls / read:.0f} calls/s); "
          f"raw botocore needs {floor:.3f} s for the {4 * len(names)} per-table reads "
          f"({4 * len(names) / floor:.0f} calls/s). moto answers DescribeTable in "
          f"{statistics.median(sequential) * 1000:.1f} ms one at a time and serves one request "
          "at a time in effect (one GIL-bound Python process), on the same CPUs as this client.")


def profile_plan(spec_dir: Path, endpoint: str, top: int) -> None:
    """cProfile one in-process no-change plan (spec load + plan), after a warm-up."""
    import cProfile
    import pstats

    new_session(spec_dir, endpoint, RetryWatch()).plan()  # imports and model loading
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    new_session(spec_dir, endpoint, RetryWatch()).plan()
    profiler.disable()
    print(f"\ncProfile of one library no-change plan of {spec_dir.name} "
          f"({time.perf_counter() - started:.3f} s with the profiler; reader threads' own "
          "time is not seen, only the main thread's waits)")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(top)


# ------------------------------------------------------------------ against the floor


@dataclass
class FloorRow:
    """One input kind at FLOOR_N tables: tablesmith's CLI plans next to the floor's."""

    label: str
    whole: bool
    plan_cli: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)  # one library no-change plan
    floor_calls: int = 0

    @property
    def ratio(self) -> float:
        return statistics.median(self.plan_cli) / statistics.median(self.floor)


def floor_run(endpoint: str, names_file: Path, whole: bool) -> tuple[float, int]:
    """One run of the bare-boto3 floor (a process of its own): (wall s, calls)."""
    argv = [sys.executable, str(FLOOR_SCRIPT), endpoint, "af-south-1", str(names_file),
            "--json", *(["--whole"] if whole else [])]
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False,
                          stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"the floor failed: {proc.stderr[-3000:]}")
    return elapsed, int(json.loads(proc.stdout)["calls"])


def floor_row(label: str, spec_dir: Path, whole: bool, runs: int, endpoint: str, exe: str,
              reset: Any) -> FloorRow:
    """Apply ``spec_dir`` from empty, then time CLI plans and the floor alternately."""
    row = FloorRow(label, whole)
    reset(endpoint)
    watch = RetryWatch()
    session = new_session(spec_dir, endpoint, watch)
    session.apply(session.plan(), allowed=frozenset())
    check = new_session(spec_dir, endpoint, watch)
    check_no_change(check.plan(), FLOOR_N)
    row.calls = Counter(check.clients.calls)
    names_file = spec_dir / "names.txt"
    names_file.write_text("\n".join(t.table_name for t in check.tables) + "\n")
    argv = [exe, "plan", str(spec_dir), "--env", ENV, "--endpoint-url", endpoint,
            "--detailed-exitcode"]
    for i in range(runs + 1):  # the first of each is an untimed warm-up
        started = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, check=False,
                              stdin=subprocess.DEVNULL)
        elapsed = time.perf_counter() - started
        if proc.returncode != 0:
            sys.exit(f"{label}: `{' '.join(argv)}` exited {proc.returncode}\n{proc.stdout}"
                     f"\n{proc.stderr}")
        floor_s, row.floor_calls = floor_run(endpoint, names_file, whole)
        if i:
            row.plan_cli.append(elapsed)
            row.floor.append(floor_s)
    return row


def floor_section(workdir: Path, runs: int, endpoint: str, exe: str,
                  reset: Any) -> list[FloorRow]:
    """The four rows: backup off / whole environments, each from YAML and from HCL."""
    rows = []
    for whole in (False, True):
        what = "whole environment (backup + alarms)" if whole else "backup off, alarms on"
        yaml_dir = write_spec(workdir / f"floor-yaml-{whole}", FLOOR_N, backup=whole)
        hcl_dir = write_hcl_spec(workdir / f"floor-hcl-{whole}", FLOOR_N, env=ENV,
                                 tables_only=not whole)
        for kind, spec_dir in (("YAML", yaml_dir), ("HCL", hcl_dir)):
            print(f"  floor: {FLOOR_N} tables, {what}, {kind} ...", flush=True)
            rows.append(floor_row(f"{what}, {kind}", spec_dir, whole, runs, endpoint, exe,
                                  reset))
    return rows


def report_floor(rows: list[FloorRow], runs: int) -> list[str]:
    """Print the floor comparison and the calls per table; return the missed targets."""
    print(f"\nNo-change plan of {FLOOR_N} tables, CLI process vs the bare-boto3 floor "
          f"(bench/floor_plan.py, its own process, same tables and endpoint, alternating; "
          f"median of {runs}):\n")
    missed = []
    table_rows = []
    for row in rows:
        ok = row.ratio <= FLOOR_RATIO
        table_rows.append([row.label, f"{statistics.median(row.plan_cli):.3f}",
                           f"{statistics.median(row.floor):.3f}", f"{row.ratio:.2f}x",
                           f"{row.calls.total()}", f"{row.floor_calls}",
                           f"<= {FLOOR_RATIO}x", "PASS" if ok else "MISS"])
        if not ok:
            missed.append(f"floor ratio: {row.label}")
    print_table(["input", "tablesmith s", "floor s", "ratio", "TS calls", "floor calls",
                 "wanted", "verdict"], table_rows)
    whole = next((r for r in rows if r.whole), None)
    if whole is not None:
        # per table: the calls made once per table (floor of calls / N, per API); the rest
        # is the run's fixed cost (endpoint probes, pages of the region's bulk reads)
        per_table = sum(n // FLOOR_N for n in whole.calls.values())
        fixed = whole.calls.total() - per_table * FLOOR_N
        ok = per_table <= WHOLE_CALLS_PER_TABLE
        print(f"\nAWS calls of one no-change plan of a whole environment ({FLOOR_N} tables, "
              f"{whole.label}): {whole.calls.total()} = {per_table} per table + {fixed} per "
              f"run ({whole.calls.total() / FLOOR_N:.2f} on average); wanted <= "
              f"{WHOLE_CALLS_PER_TABLE:.0f} per table: {'PASS' if ok else 'MISS'}\n")
        print_table(["operation", "calls", "per table", "per run"],
                    [[op, str(n), str(n // FLOOR_N), str(n % FLOOR_N)]
                     for op, n in sorted(whole.calls.items())])
        if not ok:
            missed.append("calls per table, whole environment")
    return missed


# ------------------------------------------------------------------ 1,000 tables


@dataclass
class ScaleResult:
    """Apply from empty, re-plan, a tag change of every table, re-plan, at SCALE_N tables."""

    n: int
    apply_s: float = 0.0
    apply_ops: int = 0
    replan_s: float = 0.0
    replan_ops: int = -1
    replan_calls: int = 0
    tag_ops: int = 0
    tag_apply_s: float = 0.0
    tag_calls: int = 0
    tag_max_per_second: int = 0  # in any window [t, t + 1 s) of TagResource sends
    tag_max_calendar_second: int = 0
    final_ops: int = -1
    retries: int = 0
    throttled: int = 0


def most_in_a_second(times: list[float]) -> tuple[int, int]:
    """(most in any sliding 1 s window, most in one calendar second) of ``times``."""
    times = sorted(times)
    sliding, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - 1.0:
            j += 1
        sliding = max(sliding, i - j + 1)
    calendar = Counter(int(t) for t in times)
    return sliding, max(calendar.values(), default=0)


def scale_run(n: int, workdir: Path, endpoint: str, reset: Any) -> ScaleResult:
    result = ScaleResult(n)
    spec_dir = write_spec(workdir / f"scale{n}", n, tables_only=True)
    reset(endpoint)
    watch = RetryWatch()
    session = new_session(spec_dir, endpoint, watch)
    plan = session.plan()
    started = time.perf_counter()
    applied = session.apply(plan, allowed=frozenset())
    result.apply_s = time.perf_counter() - started
    result.apply_ops = len(applied.done)
    again = new_session(spec_dir, endpoint, watch)
    started = time.perf_counter()
    replan = again.plan()
    result.replan_s = time.perf_counter() - started
    result.replan_ops = len(replan.operations)
    result.replan_calls = again.clients.total_calls

    tagged_dir = write_spec(workdir / f"scale{n}-tagged", n, tables_only=True,
                            extra_tag="Wave: two")
    tagger = new_session(tagged_dir, endpoint, watch)
    tag_plan = tagger.plan()
    result.tag_ops = sum(1 for op in tag_plan.operations if op.op == "TagResource")
    sends: list[float] = []
    lock = threading.Lock()

    def sent(**_: Any) -> None:
        with lock:
            sends.append(time.monotonic())

    tagger.clients.dynamodb().meta.events.register("before-send.dynamodb.TagResource", sent)
    started = time.perf_counter()
    tagger.apply(tag_plan, allowed=frozenset())
    result.tag_apply_s = time.perf_counter() - started
    result.tag_calls = len(sends)
    result.tag_max_per_second, result.tag_max_calendar_second = most_in_a_second(sends)
    final = new_session(tagged_dir, endpoint, watch)
    result.final_ops = len(final.plan().operations)
    result.retries = watch.total
    result.throttled = sum(watch.throttled.values())
    return result


def report_scale(r: ScaleResult) -> list[str]:
    print(f"\n{r.n} tables (tables only), library, on the local target:\n")
    rows = [
        ["apply from empty", f"{r.apply_s:.1f} s", f"{r.apply_ops} operations, no error"],
        ["re-plan", f"{r.replan_s:.1f} s",
         f"{r.replan_ops} operations, {r.replan_calls} calls ({r.replan_calls / r.n:.2f}/table)"],
        ["tag change of every table (apply)", f"{r.tag_apply_s:.1f} s",
         f"{r.tag_ops} TagResource planned, {r.tag_calls} sent"],
        ["TagResource per second", f"max {r.tag_max_per_second}",
         f"in any 1 s window; {r.tag_max_calendar_second} in one calendar second"],
        ["re-plan after the tag change", "", f"{r.final_ops} operations"],
        ["retries / throttled", "", f"{r.retries} / {r.throttled}"],
    ]
    print_table(["step", "time", "result"], rows)
    ok = (r.replan_ops == 0 and r.final_ops == 0 and r.tag_calls == r.tag_ops == r.n
          and r.tag_max_per_second <= TAG_RATE and r.throttled == 0)
    print(f"\nverdict: {r.n} tables applied and planned without errors, TagResource at most "
          f"{r.tag_max_per_second}/s (wanted <= {TAG_RATE}), re-plans empty: "
          f"{'PASS' if ok else 'MISS'}")
    return [] if ok else [f"{r.n} tables"]


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


class LocalServe:
    """The embedded local target in a subprocess, on a free port on 127.0.0.1.

    It is the test suite's ``tests/local_target_process.py``: the local target closes moto's
    ``/moto-api/reset``, so it is emptied through that process's stdin instead. Its access
    key becomes this process's AWS keys (the CLI runs inherit them).
    """

    def __init__(self, exe: str, state_dir: Path) -> None:
        import re
        import time

        started = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, str(REPO / "tests" /
                                                          "local_target_process.py"),
                                      str(state_dir)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        match = re.search(r"serving at (http://127\.0\.0\.1:\d+) key (\S+)",
                          self.proc.stdout.readline())
        if match is None:
            self.proc.kill()
            raise SystemExit("the local target did not start")
        self.endpoint = match.group(1)
        os.environ["AWS_ACCESS_KEY_ID"] = os.environ["AWS_SECRET_ACCESS_KEY"] = match.group(2)
        self.startup_seconds = time.perf_counter() - started

    def reset(self, endpoint: str) -> None:
        """Forget every resource (the local target at ``endpoint`` is this one)."""
        assert endpoint == self.endpoint and self.proc.stdin and self.proc.stdout
        self.proc.stdin.write("reset\n")
        self.proc.stdin.flush()
        if self.proc.stdout.readline().strip() != "ok":
            raise SystemExit("the local target did not reset")

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()  # saves and stops
        self.proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: N = 1, 10 and 2 runs per plan")
    parser.add_argument("--sizes", type=lambda s: tuple(int(x) for x in s.split(",")),
                        help="comma-separated table counts (default 1,10,40,200)")
    parser.add_argument("--runs", type=int, help="no-change plan runs per N (default 5)")
    parser.add_argument("--profile", action="store_true",
                        help="also cProfile a library no-change plan (at N=40, else the "
                        "largest N)")
    parser.add_argument("--floor-runs", type=int, default=5,
                        help=f"no-change plans (and floor runs) per input at N={FLOOR_N} "
                        "(default 5; 0 skips the floor comparison)")
    parser.add_argument("--scale", type=int, default=SCALE_N,
                        help=f"the large run's table count (default {SCALE_N}; 0 skips it)")
    parser.add_argument("--no-bytecode-cache", action="store_true",
                        help="run the subprocesses in this environment as it is (by default "
                        "they may write .pyc files, to a temporary PYTHONPYCACHEPREFIX)")
    args = parser.parse_args()
    sizes: tuple[int, ...] = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    runs: int = args.runs or (2 if args.quick else 5)

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started ignoring it
    with tempfile.TemporaryDirectory(prefix="tablesmith-bench-") as tmp:
        workdir = Path(tmp)
        fake_aws_environment(workdir)  # before botocore or moto are imported or started
        bytecode = "" if args.no_bytecode_cache else use_bytecode_cache(workdir)
        sys.path.insert(0, str(REPO / "tests"))
        exe = str(Path(sys.executable).parent / "tablesmith")
        pool = PoolWarnings()
        logging.getLogger("urllib3.connectionpool").addHandler(pool)
        print(f"bench_plan: python {platform.python_version()} on {platform.system()} "
              f"{platform.machine()}, {os.cpu_count()} CPU(s); sizes {sizes}, {runs} run(s)")
        if bytecode:
            print(bytecode)
        # the embedded local target: a moto server plus what the environments use and plain
        # moto lacks (AWS Backup selections, AWS-managed IAM policies, replicas)
        server = LocalServe(exe, workdir / "local-state")
        try:
            import moto

            print(f"tablesmith local serve (moto {moto.__version__} + extensions) at "
                  f"{server.endpoint} (started in {server.startup_seconds:.2f} s)")
            results = []
            for n in sizes:
                print(f"  N={n} ...", flush=True)
                results.append(run_size(n, runs, workdir, server.endpoint, exe, server.reset))
            missed = report(results, runs, pool.count)
            if args.floor_runs:
                rows = floor_section(workdir, args.floor_runs, server.endpoint, exe,
                                     server.reset)
                missed += report_floor(rows, args.floor_runs)
            if args.scale:
                print(f"  N={args.scale}: apply, re-plan, tag change ...", flush=True)
                missed += report_scale(scale_run(args.scale, workdir, server.endpoint,
                                                 server.reset))
            at = PLAN_TARGET_N if PLAN_TARGET_N in sizes else max(sizes)
            server.reset(server.endpoint)  # the largest N's tables are there: recreate these
            spec_dir = workdir / f"spec{at}"
            setup = new_session(spec_dir, server.endpoint, RetryWatch())
            setup.apply(setup.plan(), allowed=frozenset())
            breakdown(spec_dir, server.endpoint, at, runs)
            if args.profile:
                profile_plan(spec_dir, server.endpoint, 30)
        except KeyboardInterrupt:
            print("\ninterrupted: stopping the moto server", file=sys.stderr)
            raise SystemExit(130) from None
        finally:
            server.stop()
    if missed:
        sys.exit(1)


if __name__ == "__main__":
    main()
