"""Fixed cost per command of the embedded local target, against a running `local serve`.

Two views, each printed as a table:

1. in-process phases: importing moto, installing tablesmith's extensions, loading the saved
   state, starting the server, and the first AWS call answered (DescribeTable), for an empty
   state and for the state of the `dev` and `prod` examples;
2. the command line, best and median of ``--runs`` rounds (each round runs every case once,
   so that all of them see the same load): no-change plans of ``examples/`` (YAML) and of a
   generated 40-table spec in the module's HCL, each one-shot with ``--local`` (the command
   starts the local target: in a helper process, and with ``TABLESMITH_LOCAL_IN_PROCESS=1``
   in its own), through ``--endpoint-url`` to a running ``tablesmith local serve`` of a copy
   of the same state, and with ``--local`` while that serve runs (the command finds it
   through ``endpoint.json`` and uses it). The verdict compares the one-shot ``--local``
   plan of ``examples/`` with the served one (target: within 1.5x).

    .venv/bin/python bench/bench_local.py [--runs N]

Only public interfaces: the ``tablesmith`` console script, and boto3 for the first call.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from specgen import use_bytecode_cache, write_hcl_spec

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TABLESMITH = str(Path(sys.executable).with_name("tablesmith"))
LOCAL_RATIO_TARGET = 1.5
HCL_TABLES = 40


def _phases_script(state: Path) -> str:
    return f"""
import time, json
t0 = time.perf_counter()
import moto.server, moto.backends  # noqa
t1 = time.perf_counter()
from tablesmith.local.server import LocalTarget, _prepare_moto
_prepare_moto()
t2 = time.perf_counter()
target = LocalTarget(__import__('pathlib').Path({str(state)!r}))
t3 = time.perf_counter()
with target as endpoint:
    t4 = time.perf_counter()
    import boto3
    c = boto3.client('dynamodb', endpoint_url=endpoint, region_name='af-south-1',
                     aws_access_key_id=target.access_key,
                     aws_secret_access_key=target.access_key)
    try:
        c.describe_table(TableName='tenants')
    except c.exceptions.ResourceNotFoundException:
        pass
    t5 = time.perf_counter()
t6 = time.perf_counter()
print(json.dumps({{'import moto': t1 - t0, 'install extensions': t2 - t1,
                  'load state + start server': t4 - t3, 'first call answered': t5 - t4,
                  'stop (and save)': t6 - t5, 'total': t6 - t0}}))
