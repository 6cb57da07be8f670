"""Start-up cost of the embedded local target.

Two views, each printed as a table:

1. in-process phases: importing moto, installing tablesmith's extensions, loading the saved
   state, starting the server, and the first AWS call answered (DescribeTable), for an empty
   state and for the state of the `dev` and `prod` examples;
2. the command line: wall time of `tablesmith plan examples --env dev --local` against the
   same no-change plan through `--endpoint-url` to an already running local target; the
   difference is what `--local` costs per command.

    .venv/bin/python bench/bench_local.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TABLESMITH = str(Path(sys.executable).with_name("tablesmith"))


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
print(json.dumps({{'import moto': t1 - t0, 'install extensions': t2 - t1,
                  'load state + start server': t4 - t3, 'first call answered': t5 - t4,
                  'total to first call': t5 - t0}}))
"""


def phases(state: Path, runs: int) -> dict[str, float]:
    import json

    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", _phases_script(state)], capture_output=True,
                             text=True, check=True).stdout.strip().splitlines()[-1]
        for key, value in json.loads(out).items():
            samples.setdefault(key, []).append(value)
    return {k: statistics.median(v) for k, v in samples.items()}


def wall(args: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run([TABLESMITH, *args], capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - started)
        if result.returncode not in (0, 2):
            raise SystemExit(result.stderr)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    os.environ["TABLESMITH_LOCAL_REPLICA_SECONDS"] = "0.2"
    os.environ["TABLESMITH_POLL_INTERVAL"] = "0.2"
    with tempfile.TemporaryDirectory() as tmp:
        empty, dev, prod = Path(tmp, "empty"), Path(tmp, "dev"), Path(tmp, "prod")
        for state, env in ((dev, "dev"), (prod, "prod")):
            subprocess.run([TABLESMITH, "apply", str(EXAMPLES), "--env", env, "--local",
                            "--state-dir", str(state), "--auto-approve"], capture_output=True,
                           check=True)
        print(f"bench_local: median of {runs} runs; python {sys.version.split()[0]}, "
              f"{os.cpu_count()} CPU(s)\n")
        rows = {name: phases(state, runs) for name, state in
                (("empty state", empty), ("dev examples", dev), ("prod examples", prod))}
        keys = list(next(iter(rows.values())))
        print(f"{'phase (s)':28}" + "".join(f"{n:>16}" for n in rows))
        for key in keys:
            print(f"{key:28}" + "".join(f"{rows[n][key]:16.3f}" for n in rows))
        size = (dev / "state.json").stat().st_size
        print(f"\nstate file of the dev examples: {size / 1024:.1f} KiB\n")

        local_plan = wall(["plan", str(EXAMPLES), "--env", "dev", "--local", "--state-dir",
                           str(dev), "--detailed-exitcode"], runs)
        server = subprocess.Popen([TABLESMITH, "local", "serve", str(EXAMPLES), "--state-dir",
                                   str(dev)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        assert server.stdout is not None
        match = re.search(r"(http://127\.0\.0\.1:\d+)", server.stdout.readline())
        assert match
        try:
            key = json.loads((dev / "credentials.json").read_text())["access_key"]
            env = {**os.environ, "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": key}
            os.environ.update(env)
            served_plan = wall(["plan", str(EXAMPLES), "--env", "dev", "--endpoint-url",
                                match.group(1), "--detailed-exitcode"], runs)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
        print(f"{'command (no-change plan, dev)':44}{'wall s':>8}")
        print(f"{'tablesmith plan --local':44}{local_plan:8.3f}")
        print(f"{'tablesmith plan --endpoint-url (served)':44}{served_plan:8.3f}")
        print(f"{'cost of --local per command':44}{local_plan - served_plan:8.3f}")


if __name__ == "__main__":
    main()
