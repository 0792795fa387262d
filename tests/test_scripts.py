"""The study scripts under ``scripts/`` run end to end on a small synthetic city."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from v1d3.demand.config import ScenarioConfig
from v1d3.eval.study import STUDY_FILE, STUDY_KIND, StudyConfig
from v1d3.sim.config import SimConfig

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPTS / name), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_reposition_headroom_on_a_synthetic_day() -> None:
    res = _script(
        "reposition_headroom.py",
        *("--scenario", "synthetic", "--dispatch", "distance", "--weekdays", "2"),
        *("--seeds", "2", "--workers", "1"),
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["reposition_after_s"] == 300.0 and out["managed_share"] == 0.1
    assert out["fleet_scale"] == 1.0
    assert [(d["weekday"], d["seed"]) for d in out["days"]] == [(2, 1), (2, 2)]
    assert sum(out["actionable_share_by_hour"]) == pytest.approx(1.0, abs=1e-3)
    for d in out["days"]:
        assert 0.0 < d["actionable_share"] < d["idle_share"] < 1.0
        assert d["headroom"] == pytest.approx(
            d["actionable_share"] / (1.0 - d["idle_share"]), rel=1e-3
        )
    mean = sum(d["headroom"] for d in out["days"]) / 2
    assert out["headroom"]["mean"] == pytest.approx(mean, abs=1e-5)
    assert out["headroom"]["ci_low"] < mean < out["headroom"]["ci_high"]


_FLEET_SCALE = "fleet_scale must be in (0, 100], got 0.0"


@pytest.mark.parametrize(
    ("script", "args", "message"),
    [
        ("reposition_headroom.py", ("--weekdays", "x"),
         "weekdays: expected numbers like 0-4 or 1,3,5, got 'x'"),
        ("reposition_headroom.py", ("--fleet-scale", "0"), _FLEET_SCALE),
        ("round_supply.py", ("--at", "x"), "at: expected numbers like 1,2, got 'x'"),
        ("round_supply.py", ("--fleet-scale", "0"), _FLEET_SCALE),
    ],
)  # fmt: skip
def test_a_scripts_bad_option_is_one_line(script: str, args: tuple[str, ...], message: str) -> None:
    res = _script(script, *args)
    assert res.returncode == 2
    assert res.stderr.strip() == f"error: {message}"


def _results(path: Path, rows: list[tuple[str, int, int, str, float]]) -> Path:
    """A study folder whose results.parquet holds ``(policy, weekday, seed, status, income)``."""
    cols = ("policy", "weekday", "seed", "status", "total_income")
    path.mkdir()
    table = {c: [row[i] for row in rows] for i, c in enumerate(cols)}
    pq.write_table(pa.table(table), path / "results.parquet")
    return path


def test_paired_differences_by_hand(tmp_path: Path) -> None:
    study = _results(
        tmp_path / "study",
        [
            ("a/stay", 2, 1, "ok", 110.0),
            ("b/stay", 2, 1, "ok", 100.0),
            ("a/stay", 2, 2, "ok", 105.0),
            ("b/stay", 2, 2, "ok", 100.0),
            ("a/stay", 3, 1, "ok", 99.0),
            ("b/stay", 3, 1, "ok", 100.0),
            ("a/stay", 3, 2, "ok", 500.0),  # b failed that day: the day is left out
            ("b/stay", 3, 2, "failed", 0.0),
        ],
    )
    res = _script("paired_differences.py", str(study), "a/stay", "b/stay")
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)["b/stay"]
    r = [0.10, 0.05, -0.01]
    mean = sum(r) / 3
    sd = (sum((x - mean) ** 2 for x in r) / 2) ** 0.5
    half = 4.302652729911275 * sd / 3**0.5  # Student t, 2 degrees of freedom, 97.5 %
    assert got["days"] == 3 and got["days_ahead"] == 2
    assert got["rel_diff"] == pytest.approx(mean, abs=1e-5)
    assert got["ci_low"] == pytest.approx(mean - half, abs=1e-5)
    assert got["ci_high"] == pytest.approx(mean + half, abs=1e-5)
    # --over: b over a, day by day
    res = _script("paired_differences.py", str(study), "a/stay", "--over", "b/stay")
    over = json.loads(res.stdout)
    assert over["direction"] == "others over policy"
    r = [100 / 110 - 1, 100 / 105 - 1, 100 / 99 - 1]
    assert over["b/stay"]["rel_diff"] == pytest.approx(sum(r) / 3, abs=1e-5)
    assert over["b/stay"]["days_ahead"] == 1


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--metric", "tips"], "no column 'tips'"),
        ([], "fewer than 2 days with both a/stay and c/stay"),
    ],
)
def test_paired_differences_bad_input_is_one_line(
    tmp_path: Path, args: list[str], needle: str
) -> None:
    study = _results(
        tmp_path / "study",
        [("a/stay", 2, 1, "ok", 1.0), ("a/stay", 2, 2, "ok", 1.0), ("c/stay", 2, 1, "ok", 1.0)],
    )
    res = _script("paired_differences.py", str(study), "a/stay", "c/stay", *args)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and needle in res.stderr
    res = _script("paired_differences.py", str(tmp_path / "none"), "a/stay", "c/stay")
    assert res.returncode == 2 and "results.parquet: not found" in res.stderr


TINY = ("--scenario", "synthetic", "--weekdays", "2", "--seeds", "2", "--start-hour", "8",
        "--hours", "0.5", "--orders", "3000", "--dispatch", "distance", "--reposition", "random",
        "--workers", "1")  # fmt: skip
"""A tiny coordination study: two half-hour synthetic days per setting."""


def test_coordination_study_runs_resumes_and_reads_its_settings(tmp_path: Path) -> None:
    out = tmp_path / "coord"
    args = ("--out", str(out), "--managed", "3,50%,100%", "--change-from", "3",
            "--change-to", "100%")  # fmt: skip
    res = _script("coordination_study.py", *args, *TINY)
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)
    assert got == json.loads((out / "coordination.json").read_text())
    rows = {r["managed"]: r for r in got["table"]}
    assert list(rows) == ["3", "50%", "100%"] and all(r["days"] == 2 for r in rows.values())
    assert rows["3"]["managed_drivers_min"] == rows["3"]["managed_drivers_max"] == 3
    half, full = rows["50%"], rows["100%"]
    assert 0.45 < half["managed_drivers_mean"] / full["managed_drivers_mean"] < 0.55
    for setting, row in rows.items():
        t = pq.read_table(out / f"managed-{setting.replace('%', 'pct')}" / "results.parquet")
        for k in ("income_per_online_hour_managed", "income_per_online_hour_managed_kdd"):
            values = t.column(k).to_pylist()
            assert row[k]["mean"] == pytest.approx(sum(values) / 2, abs=1e-5)
            assert row[k]["ci_low"] < row[k]["mean"] < row[k]["ci_high"]
    change = got["change"]["income_per_online_hour_managed"]
    assert change["ci_low"] < change["rel_change"] < change["ci_high"]
    csv_rows = (out / "coordination.csv").read_text().splitlines()
    assert len(csv_rows) == 4 and csv_rows[1].startswith("3,,2,3.0,3,3,")
    svg = ElementTree.parse(out / "coordination.svg").getroot()
    assert len(svg.findall("{http://www.w3.org/2000/svg}circle")) == 2 * 3
    # resumed: every run is reused; read only: the same table
    again = _script("coordination_study.py", *args, *TINY, "--resume")
    assert again.returncode == 0, again.stderr
    read = _script("coordination_study.py", *args, *TINY, "--no-run")
    assert json.loads(again.stdout) == json.loads(read.stdout) == got


def _coordination_folder(
    path: Path, sim: SimConfig, kdd: list[float], fleet_scale: float = 1.0
) -> None:
    """A study folder of ``v1d3/value`` on days (2, 1), (2, 2), ... with KDD scores ``kdd``."""
    path.mkdir(parents=True)
    study = StudyConfig(policies=("v1d3/value",), seeds=tuple(range(1, len(kdd) + 1)),
                        baseline="v1d3/value", sim=sim,
                        scenario=ScenarioConfig(fleet_scale=fleet_scale))  # fmt: skip
    doc = {"kind": STUDY_KIND, "study": study.to_dict()}
    (path / STUDY_FILE).write_text(json.dumps(doc))
    n = len(kdd)
    table = {"policy": ["v1d3/value"] * n, "weekday": [2] * n, "seed": list(range(1, n + 1)),
             "status": ["ok"] * n, "managed_drivers": [5] * n,
             "income_per_online_hour_managed": [40.0] * n,
             "income_per_online_hour_managed_kdd": kdd}  # fmt: skip
    pq.write_table(pa.table(table), path / "results.parquet")


def test_coordination_study_averages_the_kdd_score_over_days(tmp_path: Path) -> None:
    # the two days of tests/eval/test_metrics.py: KDD scores 40 and 20; then 45 and 25
    _coordination_folder(tmp_path / "managed-5", SimConfig(managed_drivers=5), [40.0, 20.0])
    _coordination_folder(tmp_path / "managed-10pct", SimConfig(managed_share=0.1), [45.0, 25.0])
    args = ("--out", str(tmp_path), "--no-run", "--managed", "5,10%", "--change-from", "5",
            "--change-to", "10%")  # fmt: skip
    res = _script("coordination_study.py", *args)
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)
    kdd = got["table"][0]["income_per_online_hour_managed_kdd"]
    half = 12.706204736174707 * (200.0**0.5) / 2**0.5  # Student t, 1 degree of freedom
    assert kdd == pytest.approx({"mean": 30.0, "ci_low": 30.0 - half, "ci_high": 30.0 + half})
    assert got["change"]["income_per_online_hour_managed_kdd"]["rel_change"] == pytest.approx(
        35.0 / 30.0 - 1.0, abs=1e-5
    )
    assert got["change"]["income_per_online_hour_managed"]["rel_change"] == 0.0
    # a folder whose study manages another setting is refused
    _coordination_folder(tmp_path / "managed-5pct", SimConfig(managed_share=0.1), [1.0, 2.0])
    res = _script("coordination_study.py", "--out", str(tmp_path), "--no-run",
                  "--managed", "5%,10%", "--change-from", "5%", "--change-to", "10%")  # fmt: skip
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert "managed-5pct: its study manages managed_drivers=None, managed_share=0.1, not 5%" in (
        res.stderr
    )


def test_coordination_study_reads_only_studies_of_its_fleet(tmp_path: Path) -> None:
    _coordination_folder(tmp_path / "managed-5", SimConfig(managed_drivers=5), [40.0, 20.0], 1.3)
    _coordination_folder(tmp_path / "managed-10pct", SimConfig(managed_share=0.1), [45.0, 25.0])
    args = ("--out", str(tmp_path), "--no-run", "--managed", "5,10%", "--change-from", "5",
            "--change-to", "10%")  # fmt: skip
    res = _script("coordination_study.py", *args, "--fleet-scale", "1.3")
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert "managed-10pct: its study has fleet_scale=1.0, not 1.3 (--fleet-scale)" in res.stderr
    _coordination_folder(tmp_path / "b" / "managed-10pct", SimConfig(managed_share=0.1),
                         [45.0, 25.0], 1.3)  # fmt: skip
    (tmp_path / "managed-5").rename(tmp_path / "b" / "managed-5")
    args = ("--out", str(tmp_path / "b"), *args[2:])
    res = _script("coordination_study.py", *args, "--fleet-scale", "1.3")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["fleet_scale"] == 1.3


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--managed", "5,x%"], "managed: expected drivers (5) or a share"),
        (["--managed", "0"], "got '0'"),
        (["--managed", "5,10%", "--change-from", "1%"], "change_from: '1%' is not one of"),
        (["--no-run"], "not a finished study"),
    ],
)
def test_coordination_study_bad_input_is_one_line(
    tmp_path: Path, args: list[str], needle: str
) -> None:
    res = _script("coordination_study.py", "--out", str(tmp_path / "none"), *args)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and needle in res.stderr, res.stderr


SHIPPED_TLC = (
    SCRIPTS.parent / "src" / "v1d3" / "data" / "nyc_tlc" / "green_tripdata_2021-03.parquet"
)


def test_zone_day_variation_on_the_shipped_month() -> None:
    # the figure ScenarioConfig.zone_day_sd's documentation quotes for March 2021 (default:
    # the 25 busiest pick-up zones)
    res = _script("zone_day_variation.py", str(SHIPPED_TLC))
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["business_days"] == 23  # March 2021 has 23 weekdays
    assert len(out["zones"]) == 25
    assert round(out["zone_day_sd_median"], 2) == 0.04


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("trips.parquet", b"", "expected a TLC file name ending in _YYYY-MM.parquet"),
        ("trips_2021-03.parquet", b"not parquet", "not a readable parquet file"),
    ],
)
def test_zone_day_variation_bad_file_is_one_line(
    tmp_path: Path, name: str, content: bytes, needle: str
) -> None:
    f = tmp_path / name
    f.write_bytes(content)
    res = _script("zone_day_variation.py", str(f))
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and needle in res.stderr and "Traceback" not in res.stderr


def test_zone_day_variation_needs_the_pickup_columns(tmp_path: Path) -> None:
    f = tmp_path / "trips_2021-03.parquet"
    pq.write_table(pa.table({"PULocationID": [1, 2]}), f)
    res = _script("zone_day_variation.py", str(f))
    assert res.returncode == 2
    assert "expected columns tpep_/lpep_pickup_datetime and PULocationID" in res.stderr


def test_day_departures_needs_the_original_downloads(tmp_path: Path) -> None:
    res = _script("day_departures.py", "--shared", str(tmp_path), "--out", str(tmp_path / "t"))
    assert res.returncode == 2
    missing = tmp_path / "nyc-tlc-green-2021q1" / "green_tripdata_2021-01.parquet"
    assert res.stderr.strip() == f"error: {missing}: missing input file"
    assert not (tmp_path / "t").exists()


def test_hourly_figure_draws_runs_and_refuses_a_folder_without_hours(tmp_path: Path) -> None:
    run = tmp_path / "day"
    run.mkdir()
    rows = ["hour,orders,answer_rate,drivers_online", "0,10,0.5,4", "1,0,nan,3", "2,20,1.0,6"]
    (run / "metrics_by_hour.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "fig.svg"
    res = _script("hourly_figure.py", f"{run}=a <label>", "--out", str(out))
    assert res.returncode == 0, res.stderr
    fig = json.loads(res.stdout)["a <label>"]
    assert fig["answer_rate"] == [0.5, None, 1.0]  # an hour without orders has no rate
    assert fig["day_answer_rate"] == pytest.approx(25 / 30, abs=1e-4)
    assert fig["first_hour_minus_day_points"] == pytest.approx(-33.3, abs=0.05)
    assert "a &lt;label&gt;" in out.read_text() and "nan" not in out.read_text()
    res = _script("hourly_figure.py", str(tmp_path), "--out", str(tmp_path / "no.svg"))
    assert (
        res.returncode == 2 and res.stderr.count("\n") == 1 and "metrics_by_hour.csv" in res.stderr
    )
    assert not (tmp_path / "no.svg").exists()


def test_rebalance_alpha_on_a_synthetic_day() -> None:
    res = _script("rebalance_alpha.py", "--scenario", "synthetic", "--orders", "3000")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["calls"] > 0 and out["mean_departures"] > 0
    assert 0 < out["ratio_of_means"] < 10


def test_round_supply_counts_what_the_policy_sees_and_changes_nothing() -> None:
    from v1d3.eval.config import RunConfig
    from v1d3.eval.run import run_simulation

    res = _script(
        "round_supply.py",
        *("--scenario", "synthetic", "--dispatch", "distance", "--hours", "2", "--at", "1,2,99"),
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    plain = run_simulation(
        RunConfig(scenario=ScenarioConfig(name="synthetic", hours=2.0), dispatch="distance", seed=1)
    )
    assert out["total_income"] == pytest.approx(plain.metrics["total_income"], abs=0.01)
    assert out["rounds"] > 100 and out["mean_drivers"] > 0 and out["mean_orders"] >= 1
    shares = [out["at_or_above"][a]["rounds"] for a in ("1", "2", "99")]
    assert 1.0 >= shares[0] >= shares[1] > shares[2] == 0.0
    assert len(out["hourly_median_ratio"]) == 2


def test_round_supply_figures_by_hand() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("round_supply", SCRIPTS / "round_supply.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    # four rounds: ratios 0.5, 1, 2, 4; the last in the second hour
    t = np.array([0.0, 2.0, 4.0, 3600.0])
    orders, drivers = np.array([4.0, 2.0, 1.0, 1.0]), np.array([2.0, 2.0, 2.0, 4.0])
    got = mod.supply_figures(t, orders, drivers, [1.0, 3.0])
    assert got["mean_orders"] == 2.0 and got["mean_drivers"] == 2.5
    assert got["ratio_percentiles"]["50"] == 1.5
    assert got["at_or_above"]["1"] == {"rounds": 0.75, "orders": 0.5}
    assert got["at_or_above"]["3"] == {"rounds": 0.25, "orders": 0.125}
    assert got["hourly_median_ratio"] == [1.0, 4.0]
