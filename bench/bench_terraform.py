"""Benchmark: Terraform (the export) against tablesmith, on the same embedded local target.

    .venv/bin/python bench/bench_terraform.py              # N = 1, 10, 40; 3 timed plans each
    .venv/bin/python bench/bench_terraform.py --quick      # N = 1, 10; 1 timed plan each
    .venv/bin/python bench/bench_terraform.py --sizes 40 --runs 5 --parallelism 10

For each N (a ``specgen`` spec, environment ``dev``: no replicas; backups and alarms on, as
the defaults have them) and for each tool, a fresh ``tablesmith local serve`` (its own state
directory) with a counting proxy on 127.0.0.1 in front of it:

* Terraform: ``tablesmith export terraform`` of the spec, a provider override file pointing
  every provider at the endpoint (fake keys, no STS / metadata calls), ``terraform init``
  offline through the filesystem mirror (``tests/terraform_support.py``; untimed), then
  ``terraform apply -auto-approve`` (timed) and ``terraform plan -refresh=true
  -detailed-exitcode`` (must exit 0: no changes);
* tablesmith: ``tablesmith apply --endpoint-url … --auto-approve`` (timed) and ``tablesmith
  plan --endpoint-url … --detailed-exitcode`` (must exit 0).

Both are timed as the command a user runs (a subprocess, wall clock, process start-up
included). The apply is run twice per tool, each on a fresh target: once through the proxy to
count its calls, and once straight to the server to be timed (the verdict), since the proxy
costs every call a hop through this process: more of a tool's time the faster it is.
Each tool's defaults are kept: Terraform's ``-parallelism=10`` (unless
``--parallelism``) and tablesmith's 2 s poll interval (``TABLESMITH_POLL_INTERVAL`` unset).

AWS calls are counted server-side, the same way for both tools: every HTTP request that
reaches the proxy is one call, named by the service in its SigV4 ``Authorization`` scope and
by ``X-Amz-Target`` / the query ``Action`` / the REST method and path. Apply goes through the
proxy (one run, timed and counted). No-change plans are timed going straight to the server
(``--runs`` times; median), and one more run of each goes through the proxy to be counted,
so the plan ratio carries no proxy overhead. tablesmith's own count (``apply --json``
``aws_calls``) is printed next to the proxy's as a cross-check.

Target: tablesmith's no-change plan >= 10x faster than Terraform's at N = 40.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from bench_plan import FLOOR_RATIO, fake_aws_environment, floor_run, print_table
from specgen import use_bytecode_cache, write_spec

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import FrameType

REPO = Path(__file__).resolve().parents[1]
EXE = str(Path(sys.executable).with_name("tablesmith"))
SIZES = (1, 10, 40)
QUICK_SIZES = (1, 10)
ENV = "dev"
KEY_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")  # set to the local target's
TARGET_N = 40
TARGET_RATIO = 10.0
SERVICES = ("dynamodb", "backup", "iam", "cloudwatch", "sts", "kms")
COMMAND_TIMEOUT = 1800.0
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authorization", "proxy-authenticate", "content-length"}
_SCOPE = re.compile(r"Credential=[^/]+/\d+/[^/]+/([^/]+)/aws4_request")


# ------------------------------------------------------------------ the counting proxy


class CountingProxy:
    """A reverse proxy on 127.0.0.1 that forwards to ``upstream`` and counts each request."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._local = threading.local()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as both SDKs expect

            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                proxy.count(self.command, self.path, self.headers, body)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in HOP_BY_HOP and k.lower() != "host"}
                # the local target answers only requests addressed to itself
                headers["Host"] = f"{proxy.host}:{proxy.port}"
                status, reason, out_headers, data = proxy.send(self.command, self.path,
                                                               body, headers)
                self.send_response(status, reason)
                for k, v in out_headers:
                    if k.lower() not in HOP_BY_HOP:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def send(self, method: str, path: str, body: bytes,
             headers: dict[str, str]) -> tuple[int, str, list[tuple[str, str]], bytes]:
        for attempt in (1, 2):  # a kept-alive connection the server closed: reconnect once
            conn = getattr(self._local, "conn", None)
            if conn is None:
                conn = self._local.conn = http.client.HTTPConnection(self.host, self.port,
                                                                     timeout=300)
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                return response.status, response.reason, response.getheaders(), data
            except (http.client.HTTPException, ConnectionError):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def count(self, method: str, path: str, headers: Any, body: bytes) -> None:
        scope = _SCOPE.search(headers.get("Authorization", ""))
        service = scope.group(1) if scope else "?"
        target = headers.get("X-Amz-Target")
        if target:
            operation = target.rsplit(".", 1)[-1]
        else:
            query = parse_qs(urlsplit(path).query)
            if not query.get("Action") and body and b"Action=" in body:
                query = parse_qs(body.decode("utf-8", "replace"))
            action = query.get("Action")
            # REST (AWS Backup): method and the path's first segment
            operation = action[0] if action else \
                f"{method} /{urlsplit(path).path.strip('/').split('/')[0]}"
        with self._lock:
            self.calls[f"{service}.{operation}"] += 1

    def take(self) -> Counter[str]:
        """The calls counted since the last ``take``."""
        with self._lock:
            calls, self.calls = self.calls, Counter()
        return calls

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def local_target(state_dir: Path) -> Iterator[tuple[str, CountingProxy]]:
    """A fresh ``tablesmith local serve``: (its URL, a counting proxy in front of it)."""
    state_dir.mkdir(parents=True)
    log, err = state_dir.with_suffix(".out"), state_dir.with_suffix(".err")
    with log.open("w") as out, err.open("w") as errors:
        proc = subprocess.Popen([EXE, "local", "serve", str(state_dir), "--state-dir",
                                 str(state_dir)], stdout=out, stderr=errors,
                                stdin=subprocess.DEVNULL)
    proxy = None
    try:
        deadline = time.monotonic() + 60
        while (match := re.search(r"serving at (http://127\.0\.0\.1:\d+)",
                                  log.read_text())) is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"tablesmith local serve did not start: {err.read_text()}")
            time.sleep(0.05)
        proxy = CountingProxy(match.group(1))
        # its own access key (requests signed otherwise are refused), for every command here
        key = json.loads((state_dir / "credentials.json").read_text())["access_key"]
        saved = {name: os.environ.get(name) for name in KEY_VARIABLES}
        os.environ.update(dict.fromkeys(KEY_VARIABLES, key))
        try:
            yield match.group(1), proxy
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
    finally:
        if proxy is not None:
            proxy.close()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


