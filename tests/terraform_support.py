"""Run terraform offline, through a filesystem mirror of hashicorp/aws found on this machine.

The mirror is the directory that contains ``registry.terraform.io/hashicorp/aws/<version>/
<os_arch>/terraform-provider-aws_*``: ``TABLESMITH_TF_PLUGIN_DIR`` names it, or it is looked
for (two levels deep at most) under a few usual roots. Nothing here reaches the network:
the CLI configuration written for each working directory only allows the mirror for
hashicorp/aws and nothing else.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

PROVIDER = "registry.terraform.io/hashicorp/aws"
PLUGIN_DIR_ENV = "TABLESMITH_TF_PLUGIN_DIR"
SEARCH_ROOTS = ("/opt", "/usr/local/share", "/usr/share", "~/.terraform.d/plugins",
                "~/.local/share/terraform/plugins")
TIMEOUT = 240  # seconds per terraform command: init hashes a ~700 MB provider binary


def _is_mirror(directory: Path) -> bool:
    return any((directory / PROVIDER).glob("*/*/terraform-provider-aws*"))


def find_plugin_dir() -> tuple[Path | None, str]:
    """The mirror directory, or None and why not (for a skip reason)."""
    configured = os.environ.get(PLUGIN_DIR_ENV)
    if configured:
        path = Path(configured).expanduser()
        if _is_mirror(path):
            return path, ""
        return None, f"{PLUGIN_DIR_ENV}={configured} holds no {PROVIDER}/<version>/<platform>/"
    for root in (Path(r).expanduser() for r in SEARCH_ROOTS):
        if not root.is_dir():
            continue
        for pattern in ("", "*", "*/*"):
            for candidate in sorted(root.glob(pattern)) if pattern else [root]:
                if _is_mirror(candidate):
                    return candidate, ""
    roots = ", ".join(SEARCH_ROOTS)
    return None, (f"no filesystem mirror of {PROVIDER} under {roots}; set {PLUGIN_DIR_ENV} to "
                  f"the directory that contains registry.terraform.io/")


def find_terraform() -> str | None:
    """The terraform executable on PATH, if any."""
    return shutil.which("terraform")


class Terraform:
    """One working directory, initialised once against the mirror, validated many times."""

    def __init__(self, executable: str, plugin_dir: Path, workdir: Path) -> None:
        self.executable = executable
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        config = workdir.parent / f"{workdir.name}.tfrc"
        config.write_text(
            "provider_installation {\n"
            f"  filesystem_mirror {{\n    path    = {json.dumps(str(plugin_dir))}\n"
            f"    include = [{json.dumps(PROVIDER)}]\n  }}\n"
            f"  direct {{\n    exclude = [{json.dumps(PROVIDER)}]\n  }}\n"
            "}\n")
        self.env = {**os.environ, "TF_CLI_CONFIG_FILE": str(config), "TF_IN_AUTOMATION": "1",
                    "CHECKPOINT_DISABLE": "1"}  # no version check call home
        self.env.pop("TF_PLUGIN_CACHE_DIR", None)  # the mirror is already local

    def run(self, *args: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
        """``terraform <args>`` in the working directory."""
        return subprocess.run([self.executable, *args], cwd=self.workdir, env=self.env,
                              capture_output=True, text=True, timeout=timeout, check=False)

    def write(self, files: dict[str, str]) -> None:
        """Replace the configuration: every ``*.tf.json`` goes, ``files`` are written."""
        for old in self.workdir.glob("*.tf.json"):
            old.unlink()
        for name, text in files.items():
            (self.workdir / name).write_text(text, encoding="utf-8")

    def init(self) -> None:
        """``terraform init -backend=false``, offline; raises with terraform's output."""
        result = self.run("init", "-backend=false", "-input=false", "-no-color")
        if result.returncode != 0:
            raise RuntimeError(f"terraform init failed:\n{result.stdout}\n{result.stderr}")

    def validate(self) -> dict[str, Any]:
        """``terraform validate -json``, parsed."""
        result = self.run("validate", "-json", "-no-color")
        try:
            report: dict[str, Any] = json.loads(result.stdout)
        except json.JSONDecodeError as exc:
            raise RuntimeError(f"terraform validate printed no JSON:\n{result.stdout}\n"
                               f"{result.stderr}") from exc
        return report


def format_diagnostics(report: dict[str, Any]) -> str:
    """``terraform validate -json`` diagnostics, one per line, for an assertion message."""
    lines = []
    for d in report.get("diagnostics", []):
        where = d.get("address") or d.get("range", {}).get("filename", "")
        lines.append(f"{d['severity']}: {where}: {d['summary']} {d.get('detail', '')}".strip())
    return "\n".join(lines)
