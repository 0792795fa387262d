"""Numbers out of range anywhere on the command line: one line, exit 2, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from v1d3.sim.log import EVENT_COLUMNS

SMALL = ["--scenario", "synthetic", "--start-hour", "7", "--hours", "0.5"]


def _v1d3(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "v1d3.cli.main", *args], capture_output=True, text=True, timeout=300
    )


def _one_line(r: subprocess.CompletedProcess[str], needle: str) -> None:
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0], r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["simulate", "--seed", "-1"], "seed must be >= 0, got -1"),
        (["simulate", "--radius-m", "inf"], "pickup_radius_m must be a finite number"),
        (["simulate", "--shift-hours", "inf"], "shift_mean_h must be a finite number"),
        (["simulate", "--shift-hours", "1e20"], "shift_mean_h must be in [0, 24] hours"),
        (["simulate", "--radius-m", "1e308"], "pickup_radius_m must be in (0, 100 km]"),
        (["simulate", "--fleet-scale", "1e308"], "fleet_scale must be in (0, 100]"),
        (["simulate", "--orders", "1000000000000"], "orders must be in 1..50,000,000"),
        (["simulate", "--drivers", "1000000000000"], "drivers must be in 1..5,000,000"),
        (["train", "--method", "tabular-td", "--seed", "-1"], "seed must be an integer >= 0"),
        (["train", "--method", "tabular-td", "--gamma", "1.5"], "gamma must be in (0, 1]"),
        (["train", "--method", "tabular-td", "--gamma", "nan"], "gamma must be in (0, 1]"),
        (["train", "--method", "tabular-td", "--time-unit-s", "0"], "time_unit_s must be"),
        (["train", "--method", "tabular-td", "--bucket-s", "nan"], "bucket_s and end_s must be"),
    ],
)
def test_out_of_range_numbers(tmp_path: Path, args: list[str], needle: str) -> None:
    out = tmp_path / "out"
    _one_line(_v1d3(*args, *SMALL, "--out", str(out)), needle)
    assert not any(tmp_path.iterdir())


def test_training_on_trajectories_without_a_transition_is_refused(tmp_path: Path) -> None:
    events = tmp_path / "events.parquet"
    pq.write_table(pa.table({c: np.zeros(0, dtype=t) for c, t in EVENT_COLUMNS.items()}), events)
    out = tmp_path / "models"
    r = _v1d3("train", "--method", "tabular-td", *SMALL, "--trajectories", str(events),
              "--out", str(out))  # fmt: skip
    _one_line(r, "no transitions to learn from")
    assert not out.exists()
