"""Trajectory files for the offline learners: a run folder's day and its bad inputs, the same
for both learners."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from v1d3.demand.config import ScenarioConfig, SyntheticConfig
from v1d3.errors import ConfigError, DataError
from v1d3.eval.config import RunConfig
from v1d3.eval.run import run_simulation, write_run
from v1d3.learn.config import OfflineTrainConfig
from v1d3.learn.train import (
    days_summary,
    train_tabular,
    trajectory_city,
    trajectory_day,
    trajectory_files,
)
from v1d3.learn.train_neural import train_cvnet_from_scenario
from v1d3.sim.config import SimConfig
from v1d3.value.checkpoint import load_checkpoint

SC = ScenarioConfig(name="synthetic", orders=8000, start_hour=7.0, hours=1.0, weekday=3)


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("history") / "day"
    write_run(run_simulation(RunConfig(scenario=SC, seed=4)), folder)
    return folder


def test_a_run_folder_gives_its_own_day(run_folder: Path, tmp_path: Path) -> None:
    assert trajectory_day(run_folder / "events.parquet", 0, 1.0) == (3, 8 * 3600.0, 4, None)
    loose = tmp_path / "day.parquet"  # not a run folder: the caller's defaults
    assert trajectory_day(loose, 1, 86_400.0) == (1, 86_400.0, None, None)


def _tabular(history: Path, out: Path) -> None:
    train_tabular(SC, SimConfig(), days=1, seed=0, trajectories=history, out=out)


def _cvnet(history: Path, out: Path) -> None:
    train_cvnet_from_scenario(SC, SimConfig(), days=1, seed=0, trajectories=history, out=out)


def _tabular_on(sc: ScenarioConfig, history: Path, out: Path) -> dict[str, Any]:
    return load_checkpoint(train_tabular(sc, SimConfig(), 0, 0, trajectories=history, out=out))[1]


def _cvnet_on(sc: ScenarioConfig, history: Path, out: Path) -> dict[str, Any]:
    cfg = OfflineTrainConfig(epochs=1, device="cpu")
    path = train_cvnet_from_scenario(sc, SimConfig(), 0, 0, trajectories=history, out=out,
                                     train_cfg=cfg)  # fmt: skip
    return load_checkpoint(path)[1]


@pytest.mark.parametrize("train", [_tabular, _cvnet], ids=["tabular-td", "cvnet"])
def test_both_learners_name_a_bad_log_meta(
    train: Callable[[Path, Path], None], run_folder: Path, tmp_path: Path
) -> None:
    history = tmp_path / "history"
    (history / "day").mkdir(parents=True)
    for f in ("events.parquet", "log_meta.json"):
        (history / "day" / f).write_bytes((run_folder / f).read_bytes())
    (history / "day" / "log_meta.json").write_text('{"weekday": "Tuesday"}')
    with pytest.raises(DataError, match=r"day/log_meta\.json: expected a JSON object with a "):
        train(history, tmp_path / "models")
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())


@pytest.mark.parametrize("train", [_tabular, _cvnet], ids=["tabular-td", "cvnet"])
def test_both_learners_check_the_model_path_first(
    train: Callable[[Path, Path], None], tmp_path: Path
) -> None:
    blocker = tmp_path / "models"
    blocker.write_text("a file where the models folder should be")
    # the history is missing too: the model path is what must be refused, before any reading
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        train(tmp_path / "no-history", blocker)


@pytest.mark.parametrize("train", [_tabular_on, _cvnet_on], ids=["tabular-td", "cvnet"])
def test_run_folders_are_learned_on_their_own_scenario(
    train: Callable[[ScenarioConfig, Path, Path], dict[str, Any]], run_folder: Path, tmp_path: Path
) -> None:
    history = tmp_path / "history"
    for name in ("a", "b"):
        shutil.copytree(run_folder, history / name)
    # the options name the default manhattan city; the runs' config.json says synthetic
    meta = train(ScenarioConfig(), history, tmp_path / "models")
    assert meta["scenario"] == "synthetic"
    assert [(d["weekday"], d["date"], d["seed"]) for d in meta["days"]] == [(3, None, 4)] * 2


def test_run_folders_of_two_cities_are_refused(run_folder: Path, tmp_path: Path) -> None:
    history = tmp_path / "history"
    shutil.copytree(run_folder, history / "a")
    other = ScenarioConfig(name="synthetic", orders=500, start_hour=7.0, hours=0.5,
                           synthetic=SyntheticConfig(rings=3))  # fmt: skip
    write_run(run_simulation(RunConfig(scenario=other, seed=1)), history / "b")
    files = trajectory_files(history)
    with pytest.raises(DataError, match=r"b/config\.json: a run in another city \(synthetic, 37 "):
        trajectory_city(files, SC)
    assert trajectory_city(files[:1], ScenarioConfig())[0] == SC


def test_days_summary() -> None:
    days = [{"weekday": w} for w in (0, 1, 0)] + [{"weekday": 1, "date": "2016-11-08"}]
    days[-1]["held_out"] = True
    assert days_summary(days) == "4 days: Mon ×2, Tue, 2016-11-08 (Tue); held out 2016-11-08 (Tue)"
    assert days_summary(days[:1]) == "1 day: Mon"