# ------------------------------------------------------------------ the two tools


def run(argv: list[str], what: str, *, cwd: Path | None = None,
        env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,)) -> tuple[float, str]:
    """Run a command; (wall seconds, stdout); exit unless its exit code is in ``ok``."""
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                          check=False, stdin=subprocess.DEVNULL, timeout=COMMAND_TIMEOUT)
    elapsed = time.perf_counter() - started
    if proc.returncode not in ok:
        sys.exit(f"{what}: `{' '.join(argv)}` exited {proc.returncode} (wanted {ok})\n"
                 f"stdout (tail):\n{proc.stdout[-6000:]}\nstderr (tail):\n{proc.stderr[-6000:]}")
    return elapsed, proc.stdout


def provider_override(workdir: Path, endpoint: str) -> None:
    """Point every provider of the export (default and aliases) at ``endpoint``."""
    providers = json.loads((workdir / "terraform.tf.json").read_text())["provider"]["aws"]
    overrides = []
    for provider in providers:
        override: dict[str, Any] = {
            "access_key": os.environ["AWS_ACCESS_KEY_ID"],  # the local target's (local_target)
            "secret_key": os.environ["AWS_SECRET_ACCESS_KEY"],
            "skip_credentials_validation": True, "skip_requesting_account_id": True,
            "skip_metadata_api_check": True, "skip_region_validation": True,
            "endpoints": [dict.fromkeys(SERVICES, endpoint)],
        }
        if "alias" in provider:
            override["alias"] = provider["alias"]
        overrides.append(override)
    (workdir / "zz_local_override.tf.json").write_text(
        json.dumps({"provider": {"aws": overrides}}, indent=2) + "\n")


