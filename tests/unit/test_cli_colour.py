"""Colours follow the terminal, and NO_COLOR / TERM=dumb turn them off (issue 12, item 8)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tablesmith.cli import cli

EXAMPLES = str(Path(__file__).resolve().parents[2] / "examples")


def validate(env: dict[str, str]) -> str:
    # color=True: as on a terminal, where click would keep the escape codes
    result = CliRunner().invoke(cli, ["validate", EXAMPLES], env=env, color=True)
    assert result.exit_code == 0, result.output
    return result.output


def test_a_terminal_gets_colours() -> None:
    assert "\x1b[" in validate({"NO_COLOR": "", "TERM": "xterm"})


@pytest.mark.parametrize("env", [{"NO_COLOR": "1"}, {"NO_COLOR": "", "TERM": "dumb"}])
def test_no_color_and_dumb_terminals_get_none(env: dict[str, str]) -> None:
    assert "\x1b[" not in validate(env)
