"""The invariant checker catches what it promises to catch."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from cli_inprocess import assert_one_line_error, run_v1d3
from v1d3.errors import CheckError
from v1d3.sim.checker import check_metrics, check_run
from v1d3.sim.log import EVENT_KINDS, ORDER_STATUS, RunLog

TRIP = EVENT_KINDS.index("trip")


def _copy(log: RunLog) -> RunLog:
    return RunLog(
        events={k: v.copy() for k, v in log.events.items()},
        orders={k: v.copy() for k, v in log.orders.items()},
        drivers={k: v.copy() for k, v in log.drivers.items()},
        rounds={k: v.copy() for k, v in log.rounds.items()},
        meta=copy.deepcopy(log.meta),
    )


def _trip_rows(log: RunLog) -> np.ndarray:
    return np.flatnonzero(log.events["kind"] == TRIP)


def test_a_real_run_is_clean(synthetic_run) -> None:
    assert check_run(synthetic_run.log).ok


def test_order_served_twice(synthetic_run) -> None:
    log = _copy(synthetic_run.log)
    a, b = _trip_rows(log)[:2]
    log.events["order_id"][b] = log.events["order_id"][a]
    rep = check_run(log)
    assert any("served more than once" in v for v in rep.violations)
    with pytest.raises(CheckError):
        rep.raise_if_failed()


def test_income_differs_from_fares(synthetic_run) -> None:
    log = _copy(synthetic_run.log)
    log.events["reward"][_trip_rows(log)[0]] += 1.0
    assert any("income" in v or "fare" in v for v in check_run(log).violations)


def test_pickup_beyond_radius(synthetic_run) -> None:
    log = _copy(synthetic_run.log)
    log.events["pickup_m"][_trip_rows(log)[0]] = log.meta["pickup_radius_m"] + 1
    assert any("beyond the radius" in v for v in check_run(log).violations)


def test_driver_on_two_trips_at_once(synthetic_run) -> None:
    log = _copy(synthetic_run.log)
    ev = log.events
    rows = _trip_rows(log)
    drv = ev["driver_id"][rows]
    # a driver with two trips: make the second start before the first ends
    vals, counts = np.unique(drv, return_counts=True)
    d = vals[counts >= 2][0]
    first, second = rows[drv == d][:2]
    ev["t_start_s"][second] = ev["t_start_s"][first] + 1.0
    order = np.lexsort((ev["driver_id"], ev["t_start_s"]))
    log.events = {k: v[order] for k, v in ev.items()}
    assert any("before its previous one ended" in v for v in check_run(log).violations)


def test_driver_teleports(synthetic_run) -> None:
    log = _copy(synthetic_run.log)
    log.events["start_lat"][_trip_rows(log)[5]] += 0.01
    assert any("position jumps" in v for v in check_run(log).violations)


def test_driver_not_conserved(synthetic_run) -> None:
    log = _copy(synthetic_run.log)
    end = np.flatnonzero(log.events["kind"] == EVENT_KINDS.index("shift_end"))[0]
    log.events = {k: np.delete(v, end) for k, v in log.events.items()}
    assert any("pair up" in v for v in check_run(log).violations)


def test_clock_runs_backwards(synthetic_run) -> None:
    log = _copy(synthetic_run.log)
    r = _trip_rows(log)[3]
    log.events["t_end_s"][r] = log.events["t_start_s"][r] - 5
    assert any("ends before it starts" in v for v in check_run(log).violations)


def test_round_trip_through_files(synthetic_run, tmp_path) -> None:
    from v1d3.eval.run import write_run

    write_run(synthetic_run, tmp_path / "run")
    back = RunLog.read(tmp_path / "run")
    assert check_run(back).ok
    for col, v in synthetic_run.log.events.items():
        np.testing.assert_array_equal(back.events[col], v)


@pytest.mark.parametrize(
    ("table", "column", "needle"),
    [
        ("events", "reward", "events: reward is not a finite number"),
        ("events", "t_end_s", "events: t_end_s is not a finite number"),
        ("events", "start_lat", "events: start_lat is not a finite number"),
        ("events", "end_lng", "events: end_lng is not a finite number"),
        ("orders", "fare", "orders: fare is not a finite number"),
        ("orders", "dest_lat", "orders: dest_lat is not a finite number"),
        ("orders", "t_end_s", "orders: t_end_s of an order no longer open"),
        ("orders", "pickup_s", "orders: pickup_s of an assigned order"),
        ("drivers", "t_off_s", "drivers: t_off_s is not a finite number"),
        ("rounds", "ms", "rounds: ms is not a finite number"),
    ],
)
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_numbers_are_violations(synthetic_run, table, column, needle, value) -> None:
    """A NaN compares false with everything, so it used to pass every check (a NaN fare, a NaN
    t_end_s, a NaN coordinate: "all invariants hold")."""
    log = _copy(synthetic_run.log)
    cols = getattr(log, table)
    row = int(_trip_rows(log)[0]) if table == "events" else 0
    if table == "orders":  # a completed order: every column of it must be finite
        row = int(log.events["order_id"][_trip_rows(log)[0]])
    cols[column][row] = value
    assert any(v.startswith(needle) for v in check_run(log).violations), check_run(log)


def test_an_expired_order_may_lack_its_assignment(synthetic_run) -> None:
    status = synthetic_run.log.orders["status"]
    expired = status == ORDER_STATUS.index("expired")
    assert expired.any() and np.isnan(synthetic_run.log.orders["t_assign_s"][expired]).all()
    assert check_run(synthetic_run.log).ok


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        ("total_income", 1.0, "metrics.json: total_income is 1.0, the logs give"),
        ("orders", 1, "metrics.json: orders is 1, the logs give"),
        ("matched", "many", "metrics.json: matched is 'many', not a number"),
        ("completed", None, "metrics.json: completed is None, not a number"),
        ("cancelled", float("nan"), "metrics.json: cancelled is nan"),
    ],
)
def test_metrics_that_the_logs_contradict(synthetic_run, key, value, needle) -> None:
    assert check_metrics(synthetic_run.log, synthetic_run.metrics) == []
    edited = {**synthetic_run.metrics, key: value}
    assert [v for v in check_metrics(synthetic_run.log, edited) if v.startswith(needle)]


def test_cli_check_catches_an_edited_summary(synthetic_run, tmp_path, monkeypatch, capsys) -> None:
    """metrics.json was never read by ``v1d3 check``: an edited summary passed."""
    from v1d3.eval.run import write_run

    run = write_run(synthetic_run, tmp_path / "run")
    code, out, _ = run_v1d3(monkeypatch, capsys, "check", str(run))
    assert code == 0 and "all invariants hold" in out
    m = json.loads((run / "metrics.json").read_text())
    (run / "metrics.json").write_text(json.dumps({**m, "total_income": m["total_income"] + 5}))
    code, out, err = run_v1d3(monkeypatch, capsys, "check", str(run))
    assert code == 1 and "all invariants hold" not in out
    assert f"{run}: metrics.json: total_income is {m['total_income'] + 5}" in err
    (run / "metrics.json").write_bytes(b"{\xff}")
    code, _, err = run_v1d3(monkeypatch, capsys, "check", str(run))
    assert_one_line_error(code, err, f"{run / 'metrics.json'}: not UTF-8 text")


def test_cli_check_prints_one_line_per_violation(synthetic_run, tmp_path, monkeypatch, capsys):
    """Violations were wrapped at 160 columns off a terminal: a long path split them."""
    from v1d3.eval.run import write_run

    run = write_run(synthetic_run, tmp_path / ("long-folder-name-" * 8) / "run")
    m = json.loads((run / "metrics.json").read_text())
    (run / "metrics.json").write_text(json.dumps({**m, "orders": 1, "completed": 2}))
    code, _, err = run_v1d3(monkeypatch, capsys, "check", str(run))
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 1 and len(lines) == 2 and all(ln.startswith(f"{run}: ") for ln in lines), err
