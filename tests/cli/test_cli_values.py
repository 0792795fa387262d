"""Numbers out of range anywhere on the command line: one line, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cli_inprocess import assert_one_line_error, run_v1d3
from v1d3.sim.log import EVENT_COLUMNS

# no --orders here: some cases set it themselves
SMALL = ["--scenario", "synthetic", "--start-hour", "7", "--hours", "0.5"]


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
def test_out_of_range_numbers(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    needle: str,
) -> None:
    code, _, err = run_v1d3(monkeypatch, capsys, *args, *SMALL, "--out", str(tmp_path / "out"))
    assert_one_line_error(code, err, needle)
    assert not any(tmp_path.iterdir())


def test_training_on_trajectories_without_a_transition_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "events.parquet"
    pq.write_table(pa.table({c: np.zeros(0, dtype=t) for c, t in EVENT_COLUMNS.items()}), events)
    out = tmp_path / "models"
    code, _, err = run_v1d3(
        monkeypatch, capsys, "train", "--method", "tabular-td", *SMALL,
        "--trajectories", str(events), "--out", str(out),
    )  # fmt: skip
    assert_one_line_error(code, err, "no transitions to learn from")
    assert not out.exists()
