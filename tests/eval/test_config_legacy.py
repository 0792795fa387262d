"""Run configs of the previous release (the sources' settings flat in ``scenario``) still load,
rerun and check; what is written now nests them per source."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from cli_inprocess import run_v1d3
from v1d3.cli.paths import absolute_fields
from v1d3.demand.config import KddConfig, ManhattanConfig, TlcConfig
from v1d3.eval.config import RunConfig, load_config
from v1d3.eval.evaluate import TIMING_KEYS

OLD_SCENARIO = {
    "name": "synthetic",
    "weekday": 2,
    "orders": 2000,
    "drivers": None,
    "fleet_scale": 1.0,
    "start_hour": 8.0,
    "hours": 0.5,
    "h3_resolution": 8,
    "trips": "trips.parquet",
    "date": None,
    "grid": "grid.csv",
    "kdd_orders": "orders.csv",
    "zone_day_sd": 0.1,
    "synthetic": {"rings": 5, "rush_hours": [8.5, 18.0]},
}
"""A scenario as config.json held it before the per-source configs (flat trips, grid, ...)."""


def _old_config(tmp_path: Path) -> Path:
    path = tmp_path / "old" / "config.json"
    path.parent.mkdir()
    doc = {"scenario": OLD_SCENARIO, "sim": {"k_nearest": 7}, "seed": 3, "v1d3_version": "0.1.0"}
    path.write_text(json.dumps(doc, indent=2))
    return path


def test_a_flat_scenario_loads_into_the_per_source_configs(tmp_path: Path) -> None:
    cfg = load_config(_old_config(tmp_path))
    assert cfg.scenario.manhattan == ManhattanConfig(zone_day_sd=0.1)
    assert cfg.scenario.nyc_tlc == TlcConfig(trips="trips.parquet")
    assert cfg.scenario.kdd == KddConfig(grid="grid.csv", orders="orders.csv")
    assert cfg.scenario.synthetic.rings == 5 and cfg.scenario.orders == 2000
    assert cfg.sim.k_nearest == 7 and cfg.seed == 3
    # written back nested, and read back the same
    new = cfg.to_dict()["scenario"]
    assert "zone_day_sd" not in new and new["manhattan"]["zone_day_sd"] == 0.1
    assert RunConfig.from_dict(cfg.to_dict()) == cfg


def test_a_flat_key_beside_its_nested_config_is_refused(tmp_path: Path) -> None:
    from v1d3.errors import ConfigError

    bad = {"scenario": {"name": "synthetic", "kdd": {"grid": "a.csv"}, "bogus": 1}}
    with pytest.raises(ConfigError, match="config: unexpected or missing field"):
        RunConfig.from_dict(bad)


def test_simulate_reruns_and_checks_an_old_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old = _old_config(tmp_path)
    out = tmp_path / "rerun"
    code, _, err = run_v1d3(
        monkeypatch, capsys, "simulate", "--config", str(old), "--out", str(out)
    )
    assert code == 0, err
    code, stdout, err = run_v1d3(monkeypatch, capsys, "check", str(out))
    assert code == 0 and "all invariants hold" in stdout, err
    # the same config, its files named absolutely (against the folder the command ran in)
    assert load_config(out / "config.json") == dataclasses.replace(
        load_config(old), scenario=absolute_fields(load_config(old).scenario)
    )
    assert load_config(out / "config.json").scenario.kdd.grid == str(Path.cwd() / "grid.csv")
    # the same run from today's options: the same numbers
    again = tmp_path / "again"
    args = ["--scenario", "synthetic", "--orders", "2000", "--start-hour", "8", "--hours", "0.5"]
    args += ["--synthetic-rings", "5", "--k-nearest", "7", "--seed", "3", "--zone-day-sd", "0.1"]
    args += ["--trips", "trips.parquet", "--grid", "grid.csv", "--kdd-orders", "orders.csv"]
    code, _, err = run_v1d3(monkeypatch, capsys, "simulate", *args, "--out", str(again))
    assert code == 0, err
    assert (again / "config.json").read_text() == (out / "config.json").read_text()
    got, want = (json.loads((f / "metrics.json").read_text()) for f in (again, out))
    for key in TIMING_KEYS:
        got.pop(key), want.pop(key)
    assert got == want
