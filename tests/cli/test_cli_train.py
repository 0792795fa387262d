"""``v1d3 train`` with tiny budgets, from simulated days and from trajectory files; bad input is one
line on stderr and exit code 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cli_inprocess import SMALL_RUN as SMALL
from v1d3.cli.main import app
from v1d3.demand.config import ScenarioConfig
from v1d3.eval.config import RunConfig
from v1d3.eval.run import run_simulation, write_run
from v1d3.sim.config import SimConfig
from v1d3.sim.log import write_events
from v1d3.value.checkpoint import load_checkpoint


class Result:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def v1d3(*args: str) -> Result:
    """Run the command in-process (a subprocess would spend seconds importing torch)."""
    r = CliRunner().invoke(app, list(args))
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return Result(r.exit_code, r.stdout, r.stderr)


def test_train_cvnet_from_simulated_days(tmp_path: Path) -> None:
    r = v1d3(
        "train", *SMALL, "--method", "cvnet", "--days", "2", "--seed", "7", "--epochs", "2",
        "--device", "cpu", "--out", str(tmp_path),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "cvnet.pt" in r.stdout
    state, meta = load_checkpoint(tmp_path / "cvnet.pt", expect_method="cvnet")
    assert meta["scenario"] == "synthetic" and [d["seed"] for d in meta["days"]] == [7, 8]
    assert meta["train_config"]["epochs"] == 2 and len(meta["history"]) <= 2
    assert "embedding.weight" in state


def test_train_tabular(tmp_path: Path) -> None:
    r = v1d3("train", *SMALL, "--method", "tabular-td", "--days", "1", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    _, meta = load_checkpoint(tmp_path / "tabular-td.pt", expect_method="tabular-td")
    assert meta["scenario"] == "synthetic"


def test_train_cvnet_from_trajectories(tmp_path: Path) -> None:
    sc = ScenarioConfig(name="synthetic", orders=4000, start_hour=8, hours=0.5)
    for seed in (1, 2):
        res = run_simulation(RunConfig(scenario=sc, sim=SimConfig(), seed=seed))
        write_run(res, tmp_path / "runs" / f"day{seed}")
    r = v1d3(
        "train", *SMALL, "--trajectories", str(tmp_path / "runs"), "--epochs", "1",
        "--device", "cpu", "--out", str(tmp_path / "models"),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    _, meta = load_checkpoint(tmp_path / "models" / "cvnet.pt")
    assert len(meta["days"]) == 2 and meta["days"][-1]["held_out"]


def test_train_cvnet_from_a_multi_day_event_file(tmp_path: Path) -> None:
    sc = ScenarioConfig(name="synthetic", orders=4000, start_hour=8, hours=0.5)
    days = []
    for k, seed in enumerate((1, 2)):
        ev = dict(run_simulation(RunConfig(scenario=sc, sim=SimConfig(), seed=seed)).log.events)
        ev["t_start_s"] = ev["t_start_s"] + k * 86_400.0
        ev["t_end_s"] = ev["t_end_s"] + k * 86_400.0
        days.append(ev)
    both = {c: np.concatenate([d[c] for d in days]) for c in days[0]}
    write_events(both, tmp_path / "two-days.parquet")
    r = v1d3(
        "train", *SMALL, "--weekday", "4", "--trajectories", str(tmp_path / "two-days.parquet"),
        "--epochs", "1", "--device", "cpu", "--out", str(tmp_path / "models"),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    _, meta = load_checkpoint(tmp_path / "models" / "cvnet.pt")
    assert [(d["day"], d["weekday"]) for d in meta["days"]] == [(0, 4), (1, 5)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "deep-q"], "unknown method 'deep-q'"),
        (["--days", "1"], "days must be >= 2"),
        (["--device", "tpu"], "device must be cpu, cuda or auto"),
        (["--loss", "huber"], "loss must be mse or hl-gauss"),
        (["--trajectories", "/nonexistent/runs"], "no such trajectory file"),
        (["--scenario", "atlantis"], "unknown scenario"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    r = v1d3("train", *SMALL, *args, "--out", str(tmp_path))
    assert r.returncode == 2, r.stderr
    assert message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "cvnet.pt").exists()
