"""Benchmark: wall time of ``tablesmith validate`` on a large spec, and of ``tablesmith --help``.

    .venv/bin/python bench/bench_validate.py             # 200 tables, 5 runs per case
    .venv/bin/python bench/bench_validate.py --quick     # smoke run: 40 tables, 2 runs
    .venv/bin/python bench/bench_validate.py --runs 9 --tables 500 --profile

Each case runs the installed ``tablesmith`` console script as a subprocess (what a user or CI
waits for: interpreter start, imports, parsing, validation of every table in every
environment), once untimed to warm the disk cache, then ``--runs`` times. The verdict compares
the best run with the target (on a shared machine the best run is the least disturbed one).
Then ``python -X importtime`` shows which imports ``--help`` pays for (the best of three runs
per module), to see what could be made lazy. ``--profile`` adds a
cProfile of an in-process ``tablesmith.load`` of the generated spec.

The same tables are also written as ``module`` blocks of the dynamodb_table module (one
``tables.tf``, every block in ``dev``) and, for comparison, as YAML with the same effective
tables (``only_in: [dev]``).

Targets: validate of 200 tables < 1.0 s wall, in YAML and as 200 module blocks in HCL, the
HCL within 2x of the same tables in YAML; ``--help`` < 0.3 s wall.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from specgen import use_bytecode_cache, write_hcl_spec, write_spec, write_yaml_twin

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
VALIDATE_TARGET_S = 1.0
HCL_RATIO_TARGET = 2.0
HELP_TARGET_S = 0.3
_IMPORTTIME = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|( *)(\S+)\s*$")


@dataclass(frozen=True)
class Case:
    """One timed command."""

    name: str
    argv: list[str]
    target_s: float | None
    expect: str  # a substring stdout must contain (proves the command did its work)


@dataclass(frozen=True)
class Timing:
    """The wall times of one case."""

    case: Case
    seconds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def verdict(self) -> str:
        if self.case.target_s is None:
            return "info"
        return "PASS" if self.best < self.case.target_s else "MISS"


def tablesmith_executable() -> str:
    """The console script next to this interpreter (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "tablesmith"
    if beside.exists():
        return str(beside)
    found = shutil.which("tablesmith")
    if found is None:
        sys.exit("tablesmith is not installed in this environment (pip install -e .)")
    return found


def run_once(case: Case) -> float:
    """Run the case once; return its wall time; fail loudly if it did not work."""
    started = time.perf_counter()
    proc = subprocess.run(case.argv, capture_output=True, text=True, check=False,
                          stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0 or case.expect not in proc.stdout:
        sys.exit(f"{case.name}: exit {proc.returncode}, expected {case.expect!r} in the output\n"
                 f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return elapsed


def time_case(case: Case, runs: int) -> Timing:
    run_once(case)  # warm-up: disk cache and .pyc files, not counted
    return Timing(case, [run_once(case) for _ in range(runs)])


@dataclass(frozen=True)
class Import:
    """One line of ``-X importtime``: a module, who imported it, and its times."""

    name: str
    parent: str | None  # the module whose import triggered this one (None: top level)
    self_us: int
    cumulative_us: int
    depth: int


def parse_importtime(stderr: str) -> list[Import]:
    """``-X importtime`` lines, with each module's importer (children come before parents)."""
    rows: list[tuple[str, int, int, int]] = []
    parents: dict[str, str] = {}
    pending: dict[int, list[str]] = {}
    for line in stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if not match:
            continue
        name, depth = match[4], (len(match[3]) - 1) // 2
        for child in pending.pop(depth + 1, []):
            parents[child] = name
        pending.setdefault(depth, []).append(name)
        rows.append((name, int(match[1]), int(match[2]), depth))
    return [Import(n, parents.get(n), s, c, d) for n, s, c, d in rows]


def importtime(argv: list[str], repeats: int = 3) -> list[Import]:
    """The imports of the fastest of ``repeats`` runs of ``python -X importtime argv``."""
    runs = []
    for _ in range(repeats):
        proc = subprocess.run([sys.executable, "-X", "importtime", *argv], capture_output=True,
                              text=True, check=False, stdin=subprocess.DEVNULL)
        runs.append(parse_importtime(proc.stderr))
    return min(runs, key=lambda imports: sum(i.cumulative_us for i in imports if i.depth == 0))


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(row, widths, strict=True))))


