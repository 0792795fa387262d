"""Run the ``v1d3`` console entry point inside the test process (imported as a plain module
from tests/): faster than a subprocess, and stderr is captured exactly as a user sees it."""

from __future__ import annotations

import sys

import pytest


def run_v1d3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """``v1d3 ARGS``: (exit code, stdout, stderr) of this call only."""
    from v1d3.cli.main import main

    monkeypatch.setattr(sys, "argv", ["v1d3", *args])
    capsys.readouterr()  # drop what earlier calls printed
    try:
        main()
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 0 if e.code is None else 1
    out, err = capsys.readouterr()
    return code, out, err


SMALL_RUN = ["--scenario", "synthetic", "--orders", "4000", "--start-hour", "8", "--hours", "0.5"]
"""Scenario options of a half-hour synthetic run: a command-line test's smallest real day."""


def assert_one_line_error(code: int, err: str, needle: str) -> str:
    """The project's rule for bad input: exit code 2 and one non-blank line on stderr, which
    holds ``needle`` (no traceback). Returns that line."""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, (code, err)
    assert len(lines) == 1 and "Traceback" not in err, err
    assert needle in lines[0], (needle, lines[0])
    return lines[0]
