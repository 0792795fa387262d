"""Shocks from the command line and scenario files: a run records them and reproduces; bad
input is one line naming the field, exit code 2, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_inprocess import assert_one_line_error, run_v1d3

SMALL = ["--scenario", "manhattan", "--orders", "20000", "--start-hour", "8", "--hours", "1"]
EVENT = "event:zone=Midtown Center,trips=200,start_h=8.25,end_h=8.75"


def test_shock_option_and_file_are_recorded_and_reproduced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    day = tmp_path / "day.toml"
    day.write_text('[[shocks]]\nkind = "supply"\ndrivers = 0.5\nstart_h = 8.5\nend_h = 9\n')
    out = tmp_path / "run"
    code, _, err = run_v1d3(
        monkeypatch, capsys, "simulate", *SMALL, "--shock", EVENT, "--shocks", str(day),
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    shocks = json.loads((out / "config.json").read_text())["scenario"]["shocks"]
    assert [s["kind"] for s in shocks] == ["event", "supply"]
    meta = json.loads((out / "log_meta.json").read_text())["shocks"]
    assert meta[0]["added_orders"] == 200 and meta[0]["place"] is not None
    again = tmp_path / "again"
    code, _, err = run_v1d3(
        monkeypatch, capsys, "simulate", "--config", str(out / "config.json"), "--out", str(again)
    )
    assert code == 0, err
    m1, m2 = (json.loads((p / "metrics.json").read_text()) for p in (out, again))
    assert {k: v for k, v in m1.items() if "wall" not in k and "_ms_" not in k} == {
        k: v for k, v in m2.items() if "wall" not in k and "_ms_" not in k
    }


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--shock", "event:zone=Atlantis,start_h=8,end_h=9"], "shocks[0].zone: unknown zone"),
        (["--shock", "supply:drivers=0.5,start_h=10,end_h=11"], "shocks[0].start_h: the window"),
        (["--shock", "weather:demand=-0.5,start_h=8,end_h=9"], "shocks[0].demand: must be"),
        (["--shock", "weather:speed=nan,start_h=8,end_h=9"], "shocks[0].speed: must be a finite"),
        (["--shock", "hail:start_h=8,end_h=9"], "shocks[0].kind: unknown shock kind 'hail'"),
    ],
)
def test_bad_shock_is_one_line_and_writes_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    needle: str,
) -> None:
    out = tmp_path / "run"
    code, _, err = run_v1d3(monkeypatch, capsys, "simulate", *SMALL, *args, "--out", str(out))
    assert_one_line_error(code, err, needle)
    assert not out.exists()


def test_malformed_scenario_file_is_one_line_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[[shocks]\nkind = 'event'")
    out = tmp_path / "run"
    code, _, err = run_v1d3(
        monkeypatch, capsys, "simulate", *SMALL, "--shocks", str(bad), "--out", str(out)
    )
    assert_one_line_error(code, err, "is not valid TOML")
    assert not out.exists()


def test_file_shocks_are_numbered_after_the_shock_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    day = tmp_path / "day.toml"
    day.write_text('[[shocks]]\nkind = "supply"\nstart_h = 8\nend_h = 9\n[[shocks]]\nkind = 1\n')
    out = tmp_path / "run"
    code, _, err = run_v1d3(
        monkeypatch, capsys, "simulate", *SMALL, "--shock", EVENT, "--shocks", str(day),
        "--out", str(out),
    )  # fmt: skip
    assert_one_line_error(code, err, "shocks[2].kind: unknown shock kind 1")
    assert "day.toml" in err and not out.exists()


def test_study_checks_the_shock_zones_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "study"
    code, _, err = run_v1d3(
        monkeypatch, capsys, "evaluate", *SMALL, "--dispatch", "distance",
        "--shock", "closure:zones=Nowhere,start_h=8,end_h=9", "--out", str(out),
    )  # fmt: skip
    assert_one_line_error(code, err, "shocks[0].zones: unknown zone 'Nowhere'")
    assert not out.exists()