def print_importtime(exe: str, top: int) -> None:
    imports = importtime([exe, "--help"])
    total = sum(i.cumulative_us for i in imports if i.depth == 0)
    ours = sum(i.cumulative_us for i in imports if i.depth == 0 and i.name.startswith("tablesmith"))
    print(f"\nImports of `tablesmith --help` (python -X importtime, fastest of 3 runs): "
          f"{total / 1000:.1f} ms in all, {ours / 1000:.1f} ms under tablesmith.cli")

    def ms(us: int) -> str:
        return f"{us / 1000:.1f}"

    direct = [i for i in imports if i.depth > 0 and (i.parent or "").startswith("tablesmith")]
    direct.sort(key=lambda i: i.cumulative_us, reverse=True)
    print(f"\nTop {top} imports made by tablesmith's own modules, by cumulative time "
          "(each is charged to its first importer; candidates to make lazy):")
    print_table(["module", "imported by", "cumulative ms", "self ms"],
                [[i.name, i.parent or "-", ms(i.cumulative_us), ms(i.self_us)]
                 for i in direct[:top]])
    slow = sorted(imports, key=lambda i: i.self_us, reverse=True)[:top]
    print(f"\nTop {top} by self time, any depth (where the time is actually spent):")
    print_table(["module", "imported by", "self ms", "cumulative ms"],
                [[i.name, i.parent or "-", ms(i.self_us), ms(i.cumulative_us)] for i in slow])


def print_profile(spec_dir: Path, top: int) -> None:
    """cProfile of loading and validating the spec in-process (imports excluded)."""
    import cProfile
    import pstats

    import tablesmith

    tablesmith.load(str(EXAMPLES))  # import everything first: profile the work, not imports
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    spec = tablesmith.load(str(spec_dir))
    profiler.disable()
    elapsed = time.perf_counter() - started
    count = sum(len(spec.tables(e)) for e in spec.tables_by_env)
    print(f"\ncProfile of in-process tablesmith.load({spec_dir.name}/): {count} effective "
          f"tables in {elapsed:.3f} s (with profiler overhead)")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 40 tables, 2 runs per case")
    parser.add_argument("--runs", type=int, help="timed runs per case (default 5; quick 2)")
    parser.add_argument("--tables", type=int, help="tables in the generated spec (default 200)")
    parser.add_argument("--top", type=int, default=10, help="rows of the import listings")
    parser.add_argument("--profile", action="store_true",
                        help="also cProfile an in-process load of the generated spec")
    parser.add_argument("--no-bytecode-cache", action="store_true",
                        help="run the subprocesses in this environment as it is (by default "
                        "they may write .pyc files, to a temporary PYTHONPYCACHEPREFIX)")
    args = parser.parse_args()
    runs = args.runs or (2 if args.quick else 5)
    tables = args.tables or (40 if args.quick else 200)

    exe = tablesmith_executable()
    print(f"bench_validate: {runs} timed run(s) per case after 1 warm-up; python "
          f"{platform.python_version()} on {platform.system()} {platform.machine()}, "
          f"{os.cpu_count()} CPU(s); {exe}")
    with tempfile.TemporaryDirectory(prefix="tablesmith-bench-") as tmp:
        if not args.no_bytecode_cache:
            print(use_bytecode_cache(Path(tmp)))
        spec_dir = write_spec(Path(tmp) / f"spec{tables}", tables)
        size_kib = sum(f.stat().st_size for f in spec_dir.iterdir()) / 1024
        print(f"generated spec: {tables} tables x 3 environments (dev, sit, prod) = "
              f"{tables * 3} effective tables, {size_kib:.0f} KiB YAML\n")
        hcl_dir = write_hcl_spec(Path(tmp) / f"hcl{tables}", tables)
        twin_dir = write_yaml_twin(Path(tmp) / f"twin{tables}", tables)
        target = VALIDATE_TARGET_S if tables == 200 else None
        cases = [
            Case(f"validate {tables} tables", [exe, "validate", str(spec_dir)], target,
                 f"Valid: {tables * 3} table(s)"),
            Case(f"validate {tables} module blocks (HCL)", [exe, "validate", str(hcl_dir)],
                 target, f"Valid: {tables} table(s)"),
            Case(f"validate the same {tables} tables (YAML)", [exe, "validate", str(twin_dir)],
                 None, f"Valid: {tables} table(s)"),
            Case("validate examples/", [exe, "validate", str(EXAMPLES)], None, "Valid:"),
            Case("validate examples/terraform", [exe, "validate", str(EXAMPLES / "terraform")],
                 None, "Valid:"),
            Case("--help", [exe, "--help"], HELP_TARGET_S, "Usage:"),
        ]
        timings = [time_case(case, runs) for case in cases]
        print_table(
            ["case", "median s", "best s", "target", "verdict"],
            [[t.case.name, f"{t.median:.3f}", f"{t.best:.3f}",
              f"< {t.case.target_s:.1f} s" if t.case.target_s else "-", t.verdict]
             for t in timings])
        hcl, twin = timings[1].best, timings[2].best
        ratio_ok = hcl / twin <= HCL_RATIO_TARGET
        print(f"\nHCL / YAML of the same {tables} tables (best): {hcl:.3f} / {twin:.3f} = "
              f"{hcl / twin:.2f}x (target <= {HCL_RATIO_TARGET:.0f}x): "
              f"{'PASS' if ratio_ok else 'MISS'}")
        if target is None:
            print(f"\n(the 1.0 s target is for 200 tables; {tables} were generated)")
        print_importtime(exe, args.top)
        if args.profile:
            print_profile(spec_dir, 25)
    if any(t.verdict == "MISS" for t in timings) or not ratio_ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
