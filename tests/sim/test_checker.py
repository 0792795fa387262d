"""The invariant checker catches what it promises to catch."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from v1d3.errors import CheckError
from v1d3.sim.checker import check_run
from v1d3.sim.log import EVENT_KINDS, RunLog

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
