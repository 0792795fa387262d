"""report.html: self-contained, every section present, and rendered by headless Chromium."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from v1d3.demand.config import ScenarioConfig
from v1d3.eval.evaluate import Evaluation, evaluate
from v1d3.eval.report import TABLE_METRICS, render_report
from v1d3.eval.study import StudyConfig

TINY = ScenarioConfig(name="synthetic", orders=4000, hours=2.0, start_hour=7.0)
PLOTS = ("hourly", "map", "distributions")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not found; install it with: apt-get install chromium"
)


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Evaluation]:
    out = tmp_path_factory.mktemp("report") / "study"
    study = StudyConfig.grid(
        ["nearest", "distance", "fare"], weekdays=(2,), seeds=(0, 1), scenario=TINY
    )
    ev = evaluate(study, out, workers=2)
    return out, ev


def _chromium(tmp: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    cmd = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={tmp / 'profile'}", "--enable-logging=stderr",
        "--v=0", "--virtual-time-budget=15000", *args, url,
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def _console_problems(stderr: str) -> list[str]:
    lines = [ln for ln in stderr.splitlines() if ":CONSOLE" in ln]
    return [ln for ln in lines if re.search(r"error|uncaught|fail|warn", ln, re.IGNORECASE)]


def test_report_is_self_contained(study_dir: tuple[Path, Evaluation]) -> None:
    out, ev = study_dir
    page = (out / "report.html").read_text()
    assert page.count("* plotly.js v") == 1  # the library, inline, exactly once
    assert not re.search(r"<script[^>]+src=", page) and "<link" not in page
    assert "<iframe" not in page and "cdn.plot.ly/plotly" not in page.split("</head>")[1]
    for div in PLOTS:
        assert f'id="{div}"' in page
    assert "id='comparison'" in page and "id='config'" in page
    assert "v1d3 evaluate --scenario synthetic --dispatch nearest,distance,fare" in page
    assert "--out " + str(out) in page


def test_report_lists_each_policys_constants(study_dir: tuple[Path, Evaluation]) -> None:
    _, ev = study_dir
    section = render_report(ev).split("id='policy-constants'")[1].split("</div>")[0]
    for p in ev.study.policies:
        assert f"<summary>{p}</summary>" in section
    assert "&quot;pickup_cost_per_km&quot;: 1.0" in section  # fare's default, resolved


def test_comparison_table(study_dir: tuple[Path, Evaluation]) -> None:
    _, ev = study_dir
    page = render_report(ev)
    table = page.split("id='comparison'")[1].split("</table>")[0]
    for p in ev.study.policies:
        assert f"<th>{p}<br>" in table
    for label, _ in TABLE_METRICS.values():
        assert label in table
    assert table.count("class='best'") >= len(TABLE_METRICS) - 1  # income Gini may tie
    assert table.count("baseline</div>") == len(TABLE_METRICS)
    assert "±" in table and "Δ+" in table or "Δ-" in table


def test_map_falls_back_to_cell_centres_for_non_h3_grids(
    study_dir: tuple[Path, Evaluation],
) -> None:
    _, ev = study_dir
    for rec in ev.records:
        rec.h3_resolution = None
    try:
        page = render_report(ev)
    finally:
        for rec in ev.records:
            rec.h3_resolution = 8
    assert '"fill":"toself"' not in page and '"mode":"markers"' in page


@needs_chromium
def test_report_renders_in_headless_chromium(
    study_dir: tuple[Path, Evaluation], tmp_path: Path
) -> None:
    out, ev = study_dir
    url = (out / "report.html").resolve().as_uri()
    dom = _chromium(tmp_path, url, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert _console_problems(dom.stderr) == []
    html = dom.stdout
    assert '<table id="comparison"' in html
    for div in PLOTS:
        assert re.search(rf'<div id="{div}"[^>]*js-plotly-plot', html), f"{div} was not drawn"
    assert html.count('class="main-svg"') >= 2 * len(PLOTS)
    # the map's controls ran: policy and hour shown (the baseline at the peak hour)
    assert re.search(r'data-shown="distance/stay@\d+"', html)

    shot = tmp_path / "report.png"
    run = _chromium(tmp_path, url, f"--screenshot={shot}", "--window-size=1400,4000")
    assert run.returncode == 0, run.stderr[-2000:]
    assert _console_problems(run.stderr) == []
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 100_000


@needs_chromium
def test_report_of_a_non_h3_grid_renders(
    study_dir: tuple[Path, Evaluation], tmp_path: Path
) -> None:
    _, ev = study_dir
    recs = [dataclasses.replace(r, h3_resolution=None) for r in ev.records]
    page = render_report(dataclasses.replace(ev, records=recs))
    path = tmp_path / "grid.html"
    path.write_text(page)
    dom = _chromium(tmp_path, path.as_uri(), "--dump-dom")
    assert dom.returncode == 0 and _console_problems(dom.stderr) == []
    assert re.search(r'<div id="map"[^>]*js-plotly-plot', dom.stdout)
