"""``v1d3 evaluate --resume``: the report's own command reuses every run; a changed scenario or
simulation setting is refused and leaves the folder as it was."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from cli_inprocess import SMALL_RUN, assert_one_line_error, run_v1d3


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _report_command(out: Path) -> list[str]:
    """The regenerate command shown in the study's report.html, as words after ``v1d3``."""
    import shlex

    text = (out / "report.html").read_text()
    match = re.search(r"<pre id='command'>(.*?)</pre>", text, re.S)
    assert match, "report.html shows no command"
    return shlex.split(html.unescape(match.group(1)))[1:]


def test_resume_reuses_runs_and_refuses_a_changed_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "study"
    study = [*SMALL_RUN, "--fleet-scale", "1.5", "--reposition-after-s", "120"]
    code, _, err = run_v1d3(
        monkeypatch, capsys, "evaluate", *study, "--dispatch", "distance", "--out", str(out)
    )
    assert code == 0, err

    # the report's own command finds every run finished and changes no number
    before = _files(out)
    command = _report_command(out)
    assert "--fleet-scale" in command and "--reposition-after-s" in command
    code, stdout, err = run_v1d3(monkeypatch, capsys, *command)
    assert code == 0, err
    assert "1 run(s) reused" in stdout
    after = _files(out)
    assert after["study.json"] == before["study.json"]
    assert after["results.parquet"] == before["results.parquet"]

    # a scenario setting that differs from the folder's: one line, nothing written
    changed = [w if w != "1.5" else "1.0" for w in command]
    code, _, err = run_v1d3(monkeypatch, capsys, *changed)
    line = assert_one_line_error(code, err, "fleet_scale")
    assert "1.5" in line and "1.0" in line, line
    assert _files(out) == after

    # so does a simulation setting left at its default
    i = command.index("--reposition-after-s")
    code, _, err = run_v1d3(monkeypatch, capsys, *command[:i], *command[i + 2 :])
    line = assert_one_line_error(code, err, "reposition_after_s")
    assert "120.0" in line and "300.0" in line, line
    assert _files(out) == after


def test_resume_may_add_policies_weekdays_and_seeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "study"
    base = ["evaluate", *SMALL_RUN, "--fleet-scale", "1.5", "--out", str(out)]
    code, _, err = run_v1d3(monkeypatch, capsys, *base, "--dispatch", "distance")
    assert code == 0, err
    code, stdout, err = run_v1d3(
        monkeypatch,
        capsys,
        *base,
        "--dispatch",
        "distance,fcfs",
        "--weekdays",
        "2,3",
        "--resume",
    )
    assert code == 0, err
    assert "1 run(s) reused" in stdout
    assert len(list((out / "runs").iterdir())) == 4
