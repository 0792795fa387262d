"""Transitions from a hand-made event table, checked row by row."""

from __future__ import annotations

import numpy as np
import pytest

from v1d3.demand.config import SyntheticConfig
from v1d3.demand.synthetic import synthetic_city
from v1d3.errors import DataError
from v1d3.learn.transitions import Transitions, concat, transitions_from_events
from v1d3.sim.log import CANCEL, EVENT_COLUMNS, IDLE_MOVE, SHIFT_END, SHIFT_START, TRIP
from v1d3.sim.scenario import build_scenario


@pytest.fixture(scope="module")
def city():
    return synthetic_city(SyntheticConfig(rings=2), 8)


def _events(city, rows):
    """rows: (kind, driver, t0, t1, cell0, cell1, reward); positions at the cell centres, a cell
    of -1 puts the point at cell 3's centre and leaves the cell to be recomputed."""
    out = {c: [] for c in EVENT_COLUMNS}
    for kind, drv, t0, t1, c0, c1, r in rows:
        p0 = 3 if c0 < 0 else c0
        p1 = 3 if c1 < 0 else c1
        vals = {
            "kind": kind, "driver_id": drv, "order_id": -1, "t_start_s": t0, "t_end_s": t1,
            "start_lat": city.cell_lat[p0], "start_lng": city.cell_lng[p0],
            "end_lat": city.cell_lat[p1], "end_lng": city.cell_lng[p1],
            "start_cell": c0, "end_cell": c1, "reward": r, "pickup_m": 0.0, "pickup_s": 0.0,
        }  # fmt: skip
        for c in EVENT_COLUMNS:
            out[c].append(vals[c])
    return {c: np.asarray(v, dtype=EVENT_COLUMNS[c]) for c, v in out.items()}


def _rows(tr: Transitions):
    key = np.lexsort((tr.t0_s, tr.cell0))
    return [
        (int(tr.cell0[i]), float(tr.t0_s[i]), float(tr.reward[i]), int(tr.cell1[i]),
         float(tr.t1_s[i]), bool(tr.terminal[i]))
        for i in key
    ]  # fmt: skip


def test_trip_idle_gaps_and_moves(city):
    ev = _events(
        city,
        [
            (SHIFT_START, 0, 0.0, 0.0, 0, 0, 0.0),
            (TRIP, 0, 1000.0, 1600.0, 0, 1, 10.0),
            (IDLE_MOVE, 0, 2000.0, 2000.0, 1, 2, 0.0),
            (SHIFT_END, 0, 3000.0, 3000.0, 2, 2, 0.0),
        ],
    )
    tr = transitions_from_events(ev, city, weekday=3, end_s=2800.0, idle_step_s=600.0)
    assert _rows(tr) == [
        (0, 0.0, 0.0, 0, 600.0, False),  # waiting, first full step
        (0, 600.0, 0.0, 0, 1000.0, False),  # waiting, last piece ends at the trip's start
        (0, 1000.0, 10.0, 1, 1600.0, False),  # the trip
        (1, 1600.0, 0.0, 1, 2000.0, False),  # waiting after the drop-off
        (1, 2000.0, 0.0, 2, 2000.0, False),  # idle move (no duration)
        (2, 2000.0, 0.0, 2, 2600.0, False),
        (2, 2600.0, 0.0, 2, 3000.0, True),  # ends after the end of the day
    ]
    assert (tr.weekday == 3).all()
    assert tr.cell0.dtype == np.int32 and tr.weekday.dtype == np.int8
    np.testing.assert_allclose(tr.lat1[tr.reward > 0], city.cell_lat[1])


def test_cancel_keeps_waiting_and_missing_cells_are_recomputed(city):
    ev = _events(
        city,
        [
            (SHIFT_START, 7, 0.0, 0.0, -1, -1, 0.0),
            (CANCEL, 7, 100.0, 100.0, -1, -1, 0.0),
            (SHIFT_END, 7, 500.0, 500.0, -1, -1, 0.0),
            # a second shift of the same driver: no idle time between the shifts
            (SHIFT_START, 7, 900.0, 900.0, 5, 5, 0.0),
            (SHIFT_END, 7, 950.0, 950.0, 5, 5, 0.0),
        ],
    )
    tr = transitions_from_events(ev, city, weekday=0, end_s=86400.0)
    assert _rows(tr) == [(3, 0.0, 0.0, 3, 500.0, False), (5, 900.0, 0.0, 5, 950.0, False)]


