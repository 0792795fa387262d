"""Idle spells and the repositioning headroom, on a hand-written event log."""

from __future__ import annotations

import numpy as np
import pytest

from v1d3.eval.metrics import driver_table, idle_spells, reposition_headroom
from v1d3.sim.log import CANCEL, IDLE_MOVE, SHIFT_END, SHIFT_START, TRIP, RunLog


def _log(rows: list[tuple[int, int, float, float, float]], managed: list[bool]) -> RunLog:
    """Events as (kind, driver, start s, end s, reward), in any order."""
    kind, drv, t0, t1, reward = (np.array(c) for c in zip(*rows, strict=True))
    events = {
        "kind": kind.astype(np.int8),
        "driver_id": drv.astype(np.int32),
        "t_start_s": t0.astype(np.float64),
        "t_end_s": t1.astype(np.float64),
        "reward": reward.astype(np.float64),
    }
    drivers = {"driver_id": np.arange(len(managed)), "managed": np.array(managed)}
    return RunLog(events=events, orders={}, drivers=drivers, rounds={})


# driver 0 (managed): waits 100 s, a trip, 600 s with a cancelled assignment and a drift inside,
# a trip, 600 s until the shift ends. Driver 1 (not managed): a trip from its first second.
# Driver 2 (managed): its shift ends at the drop-off of its only trip.
ROWS = [
    (TRIP, 0, 1300.0, 2000.0, 12.0),
    (SHIFT_END, 0, 2600.0, 2600.0, 0.0),
    (SHIFT_START, 0, 0.0, 0.0, 0.0),
    (TRIP, 0, 100.0, 700.0, 10.0),
    (CANCEL, 0, 800.0, 800.0, 0.0),
    (IDLE_MOVE, 0, 900.0, 900.0, 0.0),
    (SHIFT_START, 1, 0.0, 0.0, 0.0),
    (TRIP, 1, 0.0, 1000.0, 9.0),
    (SHIFT_END, 1, 5000.0, 5000.0, 0.0),
    (SHIFT_START, 2, 500.0, 500.0, 0.0),
    (TRIP, 2, 900.0, 1500.0, 8.0),
    (SHIFT_END, 2, 1500.0, 1500.0, 0.0),
]


def test_idle_spells_run_from_drop_off_to_the_next_assignment() -> None:
    sp = idle_spells(_log(ROWS, [True, False, True]))
    got = sorted(
        zip(sp["driver_id"].tolist(), sp["start_s"].tolist(), sp["end_s"].tolist(), strict=True)
    )
    assert got == [
        (0, 0.0, 100.0),
        (0, 700.0, 1300.0),  # the cancellation and the drift do not end the spell
        (0, 2000.0, 2600.0),
        (1, 0.0, 0.0),
        (1, 1000.0, 5000.0),
        (2, 500.0, 900.0),
        (2, 1500.0, 1500.0),
    ]


def test_reposition_headroom_by_hand() -> None:
    log = _log(ROWS, [True, False, True])
    # managed: driver 0 online 2600 s, idle 100 + 600 + 600; driver 2 online 1000 s, idle 400
    # beyond 300 s per spell: 0 + 300 + 300 (driver 0) + 100 (driver 2) = 700 s
    h = reposition_headroom(log, after_s=300.0)
    assert h["online_h"] == pytest.approx(3600.0 / 3600.0)
    assert h["idle_share"] == pytest.approx(1700.0 / 3600.0)
    assert h["actionable_share"] == pytest.approx(700.0 / 3600.0)
    assert h["headroom"] == pytest.approx(700.0 / (3600.0 - 1700.0))
    assert h["actionable_h_by_hour"].tolist() == [700.0 / 3600.0] + [0.0] * 23
    assert reposition_headroom(log, after_s=0.0)["actionable_share"] == pytest.approx(
        1700.0 / 3600.0
    )
    assert reposition_headroom(log, after_s=10_000.0)["headroom"] == 0.0
    with pytest.raises(ValueError, match="after_s"):
        reposition_headroom(log, after_s=-1.0)


def test_reposition_headroom_splits_spells_between_hours() -> None:
    # idle 3000-4000 s: beyond 300 s, 300 s fall in hour 0 and 400 s in hour 1; a spell from
    # 23:55 to 00:15 of the next day counts its last 15 minutes with hour 0
    rows = [
        (SHIFT_START, 0, 3000.0, 3000.0, 0.0),
        (TRIP, 0, 4000.0, 4100.0, 5.0),
        (SHIFT_END, 0, 4100.0, 4100.0, 0.0),
        (SHIFT_START, 1, 86100.0, 86100.0, 0.0),
        (SHIFT_END, 1, 87300.0, 87300.0, 0.0),
    ]
    by_hour = reposition_headroom(_log(rows, [True, True]), after_s=300.0)["actionable_h_by_hour"]
    assert by_hour * 3600.0 == pytest.approx([300.0 + 900.0, 400.0] + [0.0] * 21 + [0.0])


def test_reposition_headroom_without_managed_drivers_is_zero() -> None:
    h = reposition_headroom(_log(ROWS, [False, False, False]), after_s=300.0)
    assert h.pop("actionable_h_by_hour").tolist() == [0.0] * 24
    assert h == {"online_h": 0.0, "idle_share": 0.0, "actionable_share": 0.0, "headroom": 0.0}


def test_driver_table_sums_trips_per_driver() -> None:
    d = driver_table(_log(ROWS, [True, False, True]))
    assert d["online_s"].tolist() == [2600.0, 5000.0, 1000.0]
    assert d["busy_s"].tolist() == [1300.0, 1000.0, 600.0]
    assert d["income"].tolist() == [22.0, 9.0, 8.0]
