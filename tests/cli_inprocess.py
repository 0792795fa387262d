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
