"""``v1d3 train`` with tiny budgets, from simulated days and from trajectory files; bad input is one
line on stderr and exit code 2."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from cli_inprocess import SMALL_RUN as SMALL
from v1d3.cli.main import app
from v1d3.demand.config import ScenarioConfig
from v1d3.eval.config import RunConfig
from v1d3.eval.run import run_simulation, write_run
from v1d3.learn.config import OfflineTrainConfig
from v1d3.options import option_args
from v1d3.sim.config import SimConfig
from v1d3.sim.log import write_events
from v1d3.value.checkpoint import load_checkpoint
from v1d3.value.cvnet import CVNetConfig


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
    # the value learners' own discount (0.9 per 600 s), not ospo/grpo's options beside them
    assert (meta["gamma"], meta["time_unit_s"]) == (CVNetConfig().gamma, CVNetConfig().time_unit_s)


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


TRAIN = OfflineTrainConfig(
    epochs=3,
    batch_size=128,
    lr=3e-4,
    target_sync_steps=50,
    lipschitz_weight=1e-3,
    patience=0,
    seed=7,
    device="cpu",
)
"""Every offline training field away from its default (``seed`` is ``--seed``'s)."""

NET = CVNetConfig(
    coarse_levels=(0, 2),
    base_resolution=7,
    rings=True,
    embed_dim=8,
    hidden=(16, 8, 4),
    time_periods_h=(24.0, 1.5),
    linear_time=False,
    weekday_onehot=False,
    gamma=0.8,
    time_unit_s=300.0,
    loss="hl-gauss",
    hl_bins=11,
    hl_min=-1.0,
    hl_max=2.5,
    hl_sigma=0.5,
    lipschitz_norm="spectral",
)
"""Every CVNet field away from its default."""


@pytest.mark.parametrize("config", [TRAIN, NET], ids=["train", "cvnet"])
def test_every_learner_field_is_set_away_from_its_default(config: Any) -> None:
    """The round trip below covers every field: a new field must be set here."""
    default = type(config)()
    same = [
        f.name
        for f in dataclasses.fields(config)
        if getattr(config, f.name) == getattr(default, f.name)
    ]
    assert not same, f"set these fields to a non-default value: {same}"


def test_every_learner_field_reaches_the_trainer_through_its_option(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Each field's option (derived from the field, v1d3.options) sets what the trainer gets;
    a field without an option is an unknown option here."""
    got: list[tuple[OfflineTrainConfig, CVNetConfig]] = []

    def fake_train(*args: Any) -> Path:
        got.append(args[-2:])
        return tmp_path / "cvnet.pt"

    monkeypatch.setattr("v1d3.cli.train._train_cvnet", fake_train)
    r = v1d3("train", *SMALL, *option_args(TRAIN), *option_args(NET), "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert got == [(TRAIN, NET)]
    # and without them, the defaults (the command's --seed seeds the weights as well)
    got.clear()
    assert v1d3("train", *SMALL, "--out", str(tmp_path)).returncode == 0
    assert got == [(OfflineTrainConfig(seed=1000), CVNetConfig())]


def test_rings_keeps_its_negative_flag(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    got: list[CVNetConfig] = []
    monkeypatch.setattr("v1d3.cli.train._train_cvnet", lambda *a: got.append(a[-1]) or tmp_path)
    assert v1d3("train", *SMALL, "--rings", "--no-rings", "--out", str(tmp_path)).returncode == 0
    assert got == [CVNetConfig(rings=False)]


def test_tabular_takes_the_discount_options(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    got: list[tuple[Any, ...]] = []
    monkeypatch.setattr("v1d3.cli.train._train_tabular", lambda *a: got.append(a) or tmp_path)
    r = v1d3(
        "train", *SMALL, "--method", "tabular-td", "--gamma", "0.8", "--time-unit-s", "300",
        "--bucket-s", "900", "--out", str(tmp_path),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert got[0][-3:] == (900.0, 0.8, 300.0)


def test_train_ospo_and_grpo_write_their_models_with_every_setting(tmp_path: Path) -> None:
    for method in ("ospo", "grpo"):
        r = v1d3(
            "train", *SMALL, "--method", method, "--days", "2", "--seed", "11", "--workers", "1",
            "--layers", "8,8", "--clip", "0.3", "--horizon-s", "900", "--device", "cpu",
            "--out", str(tmp_path),
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert f"{method}.pt" in r.stdout and "1 updates on 2 days" in r.stdout
        _, meta = load_checkpoint(tmp_path / f"{method}.pt", expect_method=method)
        assert [d["seed"] for d in meta["days"]] == [11, 12]
        assert meta["scorer"]["layers"] == [8, 8]
        assert meta["train"]["clip"] == 0.3 and meta["train"]["horizon_s"] == 900.0
        assert meta["train"]["seed"] == 11 and meta["train"]["device"] == "cpu"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--clip", "1.5"], "clip must be in (0, 1)"),
        (["--layers", "0"], "layers must be one or more widths >= 1"),
        (["--workers", "0"], "workers must be >= 1"),
        (["--rollout-hours", "30"], "rollout_hours must be in (0, 24]"),
        (["--trajectories", "."], "--trajectories: not used by --method ospo"),
        (["--bucket-s", "300"], "--bucket-s: not used by --method ospo"),
    ],
)
def test_train_ospo_refuses_bad_settings_in_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    r = v1d3("train", *SMALL, "--method", "ospo", "--days", "1", "--out", str(tmp_path), *args)
    assert r.returncode == 2
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "ospo.pt").exists()


def test_train_prior_learns_with_the_folders_cvnet(tmp_path: Path) -> None:
    from v1d3.value.prior import PRIOR_FILE, load_prior

    r = v1d3("train", *SMALL, "--method", "prior", "--days", "1", "--out", str(tmp_path))
    assert r.returncode == 2 and "train it first (--method cvnet)" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = v1d3(
        "train", *SMALL, "--method", "cvnet", "--days", "2", "--epochs", "1", "--device", "cpu",
        "--out", str(tmp_path),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = v1d3("train", *SMALL, "--method", "prior", "--days", "1", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    got = load_prior(tmp_path / PRIOR_FILE)
    assert got.days == 1 and got.prior.shape == (24, len(got.labels))
    assert np.abs(got.prior).max() > 0 and len(got.model_sha256) == 64
    r = v1d3("train", *SMALL, "--method", "prior", "--behaviour", "nearest", "--out", str(tmp_path))
    assert r.returncode == 2 and "--behaviour: not used by --method prior" in r.stderr