def test_drivers_do_not_mix_and_order_of_rows_does_not_matter(city):
    rows = [
        (SHIFT_START, 1, 0.0, 0.0, 4, 4, 0.0),
        (SHIFT_START, 0, 0.0, 0.0, 0, 0, 0.0),
        (TRIP, 0, 100.0, 700.0, 0, 4, 5.0),
        (SHIFT_END, 1, 300.0, 300.0, 4, 4, 0.0),
        (SHIFT_END, 0, 700.0, 700.0, 4, 4, 0.0),
    ]
    a = transitions_from_events(_events(city, rows), city, 0, 86400.0)
    b = transitions_from_events(_events(city, rows[::-1]), city, 0, 86400.0)
    assert _rows(a) == _rows(b)
    assert _rows(a) == [
        (0, 0.0, 0.0, 0, 100.0, False),
        (0, 100.0, 5.0, 4, 700.0, False),
        (4, 0.0, 0.0, 4, 300.0, False),
    ]


def test_concat_and_bad_input(city):
    ev = _events(city, [(SHIFT_START, 0, 0.0, 0.0, 0, 0, 0.0), (SHIFT_END, 0, 60.0, 60.0, 0, 0, 0)])
    tr = transitions_from_events(ev, city, 0, 86400.0)
    both = concat([tr, Transitions.empty(), tr])
    assert len(both) == 2 * len(tr) == 2
    assert len(concat([])) == 0
    with pytest.raises(DataError, match="idle_step_s"):
        transitions_from_events(ev, city, 0, 86400.0, idle_step_s=0)
    del ev["reward"]
    with pytest.raises(DataError, match="reward"):
        transitions_from_events(ev, city, 0, 86400.0)
    with pytest.raises(DataError, match="shape"):
        Transitions(**{**{f: getattr(tr, f) for f in tr.__dataclass_fields__}, "reward": [1, 2]})


def test_simulated_day_gives_consistent_transitions(synthetic_run):
    log = synthetic_run.log
    cfg = synthetic_run.config
    sc = build_scenario(cfg.scenario, cfg.sim, cfg.seed)
    tr = transitions_from_events(log.events, sc.city, sc.weekday, log.meta["end_s"])
    assert len(tr) > 0
    assert (tr.t1_s >= tr.t0_s).all()
    # every completed fare appears once as a trip reward
    np.testing.assert_allclose(tr.reward.sum(), log.events["reward"].sum())
    assert ((tr.cell0 >= 0) & (tr.cell0 < sc.city.n_cells)).all()


def test_cells_of_another_city_are_refused(city):
    rows = [(SHIFT_START, d, 0.0, 0.0, d % 7, d % 7, 0.0) for d in range(20)]
    rows += [(SHIFT_END, d, 60.0, 60.0, d % 7, d % 7, 0.0) for d in range(20)]
    ev = _events(city, rows)
    assert len(transitions_from_events(ev, city, 0, 86400.0)) == 20
    # the same cell ids with the coordinates of other cells: ids of another city's numbering
    ev["start_cell"] = (ev["start_cell"] + 1) % 7
    with pytest.raises(DataError, match="disagree with their coordinates"):
        transitions_from_events(ev, city, 0, 86400.0)


@pytest.mark.parametrize("column", ["t_start_s", "t_end_s", "reward"])
def test_non_finite_times_and_rewards_are_refused(city, column):
    rows = [(SHIFT_START, 0, 0.0, 0.0, 0, 0, 0.0), (TRIP, 0, 10.0, 70.0, 0, 1, 5.0)]
    rows += [(SHIFT_END, 0, 90.0, 90.0, 1, 1, 0.0)]
    ev = _events(city, rows)
    ev[column][1] = np.nan
    with pytest.raises(DataError, match=f"1 event\\(s\\) with a non-finite {column}"):
        transitions_from_events(ev, city, 0, 86400.0)
