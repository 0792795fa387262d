"""A study with shocks: its records keep them, the report shades their windows and stars their
places, and --resume refuses another set of shocks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_inprocess import SMALL_RUN, assert_one_line_error, run_v1d3

EVENT = "event:lat=45.0,lng=7.0,trips=150,start_h=8.1,end_h=8.3"
SUPPLY = "supply:drivers=0.6,start_h=8.2,end_h=8.4"


def test_report_shows_the_shocks_and_resume_checks_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "study"
    args = ["evaluate", *SMALL_RUN, "--dispatch", "nearest,distance", "--workers", "1"]
    code, _, err = run_v1d3(
        monkeypatch, capsys, *args, "--shock", EVENT, "--shock", SUPPLY, "--out", str(out)
    )
    assert code == 0, err
    study = json.loads((out / "study.json").read_text())["study"]
    assert [s["kind"] for s in study["scenario"]["shocks"]] == ["event", "supply"]
    records = sorted((out / "runs").glob("*/record.json"))
    shocks = [json.loads(r.read_text())["shocks"] for r in records]
    assert len(shocks) == 2 and shocks[0][0]["added_orders"] == 150
    assert [s["kind"] for s in shocks[0]] == [s["kind"] for s in shocks[1]]
    page = (out / "report.html").read_text()
    assert "<ul id='shocks'>" in page and "event 8.1–8.3 h: 150 trips from" in page
    assert page.count('"type":"rect"') >= 2 * 3  # two windows on three hourly plots
    assert '"symbol":"star"' in page
    assert "--shock " in page  # the regenerating command carries them
    code, _, err = run_v1d3(
        monkeypatch, capsys, *args, "--shock", EVENT, "--resume", "--out", str(out)
    )
    assert_one_line_error(code, err, "scenario shocks")
