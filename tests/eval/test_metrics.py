"""The figures of a run: by hand on small logs, against a simulated day, and the module's
import (numpy and the logs only: no policy, no torch)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from v1d3.demand.config import ScenarioConfig
from v1d3.eval.config import RunConfig
from v1d3.eval.metrics import (
    compute_metrics,
    driver_hourly_income,
    driver_table,
    idle_minutes,
    idle_spells,
    managed_hourly_income,
    orders_by_cell,
    pickup_sample,
    pooled_by_hour,
    reposition_headroom,
)
from v1d3.eval.run import run_simulation
from v1d3.sim.log import (
    CANCEL,
    EVENT_KINDS,
    IDLE_MOVE,
    ORDER_STATUS,
    SHIFT_END,
    SHIFT_START,
    TRIP,
    RunLog,
)


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
    empty = np.zeros(0)
    orders = {"status": np.zeros(0, dtype=np.int8), "t_request_s": empty, "pickup_s": empty,
              "trip_s": empty}  # fmt: skip
    return RunLog(events=events, orders=orders, drivers=drivers, rounds={})


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
    # no order lost: nothing to move a driver to
    assert h["headroom_demand"] == 0.0
    # two orders lost in hour 0, served trips 150 and 50 s long: 200 s of work against 700 s
    status = [ORDER_STATUS.index(k) for k in ("completed", "expired", "expired", "completed")]
    log.orders = {
        "status": np.array(status, dtype=np.int8),
        "t_request_s": np.array([10.0, 20.0, 3000.0, 4000.0]),
        "pickup_s": np.array([50.0, 0.0, 0.0, 30.0]),
        "trip_s": np.array([100.0, 0.0, 0.0, 20.0]),
    }
    demand = reposition_headroom(log, after_s=300.0)["headroom_demand"]
    assert demand == pytest.approx(2 * 100.0 / (3600.0 - 1700.0))
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
    assert h == {"online_h": 0.0, "idle_share": 0.0, "actionable_share": 0.0, "headroom": 0.0,
                 "headroom_demand": 0.0}  # fmt: skip


def test_driver_table_sums_trips_per_driver() -> None:
    d = driver_table(_log(ROWS, [True, False, True]))
    assert d["online_s"].tolist() == [2600.0, 5000.0, 1000.0]
    assert d["busy_s"].tolist() == [1300.0, 1000.0, 600.0]
    assert d["income"].tolist() == [22.0, 9.0, 8.0]


def test_driver_hourly_income_skips_drivers_never_online() -> None:
    log = _log(ROWS + [(TRIP, 3, 0.0, 0.0, 5.0)], [True, False, True, False])
    assert driver_hourly_income(log).tolist() == pytest.approx(
        [22.0 / (2600 / 3600), 9.0 / (5000 / 3600), 8.0 / (1000 / 3600)]
    )


def _day(rows: list[tuple[int, int, float, float, float]], managed: list[bool]) -> RunLog:
    """:func:`_log` with the (empty) order and round tables that :func:`compute_metrics` reads."""
    log = _log(rows, managed)
    empty = np.zeros(0)
    log.orders = {"status": np.zeros(0, dtype=np.int8), "t_request_s": empty,
                  "t_assign_s": empty, "pickup_s": empty, "pickup_m": empty}  # fmt: skip
    log.rounds = {"ms": empty}
    return log


def _shift(driver: int, on_h: float, off_h: float, fares: list[float]) -> list[tuple]:
    trips = [(TRIP, driver, on_h * 3600 + 60 * i, on_h * 3600 + 60 * i + 30, f)
             for i, f in enumerate(fares)]  # fmt: skip
    return [(SHIFT_START, driver, on_h * 3600, on_h * 3600, 0.0), *trips,
            (SHIFT_END, driver, off_h * 3600, off_h * 3600, 0.0)]  # fmt: skip


def test_kdd_score_of_a_day_averages_each_managed_driver_s_own_rate() -> None:
    # two days (scripts/coordination_study.py averages their scores: tests/test_scripts.py)
    # day 1: managed drivers earn $60 in 2 h (30/h) and $50 in 1 h (50/h); an unmanaged $100 in
    # 1 h. Day 2 (a new fleet): managed $80 in 4 h (20/h), a managed driver never online, and
    # an unmanaged one
    day1 = _day(_shift(0, 8, 10, [20, 40]) + _shift(1, 9, 10, [50]) + _shift(2, 8, 9, [100]),
                [True, True, False])  # fmt: skip
    day2 = _day(_shift(0, 1, 5, [30, 50]) + _shift(2, 3, 4, [10]) + [(TRIP, 1, 0.0, 0.0, 0.0)],
                [True, True, False])  # fmt: skip
    m1, m2 = compute_metrics(day1), compute_metrics(day2)
    assert managed_hourly_income(day1).tolist() == pytest.approx([30.0, 50.0])
    assert m1["income_per_online_hour_managed_kdd"] == pytest.approx(40.0)
    assert m1["income_per_online_hour_managed"] == pytest.approx(110.0 / 3.0)  # pooled hours
    assert m1["managed_drivers"] == 2
    assert managed_hourly_income(day2).tolist() == pytest.approx([20.0])  # online drivers only
    assert m2["income_per_online_hour_managed_kdd"] == pytest.approx(20.0)
    assert m2["managed_drivers"] == 2
    # no managed driver online: 0, as the pooled figure
    none = compute_metrics(_day(_shift(0, 1, 2, [5]), [False]))
    assert none["income_per_online_hour_managed_kdd"] == 0.0 == none["managed_drivers"]


def _orders(status: list[str], t_request_s: list[float], cells: list[int]) -> RunLog:
    orders = {
        "status": np.array([ORDER_STATUS.index(s) for s in status], dtype=np.int8),
        "t_request_s": np.array(t_request_s),
        "origin_cell": np.array(cells, dtype=np.int32),
        "pickup_m": np.arange(1.0, len(status) + 1) * 1000.0,
    }
    return RunLog(events={}, orders=orders, drivers={}, rounds={})


def test_orders_by_cell_counts_orders_and_expired_ones() -> None:
    log = _orders(
        ["completed", "expired", "cancelled", "expired", "open"],
        [3600.0 * 8 + 5, 3600.0 * 8 + 10, 3600.0 * 9, 3600.0 * 25, 0.0],
        [1, 1, 0, 2, 0],
    )
    orders, unserved = orders_by_cell(log, 3)
    assert orders.shape == unserved.shape == (24, 3)
    assert orders[8].tolist() == [0, 2, 0] and orders[9].tolist() == [1, 0, 0]
    assert orders[0].tolist() == [1, 0, 0] and orders[23].tolist() == [0, 0, 1]  # after midnight
    assert unserved.sum() == 2 and unserved[8, 1] == 1 and unserved[23, 2] == 1


def test_pickup_sample_keeps_all_or_an_ordered_seeded_sample() -> None:
    log = _orders(["completed", "expired", "completed", "completed"], [0.0] * 4, [0] * 4)
    rng = np.random.default_rng(0)
    assert pickup_sample(log, 5, rng).tolist() == [1.0, 3.0, 4.0]
    assert pickup_sample(log, 5, rng).dtype == np.float32
    two = pickup_sample(log, 2, np.random.default_rng(7))
    assert two.size == 2 and set(two.tolist()) <= {1.0, 3.0, 4.0} and two[0] < two[1]
    np.testing.assert_array_equal(two, pickup_sample(log, 2, np.random.default_rng(7)))


def test_pooled_by_hour_pools_orders_and_averages_income() -> None:
    zeros = np.zeros(24)

    def hourly(
        orders: float, matched: float, completed: float, wait: float, income: float
    ) -> dict[str, np.ndarray]:
        return {
            "orders": np.where(np.arange(24) == 8, orders, zeros),
            "matched": np.where(np.arange(24) == 8, matched, zeros),
            "completed": np.where(np.arange(24) == 8, completed, zeros),
            "wait_mean_s": np.where(np.arange(24) == 8, wait, zeros),
            "income": np.where(np.arange(24) == 8, income, zeros),
        }

    p = pooled_by_hour([hourly(10, 5, 4, 100.0, 30.0), hourly(30, 25, 1, 50.0, 10.0)])
    assert p["answer_rate"][8] == pytest.approx(30 / 40)
    assert p["wait_mean_s"][8] == pytest.approx((4 * 100.0 + 50.0) / 5)
    assert p["income"][8] == pytest.approx(20.0)
    for k in ("answer_rate", "income", "wait_mean_s"):
        assert np.isnan(np.delete(p[k], 8)).all()


def test_idle_minutes_account_for_all_online_time() -> None:
    scenario = ScenarioConfig(name="synthetic", orders=3000, hours=2.0, start_hour=8.0)
    cfg = RunConfig(scenario=scenario, dispatch="distance", reposition="demand")
    result = run_simulation(cfg)
    log = result.log
    n_cells = int(log.meta["n_cells"])
    idle = idle_minutes(log, n_cells)
    assert idle.shape == (24, n_cells)
    assert idle[:8].sum() == 0 and idle[10:].sum() == 0 and idle[8].sum() > 0
    assert idle[9].sum() > 0  # waits are split across the hour boundary
    ev = log.events
    kind = ev["kind"]
    dur = ev["t_end_s"] - ev["t_start_s"]
    on = kind == EVENT_KINDS.index("shift_start")
    off = kind == EVENT_KINDS.index("shift_end")
    online = ev["t_start_s"][off].sum() - ev["t_start_s"][on].sum()
    busy = dur[kind == EVENT_KINDS.index("trip")].sum()
    cruise = dur[kind == EVENT_KINDS.index("reposition")].sum()
    assert cruise > 0
    assert idle.sum() * 60 == pytest.approx(online - busy - cruise, rel=1e-9)


def test_importing_metrics_loads_no_policy_and_no_torch() -> None:
    heavy = ("torch", "v1d3.policies", "v1d3.dispatch", "v1d3.reposition", "v1d3.value",
             "v1d3.kddcup", "v1d3.eval.evaluate", "v1d3.eval.run")  # fmt: skip
    code = (
        "import sys, v1d3.eval.metrics\n"
        f"heavy = {heavy!r}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch' or "
        "any(m == h or m.startswith(h + '.') for h in heavy)))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert run.stdout.strip() == "[]"