@dataclass
class ToolResult:
    """One tool at one N."""

    apply_s: float = 0.0  # through the counting proxy
    apply_straight_s: float = 0.0  # the same apply on another fresh target, straight to it
    apply_calls: Counter[str] = field(default_factory=Counter)
    plan_s: list[float] = field(default_factory=list)
    plan_calls: Counter[str] = field(default_factory=Counter)
    own_count: int | None = None  # tablesmith's own aws_calls (apply --json)
    resources: int = 0  # Terraform: resources in the state
    init_s: float = 0.0
    floor_s: list[float] = field(default_factory=list)  # bench/floor_plan.py --whole
    floor_calls: int = 0


def bench_terraform(n: int, spec_dir: Path, workdir: Path, runs: int, parallelism: int,
                    tf_cls: Any, executable: str, plugin_dir: Path) -> ToolResult:
    result = ToolResult()
    with local_target(workdir / f"state-terraform-{n}") as (url, proxy):
        tf = tf_cls(executable, plugin_dir, workdir / f"terraform-{n}")
        tf.env.pop("TF_LOG", None)
        env = tf.env
        run([EXE, "export", "terraform", str(spec_dir), "--env", ENV, "-o", str(tf.workdir)],
            "export")
        provider_override(tf.workdir, proxy.endpoint)
        result.init_s, _ = run([executable, "init", "-input=false", "-no-color"],
                               "terraform init", cwd=tf.workdir, env=env)
        proxy.take()
        common = ["-input=false", "-no-color", f"-parallelism={parallelism}"]
        result.apply_s, _ = run([executable, "apply", "-auto-approve", *common],
                                f"N={n}: terraform apply", cwd=tf.workdir, env=env)
        result.apply_calls = proxy.take()
        _, listing = run([executable, "state", "list"], "terraform state list",
                         cwd=tf.workdir, env=env)
        result.resources = len(listing.split())
        plan = [executable, "plan", "-refresh=true", "-detailed-exitcode", *common]
        run(plan, f"N={n}: terraform plan (counted)", cwd=tf.workdir, env=env)
        result.plan_calls = proxy.take()
        provider_override(tf.workdir, url)  # timed runs: straight to the server
        for _ in range(runs):
            elapsed, _ = run(plan, f"N={n}: terraform plan (must be 0: no changes)",
                             cwd=tf.workdir, env=env)
            result.plan_s.append(elapsed)
    # the apply again, timed without the proxy in the way: a fresh target and workdir
    with local_target(workdir / f"state-terraform-{n}-straight") as (url, _proxy):
        tf = tf_cls(executable, plugin_dir, workdir / f"terraform-{n}-straight")
        tf.env.pop("TF_LOG", None)
        run([EXE, "export", "terraform", str(spec_dir), "--env", ENV, "-o", str(tf.workdir)],
            "export")
        provider_override(tf.workdir, url)
        run([executable, "init", "-input=false", "-no-color"], "terraform init",
            cwd=tf.workdir, env=tf.env)
        result.apply_straight_s, _ = run(
            [executable, "apply", "-auto-approve", "-input=false", "-no-color",
             f"-parallelism={parallelism}"], f"N={n}: terraform apply (straight)",
            cwd=tf.workdir, env=tf.env)
    return result


def bench_tablesmith(n: int, spec_dir: Path, workdir: Path, runs: int) -> ToolResult:
    result = ToolResult()
    with local_target(workdir / f"state-tablesmith-{n}") as (url, proxy):
        proxy.take()
        result.apply_s, out = run([EXE, "apply", str(spec_dir), "--env", ENV,
                                   "--endpoint-url", proxy.endpoint, "--auto-approve",
                                   "--json"], f"N={n}: tablesmith apply")
        result.apply_calls = proxy.take()
        result.own_count = int(json.loads(out)["aws_calls"])
        plan = [EXE, "plan", str(spec_dir), "--env", ENV, "--detailed-exitcode",
                "--endpoint-url"]
        run([*plan, proxy.endpoint], f"N={n}: tablesmith plan (counted)")
        result.plan_calls = proxy.take()
        run([*plan, url], f"N={n}: tablesmith plan (warm-up)")  # bytecode and disk caches
        import tablesmith

        names = spec_dir / f"names-{n}.txt"
        names.write_text("\n".join(t.table_name for t in tablesmith.load(
            str(spec_dir), env=ENV).tables(ENV)) + "\n")
        floor_run(url, names, True)  # warm-up
        for _ in range(runs):  # alternating, so both see the same machine load
            elapsed, _ = run([*plan, url], f"N={n}: tablesmith plan (must be 0: no changes)")
            result.plan_s.append(elapsed)
            floor_s, result.floor_calls = floor_run(url, names, True)
            result.floor_s.append(floor_s)
    with local_target(workdir / f"state-tablesmith-{n}-straight") as (url, _proxy):
        result.apply_straight_s, _ = run([EXE, "apply", str(spec_dir), "--env", ENV,
                                          "--endpoint-url", url, "--auto-approve", "--json"],
                                         f"N={n}: tablesmith apply (straight)")
    return result


