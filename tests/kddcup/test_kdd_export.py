"""Exported V1D3 agents: the folder, the official API, and the round trip through ``--agent``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from v1d3.demand.config import KddConfig, ScenarioConfig
from v1d3.errors import ConfigError, ModelError
from v1d3.eval.config import RunConfig
from v1d3.eval.run import run_simulation
from v1d3.kddcup.export import export_agent
from v1d3.kddcup.grid import read_grid
from v1d3.kddcup.kdd_source import KDD_UTC_OFFSET_S
from v1d3.kddcup.runner import run_agent
from v1d3.kddcup.submission import CITY_FILE, GRID_FILE, METADATA_FILE, AgentConfig, load_agent
from v1d3.sim.config import SimConfig

TIMING = ("wall_s", "dispatch_round_ms_p50", "dispatch_round_ms_p99")


def _same(native: dict, agent: dict) -> list[str]:
    return [k for k in native if k not in TIMING and native[k] != agent[k]]


def _synthetic(hours: float = 1.0) -> ScenarioConfig:
    return ScenarioConfig(name="synthetic", orders=12000, start_hour=7.0, hours=hours)


HOW = {
    "in-v1d3": AgentConfig(isolation="none"),  # trusted: in this process, with the extras
    "own-process": AgentConfig(),  # official keys only, as anywhere else
}


@pytest.mark.parametrize("how", list(HOW))
def test_distance_stay_round_trip_is_identical(tmp_path: Path, how: str) -> None:
    sc, sim = _synthetic(), SimConfig()
    cfg = RunConfig(scenario=sc, sim=sim, dispatch="distance", reposition="stay", seed=3)
    folder = export_agent("distance", "stay", None, tmp_path / "sub", scenario=sc, sim=sim)
    native = run_simulation(cfg)
    agent = run_agent(cfg, folder, config=HOW[how])
    assert native.metrics["completed"] > 500
    assert _same(native.metrics, agent.metrics) == []
    assert agent.metrics["agent_faults"]["total"] == 0


@pytest.mark.parametrize(
    ("dispatch", "reposition"), [("online-td", "value"), ("distance", "random"), ("fcfs", "stay")]
)
def test_learning_and_random_policies_round_trip_inside_v1d3(
    tmp_path: Path, dispatch: str, reposition: str
) -> None:
    """Online learning, random generators and request times travel in the extras."""
    sc = _synthetic(hours=0.5)
    cfg = RunConfig(scenario=sc, dispatch=dispatch, reposition=reposition, seed=5)
    folder = export_agent(dispatch, reposition, None, tmp_path / "sub", scenario=sc)
    native = run_simulation(cfg)
    agent = run_agent(cfg, folder, config=HOW["in-v1d3"])
    assert _same(native.metrics, agent.metrics) == []


def test_round_trip_on_a_kdd_city(kdd_files, tmp_path: Path) -> None:
    sc = ScenarioConfig(
        name="kdd",
        kdd=KddConfig(grid=str(kdd_files.grid), orders=str(kdd_files.orders)),
        date="2016-11-09",
        start_hour=17.0,
        hours=1.0,
    )
    folder = export_agent("nearest", "stay", None, tmp_path / "sub", scenario=sc)
    # the grid travels as the original table
    assert (folder / GRID_FILE).read_bytes() == kdd_files.grid.read_bytes()
    cfg = RunConfig(scenario=sc, dispatch="nearest", seed=1)
    native = run_simulation(cfg)
    for how in HOW.values():
        agent = run_agent(cfg, folder, config=how)
        assert _same(native.metrics, agent.metrics) == []


def test_folder_is_a_submission(tmp_path: Path) -> None:
    models = tmp_path / "models_in"
    models.mkdir()
    (models / "a.pt").write_bytes(b"weights")
    extra = tmp_path / "b.pt"
    extra.write_bytes(b"more")
    sc = _synthetic()
    folder = export_agent(
        "fare",
        "stay",
        [models, extra],
        tmp_path / "sub",
        scenario=sc,
        dispatch_params={"pickup_cost_per_km": 0.5},
    )
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(["agent.py", METADATA_FILE, CITY_FILE, GRID_FILE, "models"])
    assert sorted(p.name for p in (folder / "models").iterdir()) == ["a.pt", "b.pt"]
    meta = json.loads((folder / METADATA_FILE).read_text())
    assert meta["dispatch"] == "fare" and meta["dispatch_params"] == {"pickup_cost_per_km": 0.5}
    assert meta["utc_offset_s"] == KDD_UTC_OFFSET_S
    assert "from v1d3.kddcup.export import ExportedAgent" in (folder / "agent.py").read_text()
    assert len(read_grid(folder / GRID_FILE)) == 127
    # the official API with plain lists and dicts, as the competition's harness called it
    agent = load_agent(folder)
    cells = read_grid(folder / GRID_FILE).grid_id
    ts = 1478649600 + 8 * 3600  # 08:00 on Wednesday 2016-11-09, China Standard Time
    pair = {
        "order_id": 7,
        "driver_id": 3,
        "order_driver_distance": 500.0,
        "order_start_location": [7.0, 45.0],
        "order_finish_location": [7.01, 45.01],
        "driver_location": [7.005, 45.0],
        "timestamp": ts,
        "order_finish_timestamp": ts + 900,
        "day_of_week": 2,
        "reward_units": 5.0,
        "pick_up_eta": 166.7,
    }
    assert agent.dispatch([pair]) == [{"order_id": 7, "driver_id": 3}]
    assert agent.dispatch([]) == []
    repo = {
        "timestamp": ts + 60,
        "day_of_week": 2,
        "driver_info": [{"driver_id": 3, "grid_id": cells[0]}],
    }
    assert agent.reposition(repo) == [{"driver_id": 3, "destination": cells[0]}]


def test_bad_exports_fail_before_writing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown dispatch policy 'nope'"):
        export_agent("nope", "stay", None, tmp_path / "a", scenario=_synthetic())
    with pytest.raises(ModelError, match="not found"):
        export_agent(
            "distance", "stay", tmp_path / "missing.pt", tmp_path / "b", scenario=_synthetic()
        )
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_model_files_are_checked_and_named_as_given(tmp_path: Path) -> None:
    sc = ScenarioConfig(name="manhattan", start_hour=8.0, hours=0.25)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a model")
    empty = tmp_path / "empty"
    empty.mkdir()
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "cvnet.pt").write_bytes(b"not a checkpoint")
    cases = [
        (notes, "notes.txt: not a model file (expected a .pt checkpoint or .npz)"),
        # no silent fall-back to the packaged models
        (empty, "empty: holds no model file"),
        # the user's file, not its copy inside the folder being written
        (junk, f"{junk / 'cvnet.pt'}: not a readable v1d3 checkpoint"),
    ]
    for i, (model, message) in enumerate(cases):
        out = tmp_path / f"agent{i}"
        with pytest.raises(ModelError, match=re.escape(message)):
            export_agent("cvnet", "stay", model, out, scenario=sc)
        assert not out.exists()


def test_cli_export_agent_and_kdd_grid(tmp_path: Path) -> None:
    from v1d3.cli.main import app

    runner = CliRunner()
    out = tmp_path / "sub"
    r = runner.invoke(
        app,
        [
            "export-agent",
            str(out),
            "--dispatch",
            "nearest",
            "--reposition",
            "stay",
            "--scenario",
            "synthetic",
            "--hours",
            "1",
            "--start-hour",
            "7",
        ],
    )
    assert r.exit_code == 0, r.output
    assert json.loads((out / METADATA_FILE).read_text())["dispatch"] == "nearest"
    r = runner.invoke(
        app, ["export-agent", str(tmp_path / "x"), "--dispatch", "nope", "--scenario", "synthetic"]
    )
    assert isinstance(r.exception, ConfigError)  # main() turns it into one line and exit 2

    grid, orders = tmp_path / "g.csv", tmp_path / "o.csv"
    r = runner.invoke(
        app,
        [
            "kdd-grid",
            str(grid),
            "--scenario",
            "synthetic",
            "--orders-out",
            str(orders),
            "--orders",
            "3000",
            "--weekday",
            "4",
        ],
    )
    assert r.exit_code == 0, r.output
    assert len(grid.read_text().splitlines()) == 127
    assert len(orders.read_text().splitlines()) == 3000
    # the written files are a kdd scenario of their own
    sc = ScenarioConfig(
        name="kdd",
        kdd=KddConfig(grid=str(grid), orders=str(orders)),
        weekday=4,
        start_hour=8.0,
        hours=0.5,
    )
    result = run_simulation(RunConfig(scenario=sc, seed=0))
    assert result.metrics["orders"] > 0
    # the synthetic generator draws some trip ends beyond the city's rim: dropped as such
    assert set(result.log.meta["drop_reasons"]) <= {"outside_grid"}


def test_kdd_grid_takes_the_synthetic_city_options(tmp_path: Path) -> None:
    """``--synthetic-*`` shape the city kdd-grid writes (every per-source option is taken)."""
    from v1d3.cli.main import app

    grid = tmp_path / "g.csv"
    args = ["kdd-grid", str(grid), "--scenario", "synthetic", "--synthetic-rings", "2"]
    r = CliRunner().invoke(app, [*args, "--synthetic-centre-lat", "30.66"])
    assert r.exit_code == 0, r.output
    table = read_grid(grid)
    assert len(table) == 19  # 1 + 6 + 12 cells
    assert abs(float(table.centre_lat.mean()) - 30.66) < 0.05


def test_learners_estimate_what_official_keys_lack(tmp_path: Path) -> None:
    """Without extras (as in the official environment) an online learner still runs; its
    feedback is estimated (every assignment served), so the day is close, not identical."""
    sc = _synthetic(hours=0.5)
    cfg = RunConfig(scenario=sc, dispatch="online-td", reposition="value", seed=5)
    folder = export_agent("online-td", "value", None, tmp_path / "sub", scenario=sc)
    native = run_simulation(cfg)
    agent = run_agent(cfg, folder, config=AgentConfig(extras=False))
    assert agent.metrics["agent_faults"]["total"] == 0
    assert agent.metrics["total_income"] == pytest.approx(native.metrics["total_income"], rel=0.05)
