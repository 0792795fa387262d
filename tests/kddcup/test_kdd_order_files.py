"""KDD orders as the competition shipped them: one file per date, a folder or a glob of them; a
simulated day replays one date, training each in turn."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from v1d3.demand.config import KddConfig, ScenarioConfig
from v1d3.errors import ConfigError
from v1d3.kddcup.kdd_source import KddSource, day_epoch, kdd_day, order_days, order_files


def _cfg(kdd_files, orders: str | Path | None, **kw) -> ScenarioConfig:
    kdd = KddConfig(grid=str(kdd_files.grid), orders=None if orders is None else str(orders))
    return ScenarioConfig(name="kdd", kdd=kdd, **kw)


def test_a_folder_or_glob_lists_one_date_per_file(kdd_files, kdd_dated: Path) -> None:
    names = ["order_20161108", "order_20161109"]
    assert [f.name for f in order_files(kdd_dated)] == names
    assert [f.name for f in order_files(f"{kdd_dated}/order_2016110[89]")] == names
    days = order_days(kdd_dated)
    assert [(d.path.name, d.date, d.weekday, d.by_name) for d in days] == [
        ("order_20161108", "2016-11-08", 1, True),
        ("order_20161109", "2016-11-09", 2, True),
    ]
    # a file without a date in its name holds the dates its rides start on
    multi = order_days(kdd_files.orders)
    assert [(d.date, d.by_name) for d in multi] == [("2016-11-08", False), ("2016-11-09", False)]


def test_a_folder_without_order_files_takes_its_csv_files(kdd_dated: Path, tmp_path: Path) -> None:
    shutil.copy(kdd_dated / "order_20161109", tmp_path / "wednesday.csv")
    (tmp_path / "notes.txt").write_text("not orders\n")
    assert [(d.path.name, d.date) for d in order_days(tmp_path)] == [
        ("wednesday.csv", "2016-11-09")
    ]


def test_a_day_replays_the_file_of_its_date(kdd_files, kdd_dated: Path) -> None:
    rng = np.random.default_rng(0)
    wed = kdd_day(_cfg(kdd_files, kdd_dated, weekday=2), rng)
    assert (wed.date, wed.weekday, wed.epoch_s) == ("2016-11-09", 2, day_epoch("2016-11-09"))
    assert len(wed.orders) == kdd_files.orders_per_day and wed.orders.cancel_prob is not None
    tue = kdd_day(_cfg(kdd_files, kdd_dated, date="2016-11-08"), rng)
    assert tue.date == "2016-11-08" and len(tue.orders) == kdd_files.orders_per_day
    bad = {k: v for k, v in kdd_files.orders_bad_rows.items() if k not in ("fields", "number")}
    assert all(tue.orders.drop_reasons[k] == v for k, v in bad.items())


def test_rides_of_other_dates_in_a_dated_file_are_counted(kdd_files, tmp_path: Path) -> None:
    dated = tmp_path / "order_20161109"
    shutil.copy(kdd_files.orders, dated)  # both dates, under the name of one
    day = kdd_day(_cfg(kdd_files, dated, weekday=2), np.random.default_rng(0))
    # the first date's orders and its four readable bad rows are another date's
    assert day.orders.drop_reasons["other_date"] == kdd_files.orders_per_day + 4
    assert len(day.orders) == kdd_files.orders_per_day


def test_training_history_replays_each_date_in_turn(kdd_files, kdd_dated: Path) -> None:
    src = KddSource()
    days = src.history(_cfg(kdd_files, kdd_dated), 3)
    assert [(d.date, d.weekday, Path(d.kdd.orders or "").name) for d in days] == [
        ("2016-11-08", 1, "order_20161108"),
        ("2016-11-09", 2, "order_20161109"),
        ("2016-11-08", 1, "order_20161108"),
    ]
    one = src.history(_cfg(kdd_files, kdd_dated, date="2016-11-09"), 2)
    assert [(d.date, d.weekday) for d in one] == [("2016-11-09", 2)] * 2
    synthetic = src.history(_cfg(kdd_files, None), 6)  # no orders: the reference week
    assert [(d.date, d.weekday) for d in synthetic] == [(None, w) for w in (0, 1, 2, 3, 4, 0)]


def test_bad_order_sets_are_config_errors(kdd_files, kdd_dated: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"kdd_orders: no file matches .*/order_2017\*"):
        order_files(tmp_path / "order_2017*")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"empty holds no orders files \(named order_YYYYMMDD"):
        order_files(tmp_path / "empty")
    both = tmp_path / "both"
    shutil.copytree(kdd_dated, both)
    shutil.copy(kdd_files.orders, both / "order_all")  # 11-08 and 11-09 once more
    with pytest.raises(ConfigError, match="both hold orders of 2016-11-08; give one file per"):
        order_days(both)
    with pytest.raises(
        ConfigError,
        match=r"no orders on weekday 4 \(Monday = 0; the files cover 2016-11-08 \(Tue\), "
        r"2016-11-09 \(Wed\)\); choose --date or --weekday",
    ):
        kdd_day(_cfg(kdd_files, kdd_dated, weekday=4), np.random.default_rng(0))
