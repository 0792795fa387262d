"""``train_tabular``: simulated history or trajectory files → a loadable tabular-td checkpoint."""

from __future__ import annotations

import json

import numpy as np
import pytest

from v1d3.demand.config import ScenarioConfig
from v1d3.errors import ConfigError, DataError
from v1d3.eval.config import RunConfig
from v1d3.eval.run import run_simulation
from v1d3.learn.train import train_tabular, trajectory_files
from v1d3.sim.config import SimConfig
from v1d3.value.base import Discount
from v1d3.value.checkpoint import TABULAR_FILE, load_checkpoint
from v1d3.value.tabular import TabularValue

SC = ScenarioConfig(name="synthetic", orders=8000, start_hour=7.0, hours=1.0)


def test_train_on_simulated_days(tmp_path):
    calls: list[tuple[str, int, int, float | None]] = []
    path = train_tabular(
        SC, SimConfig(), days=2, seed=10, out=tmp_path, bucket_s=900.0,
        discount=Discount(0.95, 600.0), progress=lambda *a: calls.append(a),
    )  # fmt: skip
    assert path == tmp_path / TABULAR_FILE and path.is_file()
    _, meta = load_checkpoint(path, expect_method="tabular-td", scenario=SC)
    assert meta["seed"] == 10 and meta["behaviour"] == "distance"
    assert meta["days"] == [{"seed": 10, "weekday": 0, "date": None},
                            {"seed": 11, "weekday": 1, "date": None}]  # fmt: skip
    assert meta["bucket_s"] == 900.0 and meta["gamma"] == 0.95 and meta["end_s"] == 8 * 3600.0
    assert meta["n_transitions"] > 100
    v = TabularValue.load(path, scenario=SC)
    live = v.values[0, 28:32]  # 7:00–8:00 in 15-minute buckets
    assert (live > 0).mean() > 0.5 and np.isfinite(live).all()
    assert v.values.shape[1] == 32 and not v.values[0, :28].any()  # nothing before 7:00
    assert [c[:3] for c in calls if c[0] == "simulate"] == [("simulate", 1, 2), ("simulate", 2, 2)]
    fit = [c for c in calls if c[0] == "fit"]
    assert fit[-1][1] == fit[-1][2] and fit[-1][3] is not None


def test_train_from_run_folders(tmp_path):
    for seed, wd in ((1, 1), (2, 3)):
        res = run_simulation(RunConfig(scenario=ScenarioConfig(**{**SC.__dict__, "weekday": wd}),
                                       seed=seed))  # fmt: skip
        folder = tmp_path / "runs" / f"r{seed}"
        folder.mkdir(parents=True)
        res.log.write(folder)
    files = trajectory_files(tmp_path / "runs")
    assert [f.parent.name for f in files] == ["r1", "r2"]
    assert json.loads((files[1].parent / "log_meta.json").read_text())["weekday"] == 3
    path = train_tabular(SC, SimConfig(), days=0, seed=0, trajectories=tmp_path / "runs",
                         out=tmp_path / "m", per_weekday=True)  # fmt: skip
    v = TabularValue.load(path)
    assert v.per_weekday and v.values[1].any() and v.values[3].any()
    _, meta = load_checkpoint(path)
    assert len(meta["trajectories"]) == 2
    # a single events file works too
    assert train_tabular(SC, SimConfig(), 0, 0, trajectories=files[0], out=tmp_path / "n").is_file()


def test_bad_inputs(tmp_path):
    with pytest.raises(ConfigError, match="days"):
        train_tabular(SC, SimConfig(), days=0, seed=0, out=tmp_path)
    with pytest.raises(DataError, match="no such"):
        train_tabular(SC, SimConfig(), 1, 0, trajectories=tmp_path / "nope", out=tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no event parquet"):
        trajectory_files(tmp_path / "empty")