"""


def phases(state: Path, runs: int) -> dict[str, float]:
    """The best of ``runs`` of each phase (in fresh processes)."""
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        out = (
            subprocess.run(
                [sys.executable, "-c", _phases_script(state)],
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        for key, value in json.loads(out).items():
            samples.setdefault(key, []).append(value)
    return {k: min(v) for k, v in samples.items()}


def interleaved(
    commands: list[tuple[list[str], dict[str, str] | None]], runs: int
) -> list[list[float]]:
    """Wall times of ``runs`` rounds, each running every command once in turn (after one
    untimed round), so that all of them see the same load."""
    times: list[list[float]] = [[] for _ in commands]
    for i in range(runs + 1):
        for j, (args, env) in enumerate(commands):
            elapsed = wall(args, env)
            if i:
                times[j].append(elapsed)
    return times


def wall(args: list[str], env: dict[str, str] | None = None) -> float:
    """Wall time of one run of ``tablesmith args``, which must exit 0."""
    started = time.perf_counter()
    result = subprocess.run(
        [TABLESMITH, *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:  # --detailed-exitcode: 0 is "no changes"
        raise SystemExit(
            f"tablesmith {' '.join(args)}: exit {result.returncode}\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return elapsed


@contextmanager
def serving(spec: Path, state: Path) -> Iterator[str]:
    """`tablesmith local serve` of ``state``, stopped (SIGTERM) on the way out."""
    server = subprocess.Popen(
        [TABLESMITH, "local", "serve", str(spec), "--state-dir", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stderr is not None
    try:
        match = re.search(r"(http://127\.0\.0\.1:\d+)", server.stdout.readline())
        if match is None:
            raise SystemExit(f"local serve did not start: {server.stderr.read()}")
        yield match.group(1)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)


def signed_by(state: Path) -> dict[str, str]:
    """This environment, with the state directory's access key as the AWS credentials."""
    key = json.loads((state / "credentials.json").read_text())["access_key"]
    return {**os.environ, "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": key}


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    os.environ["TABLESMITH_LOCAL_REPLICA_SECONDS"] = "0.2"
    os.environ["TABLESMITH_POLL_INTERVAL"] = "0.2"
    with tempfile.TemporaryDirectory() as tmp:
        print(use_bytecode_cache(Path(tmp)))
        empty, dev, prod = Path(tmp, "empty"), Path(tmp, "dev"), Path(tmp, "prod")
        hcl, hcl_state = Path(tmp, "hcl"), Path(tmp, "hcl-state")
        write_hcl_spec(hcl, HCL_TABLES, tables_only=True)
        for spec, state, env in (
            (EXAMPLES, dev, "dev"),
            (EXAMPLES, prod, "prod"),
            (hcl, hcl_state, "dev"),
        ):
            subprocess.run(
                [
                    TABLESMITH,
                    "apply",
                    str(spec),
                    "--env",
                    env,
                    "--local",
                    "--state-dir",
                    str(state),
                    "--auto-approve",
                ],
                capture_output=True,
                check=True,
            )
        load = os.getloadavg()[0]
        print(
            f"bench_local: best of {runs} runs (median too for commands); python "
            f"{sys.version.split()[0]}, {os.cpu_count()} CPU(s), load average {load:.1f}\n"
        )
        rows = {
            name: phases(state, runs)
            for name, state in (
                ("empty state", empty),
                ("dev examples", dev),
                ("prod examples", prod),
            )
        }
        keys = list(next(iter(rows.values())))
        print_table(
            ["phase (s, best)", *rows],
            [[key, *(f"{rows[n][key]:.3f}" for n in rows)] for key in keys],
        )
        size = (dev / "state.json").stat().st_size
        print(f"\nstate file of the dev examples: {size / 1024:.1f} KiB\n")

        results: list[tuple[str, str, list[float]]] = []
        for name, spec, state in (
            ("examples/ (YAML), dev", EXAMPLES, dev),
            (f"{HCL_TABLES} tables (HCL), dev", hcl, hcl_state),
        ):
            plan = ["plan", str(spec), "--env", "dev", "--detailed-exitcode"]
            served_state = state.with_name(state.name + "-served")  # a copy, for local serve
            shutil.copytree(state, served_state)
            local = [*plan, "--local", "--state-dir", str(state)]
            local_served = [*plan, "--local", "--state-dir", str(served_state)]
            in_process = {**os.environ, "TABLESMITH_LOCAL_IN_PROCESS": "1"}
            with serving(spec, served_state) as endpoint:
                through = [*plan, "--endpoint-url", endpoint]
                cases = {
                    "--local (one-shot, helper process)": (local, None),
                    "--local (one-shot, in-process)": (local, in_process),
                    "--endpoint-url (local serve)": (through, signed_by(served_state)),
                    "--local (finds local serve)": (local_served, None),
                }
                times = interleaved(list(cases.values()), runs)
            results += [(name, how, t) for how, t in zip(cases, times, strict=True)]
        print_table(
            ["no-change plan", "target", "best s", "median s"],
            [
                [spec, how, f"{min(t):.3f}", f"{statistics.median(t):.3f}"]
                for spec, how, t in results
            ],
        )
        print(
            "\ncommands: tablesmith plan SPEC --env dev --detailed-exitcode, with --local "
            "--state-dir STATE, or with --endpoint-url URL (AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY = the state's key) while `tablesmith local serve SPEC "
            "--state-dir STATE` runs"
        )
        one_shot, served = min(results[0][2]), min(results[2][2])
        ratio = one_shot / served
        verdict = "PASS" if ratio <= LOCAL_RATIO_TARGET else "MISS"
        print(
            f"\n--local one-shot / served (examples, best): {one_shot:.3f} / {served:.3f} = "
            f"{ratio:.2f}x (target <= {LOCAL_RATIO_TARGET}x): {verdict}; cost of --local "
            f"per command: {one_shot - served:.3f} s"
        )


if __name__ == "__main__":
    main()
