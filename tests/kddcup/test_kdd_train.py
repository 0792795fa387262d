"""``v1d3 train`` for a KDD city, from its order files (one or a folder of dates) and from the
trajectories of its runs; the days learned from are printed and kept in the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_inprocess import assert_one_line_error, run_v1d3
from v1d3.demand.config import KddConfig, ScenarioConfig
from v1d3.eval.config import RunConfig
from v1d3.eval.run import run_simulation, write_run
from v1d3.kddcup.kdd_source import day_epoch
from v1d3.value.checkpoint import load_checkpoint

WINDOW = ["--start-hour", "8", "--hours", "1", "--orders", "2000"]


def _kdd(kdd_files, orders: Path | str) -> list[str]:
    return ["--scenario", "kdd", "--grid", str(kdd_files.grid), "--kdd-orders", str(orders)]


def _days(meta: dict) -> list[tuple[str | None, int]]:
    return [(d["date"], d["weekday"]) for d in meta["days"]]


def test_train_on_one_order_file(
    kdd_files, kdd_dated: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    code, out, err = run_v1d3(
        monkeypatch, capsys, "train", *_kdd(kdd_files, kdd_dated / "order_20161108"), *WINDOW,
        "--method", "tabular-td", "--days", "2", "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 0, err
    assert "learned on kdd, 2 days: 2016-11-08 (Tue) ×2" in out
    _, meta = load_checkpoint(tmp_path / "tabular-td.pt", expect_method="tabular-td")
    assert meta["scenario"] == "kdd" and _days(meta) == [("2016-11-08", 1)] * 2
    assert [d["seed"] for d in meta["days"]] == [1000, 1001]


def test_train_on_a_folder_of_dates(
    kdd_files, kdd_dated: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    code, out, err = run_v1d3(
        monkeypatch, capsys, "train", *_kdd(kdd_files, kdd_dated), *WINDOW, "--days", "2",
        "--epochs", "1", "--device", "cpu", "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 0, err
    assert "2 days: 2016-11-08 (Tue), 2016-11-09 (Wed); held out 2016-11-09 (Wed)" in out
    _, meta = load_checkpoint(tmp_path / "cvnet.pt", expect_method="cvnet")
    assert _days(meta) == [("2016-11-08", 1), ("2016-11-09", 2)]
    assert meta["days"][-1]["held_out"] and meta["transitions"]["train"] > 0


def test_train_on_the_trajectories_of_kdd_runs(
    kdd_files, kdd_dated: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    for seed, date in enumerate(("2016-11-08", "2016-11-09")):
        sc = ScenarioConfig(
            name="kdd", kdd=KddConfig(grid=str(kdd_files.grid), orders=str(kdd_dated)),
            date=date, start_hour=8, hours=1, orders=2000,
        )  # fmt: skip
        write_run(run_simulation(RunConfig(scenario=sc, seed=seed)), tmp_path / "runs" / date)
    # the run folders carry their city: no scenario options needed (the default is manhattan)
    code, out, err = run_v1d3(
        monkeypatch, capsys, "train", "--trajectories", str(tmp_path / "runs"), "--epochs", "1",
        "--device", "cpu", "--out", str(tmp_path / "models"),
    )  # fmt: skip
    assert code == 0, err
    assert "learned on kdd (the run folders' scenario, from their config.json), 2 days" in out
    _, meta = load_checkpoint(tmp_path / "models" / "cvnet.pt", scenario="kdd")
    assert meta["scenario_config"]["kdd"]["grid"] == str(kdd_files.grid)
    assert _days(meta) == [("2016-11-08", 1), ("2016-11-09", 2)]


@pytest.mark.parametrize(
    ("orders", "needle"),
    [
        ("nowhere/order_*", "kdd_orders: no file matches"),
        ("empty", "empty holds no orders files"),
        ("shanghai/order_20161110", "orders for another grid than"),
    ],
    ids=["no-match", "empty-folder", "other-grid"],
)
def test_bad_orders_are_one_line_errors(
    kdd_files, orders: str, needle: str, tmp_path: Path, monkeypatch, capsys
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "shanghai").mkdir()
    # a ride in Shanghai, 1,700 km from the grid
    t = day_epoch("2016-11-10") + 9 * 3600
    (tmp_path / "shanghai" / "order_20161110").write_text(
        f"1,{t},{t + 900},121.47,31.23,121.49,31.24,6.5\n"
    )
    code, _, err = run_v1d3(
        monkeypatch, capsys, "train", *_kdd(kdd_files, tmp_path / orders), *WINDOW,
        "--method", "tabular-td", "--days", "2", "--out", str(tmp_path / "models"),
    )  # fmt: skip
    assert_one_line_error(code, err, needle)
    assert not (tmp_path / "models").exists()