# ------------------------------------------------------------------ report


def report(results: list[tuple[int, ToolResult, ToolResult]], runs: int) -> bool:
    print(f"\nseconds: wall clock of the command; apply: from empty, straight to a fresh "
          "server (and, in brackets, the counted apply through the proxy); plan: median of "
          f"{runs} run(s), straight to the server; calls: HTTP requests counted by the proxy\n")
    rows = []
    for n, tf, ts in results:
        tf_plan, ts_plan = statistics.median(tf.plan_s), statistics.median(ts.plan_s)
        rows.append([
            str(n), str(tf.resources),
            f"{tf.apply_straight_s:.2f} ({tf.apply_s:.2f})",
            f"{ts.apply_straight_s:.2f} ({ts.apply_s:.2f})",
            f"{tf.apply_straight_s / ts.apply_straight_s:.1f}x "
            f"({tf.apply_s / ts.apply_s:.1f}x)",
            f"{tf_plan:.2f}", f"{ts_plan:.2f}", f"{tf_plan / ts_plan:.1f}x",
            str(tf.apply_calls.total()), f"{ts.apply_calls.total()} ({ts.own_count})",
            str(tf.plan_calls.total()), str(ts.plan_calls.total()),
        ])
    print_table(["N", "TF resources", "TF apply s", "TS apply s", "apply ratio",
                 "TF plan s", "TS plan s", "plan ratio", "TF apply calls",
                 "TS apply calls (own)", "TF plan calls", "TS plan calls"], rows)

    print("\nevery timed no-change plan, s (Terraform | tablesmith):")
    for n, tf, ts in results:
        print(f"  N={n}: " + " ".join(f"{t:.2f}" for t in tf.plan_s) + " | "
              + " ".join(f"{t:.2f}" for t in ts.plan_s))

    print("\nAWS calls of one no-change plan, by service (Terraform / tablesmith):\n")
    services = sorted({k.split(".")[0] for _, tf, ts in results
                       for k in (*tf.plan_calls, *ts.plan_calls)})

    def by_service(calls: Counter[str], service: str) -> int:
        return sum(v for k, v in calls.items() if k.split(".")[0] == service)

    print_table(["service", *(f"N={n}" for n, _, _ in results)],
                [[s, *(f"{by_service(tf.plan_calls, s)} / {by_service(ts.plan_calls, s)}"
                       for _, tf, ts in results)] for s in services])

    largest = max(results, key=lambda r: r[0])
    n, tf, ts = largest
    print(f"\nAWS calls of one no-change plan at N={n}, by operation "
          "(Terraform / tablesmith):\n")
    ops = sorted(set(tf.plan_calls) | set(ts.plan_calls))
    print_table(["operation", "Terraform", "tablesmith"],
                [[op, str(tf.plan_calls[op]), str(ts.plan_calls[op])] for op in ops])

    print("\nno-change plan against the bare-boto3 floor (bench/floor_plan.py --whole: the "
          "per-table reads, backup plans/selections and the role; its own process, same "
          "server, alternating with tablesmith's plans):\n")
    print_table(["N", "TS plan s", "floor s", "TS / floor", "TS plan calls", "floor calls"],
                [[str(n), f"{statistics.median(ts.plan_s):.2f}",
                  f"{statistics.median(ts.floor_s):.2f}",
                  f"{statistics.median(ts.plan_s) / statistics.median(ts.floor_s):.2f}x",
                  str(ts.plan_calls.total()), str(ts.floor_calls)] for n, _, ts in results])

    at = next((r for r in results if r[0] == TARGET_N), None)
    print()
    if at is None:
        print(f"verdict: not run at N={TARGET_N} (targets: tablesmith's no-change plan and "
              f"apply >= {TARGET_RATIO:.0f}x faster than Terraform's)")
        return True
    _, tf, ts = at
    plan_ratio = statistics.median(tf.plan_s) / statistics.median(ts.plan_s)
    apply_ratio = tf.apply_straight_s / ts.apply_straight_s
    floor_ratio = statistics.median(ts.plan_s) / statistics.median(ts.floor_s)
    verdicts = [
        [f"no-change plan, {TARGET_N} tables, whole environments", f">= {TARGET_RATIO:.0f}x "
         "faster than terraform plan", f"{plan_ratio:.1f}x", plan_ratio >= TARGET_RATIO],
        [f"apply from empty, {TARGET_N} tables", f">= {TARGET_RATIO:.0f}x faster than "
         "terraform apply", f"{apply_ratio:.1f}x", apply_ratio >= TARGET_RATIO],
        [f"no-change plan, {TARGET_N} tables, whole environments", f"<= {FLOOR_RATIO}x the "
         "floor", f"{floor_ratio:.2f}x", floor_ratio <= FLOOR_RATIO],
    ]
    print_table(["target", "wanted", "measured", "verdict"],
                [[str(v[0]), str(v[1]), str(v[2]), "PASS" if v[3] else "MISS"]
                 for v in verdicts])
    return all(bool(v[3]) for v in verdicts)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="N = 1, 10 and 1 timed plan")
    parser.add_argument("--sizes", type=lambda s: tuple(int(x) for x in s.split(",")),
                        help="comma-separated table counts (default 1,10,40)")
    parser.add_argument("--runs", type=int, help="timed no-change plans per tool and N "
                        "(default 3; 1 with --quick)")
    parser.add_argument("--parallelism", type=int, default=10,
                        help="terraform -parallelism (default 10, Terraform's own)")
    args = parser.parse_args()
    sizes: tuple[int, ...] = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    runs: int = args.runs or (1 if args.quick else 3)

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.path.insert(0, str(REPO / "tests"))
    from terraform_support import Terraform, find_plugin_dir, find_terraform

    executable = find_terraform()
    plugin_dir, why = find_plugin_dir()
    if executable is None or plugin_dir is None:
        sys.exit(f"cannot run: {'terraform is not on PATH' if executable is None else why}")
    with tempfile.TemporaryDirectory(prefix="tablesmith-bench-tf-") as tmp, ExitStack():
        workdir = Path(tmp)
        fake_aws_environment(workdir)
        os.environ.pop("TABLESMITH_POLL_INTERVAL", None)  # tablesmith's default, as shipped
        for name in ("TF_LOG", "TF_LOG_PATH", "TF_PLUGIN_CACHE_DIR"):
            os.environ.pop(name, None)
        bytecode = use_bytecode_cache(workdir)
        version = subprocess.run([executable, "version"], capture_output=True, text=True,
                                 check=False).stdout.splitlines()[0]
        print(f"bench_terraform: python {platform.python_version()} on {platform.system()} "
              f"{platform.machine()}, {os.cpu_count()} CPU(s); {version}; provider mirror "
              f"{plugin_dir}; sizes {sizes}; {runs} timed plan(s); terraform "
              f"-parallelism={args.parallelism}; env {ENV}\n{bytecode}")
        results = []
        try:
            for n in sizes:
                spec_dir = write_spec(workdir / f"spec{n}", n)
                print(f"  N={n}: terraform ...", flush=True)
                tf = bench_terraform(n, spec_dir, workdir, runs, args.parallelism, Terraform,
                                     executable, plugin_dir)
                print(f"  N={n}: tablesmith ...", flush=True)
                ts = bench_tablesmith(n, spec_dir, workdir, runs)
                results.append((n, tf, ts))
        except KeyboardInterrupt:
            print("\ninterrupted: stopping the local targets", file=sys.stderr)
            raise SystemExit(130) from None
        ok = report(results, runs)
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
