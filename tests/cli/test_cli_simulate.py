"""CLI smoke tests with tiny budgets, and bad input: one line, exit code 2, nothing written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from cli_inprocess import SMALL_RUN as SMALL
from cli_inprocess import assert_one_line_error


def v1d3(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "v1d3.cli.main", *args], capture_output=True, text=True, timeout=300
    )


def test_simulate_writes_a_run_folder_and_reproduces_it(tmp_path: Path) -> None:
    out = tmp_path / "run"
    r = v1d3(
        "simulate", *SMALL, "--seed", "4", "--dispatch", "nearest", "--out", str(out),
        "--reposition-after-s", "120", "--no-overnight-shifts",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    for name in (
        "config.json",
        "policies.json",
        "metrics.json",
        "metrics_by_hour.csv",
        "events.parquet",
        "orders.parquet",
        "drivers.parquet",
        "rounds.parquet",
    ):
        assert (out / name).exists(), name
    sim = json.loads((out / "config.json").read_text())["sim"]
    assert sim["reposition_after_s"] == 120.0 and sim["overnight_shifts"] is False
    m = json.loads((out / "metrics.json").read_text())
    assert m["orders"] > 0 and "income_per_online_hour_managed" in m
    saved = json.loads((out / "policies.json").read_text())
    assert saved["dispatch"]["class"] == "v1d3.dispatch.baselines.NearestDriver"
    assert saved["reposition"]["class"] == "v1d3.reposition.baselines.Stay"
    again = tmp_path / "again"
    r = v1d3("simulate", "--config", str(out / "config.json"), "--out", str(again))
    assert r.returncode == 0, r.stderr
    m2 = json.loads((again / "metrics.json").read_text())
    for k in ("orders", "completed", "total_income", "wait_mean_s"):
        assert m2[k] == m[k]
    assert v1d3("check", str(out)).returncode == 0


def test_managed_drivers_manages_exactly_that_many_and_is_saved(tmp_path: Path) -> None:
    out = tmp_path / "run"
    r = v1d3("simulate", *SMALL, "--seed", "4", "--reposition", "random", "--managed-drivers", "3",
             "--reposition-after-s", "60", "--out", str(out))  # fmt: skip
    assert r.returncode == 0, r.stderr
    sim = json.loads((out / "config.json").read_text())["sim"]
    assert sim["managed_drivers"] == 3 and sim["managed_share"] == 1.0
    assert json.loads((out / "metrics.json").read_text())["managed_drivers"] == 3
    assert pq.read_table(out / "drivers.parquet").column("managed").to_pylist().count(True) == 3


def test_like_date_is_saved_recorded_and_reproduced(tmp_path: Path) -> None:
    out, again = tmp_path / "run", tmp_path / "again"
    r = v1d3(
        "simulate", "--scenario", "manhattan", "--like-date", "2021-02-01", "--hours", "1",
        "--orders", "3000", "--dispatch", "distance", "--seed", "2", "--out", str(out),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    saved = json.loads((out / "config.json").read_text())["scenario"]["manhattan"]
    assert saved["like_date"] == "2021-02-01" and saved["real_days"] is False
    meta = json.loads((out / "log_meta.json").read_text())
    assert meta["like_date"] == "2021-02-01" and meta["weekday"] == 0  # the date's Monday
    r = v1d3("simulate", "--config", str(out / "config.json"), "--out", str(again))
    assert r.returncode == 0, r.stderr
    m, m2 = (json.loads((f / "metrics.json").read_text()) for f in (out, again))
    for k in ("orders", "completed", "total_income", "wait_mean_s"):
        assert m2[k] == m[k]
    assert json.loads((again / "log_meta.json").read_text())["like_date"] == "2021-02-01"


def test_listing_commands() -> None:
    r = v1d3("scenarios")
    assert r.returncode == 0 and "manhattan" in r.stdout and "nyc-tlc" in r.stdout
    r = v1d3("policies")
    assert r.returncode == 0 and "distance" in r.stdout and "demand" in r.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--scenario", "atlantis"], "unknown scenario"),
        (["--dispatch", "psychic"], "unknown dispatch policy"),
        (["--reposition", "teleport"], "unknown reposition policy"),
        (["--drivers", "-3"], "drivers"),
        (["--fleet-scale", "0"], "fleet_scale"),
        (["--radius-m", "0"], "pickup_radius_m"),
        (["--managed-share", "1.5"], "managed_share"),
        (["--managed-drivers", "-1"], "managed_drivers must be >= 0"),
        (["--managed-drivers", "3", "--managed-share", "0.5"], "managed_drivers replaces"),
        (["--managed-drivers", "100000"], "managed_drivers must be at most the run's"),
        (["--reposition-after-s", "-1"], "reposition_after_s"),
        (["--scenario", "nyc-tlc", "--trips", "/nonexistent/trips.parquet"], "trips.parquet"),
        (["--scenario", "manhattan", "--weekday", "6"], "business days"),
        (["--scenario", "manhattan", "--like-date", "2021-02-06"], "like_date: 2021-02-06 is a"),
        (["--like-date", "2021-02-01", "--real-days"], "like_date and real_days exclude"),
        # malformed command lines: click's usage errors, on one line as well
        (["--drivers", "abc"], "'--drivers'"),
        (["--no-such-option", "1"], "--no-such-option"),
    ],
)
def test_bad_input_is_one_line_exit_2_nothing_written(
    tmp_path: Path, args: list[str], needle: str
) -> None:
    out = tmp_path / "run"
    r = v1d3("simulate", *SMALL[2:], *args, "--out", str(out))
    assert_one_line_error(r.returncode, r.stderr, needle)
    assert not out.exists()
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["teleport"], "No such command 'teleport'"),
        (["simulate", "--out"], "'--out' requires an argument"),
        (["kdd-grid"], "Missing argument"),
    ],
)
def test_malformed_command_line_is_one_line_exit_2(args: list[str], needle: str) -> None:
    r = v1d3(*args)
    assert "--help" in assert_one_line_error(r.returncode, r.stderr, needle)


def test_messages_print_brackets_verbatim(tmp_path: Path) -> None:
    # a path like this once read as console markup: mangled, or a MarkupError traceback
    trips = tmp_path / "[old]" / "[/x]trips.parquet"
    r = v1d3(
        "simulate", "--scenario", "nyc-tlc", "--trips", str(trips), "--out", str(tmp_path / "o")
    )
    assert_one_line_error(r.returncode, r.stderr, f"error: {trips}: ")
    assert r.stderr.startswith(f"error: {trips}: ")


def test_help_still_exits_0_and_bare_command_shows_it() -> None:
    r = v1d3("simulate", "--help")
    assert r.returncode == 0 and "--dispatch" in r.stdout
    r = v1d3()
    assert r.returncode == 2 and "simulate" in r.stdout


def test_bad_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "config.json"
    cfg.write_text("{not json")
    r = v1d3("simulate", "--config", str(cfg), "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "config.json" in r.stderr
