"""The simulator: invariants for every scenario × baseline, determinism, the contract."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from scenario_fixtures import small_synthetic
from v1d3.demand.config import ScenarioConfig
from v1d3.dispatch.base import DispatchPolicy
from v1d3.errors import ConfigError, PolicyError
from v1d3.eval.config import RunConfig
from v1d3.eval.run import run_simulation
from v1d3.policies import make_dispatch
from v1d3.reposition.base import RepositionBatch, RepositionPolicy
from v1d3.rounds import CandidateBatch, DayContext
from v1d3.sim.checker import check_run
from v1d3.sim.config import SimConfig
from v1d3.sim.log import EVENT_KINDS
from v1d3.sim.scenario import build_scenario

DISPATCH = ["fcfs", "nearest", "distance", "fare"]
REPOSITION = ["stay", "random", "demand"]

SCENARIOS = {
    "synthetic": small_synthetic(),
    "manhattan": ScenarioConfig(name="manhattan", orders=40_000, start_hour=8, hours=0.75),
    "nyc-tlc": ScenarioConfig(name="nyc-tlc", date="2021-03-10", start_hour=7, hours=3),
}
# managed drivers are offered to repositioning after 2 minutes so that short runs exercise it
SIM = SimConfig(reposition_after_s=120.0)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("dispatch", DISPATCH)
def test_checker_passes_for_every_scenario_and_baseline(scenario: str, dispatch: str) -> None:
    reposition = REPOSITION[DISPATCH.index(dispatch) % len(REPOSITION)]
    cfg = RunConfig(
        scenario=SCENARIOS[scenario], sim=SIM, dispatch=dispatch, reposition=reposition, seed=1
    )
    res = run_simulation(cfg, check=False)
    report = check_run(res.log)
    assert report.ok, report.violations
    m = res.metrics
    assert m["orders"] > 0 and 0 < m["answer_rate"] <= 1
    assert m["completed"] + m["cancelled"] == m["matched"]
    assert m["total_income"] == pytest.approx(
        res.log.orders["fare"][res.log.orders["status"] == 1].sum()
    )


@pytest.mark.parametrize("reposition", REPOSITION)
def test_repositioning_policies_move_drivers(reposition: str) -> None:
    cfg = RunConfig(scenario=small_synthetic(), sim=SIM, dispatch="distance", reposition=reposition)
    res = run_simulation(cfg)
    n_repo = int((res.log.events["kind"] == EVENT_KINDS.index("reposition")).sum())
    if reposition == "stay":
        assert n_repo == 0
    else:
        assert n_repo > 0


def _strip_timing(m: dict) -> dict:
    return {
        k: v for k, v in m.items() if k not in ("wall_s",) and not k.startswith("dispatch_round")
    }


def test_same_seed_same_numbers_other_seed_other_numbers() -> None:
    cfg = RunConfig(
        scenario=small_synthetic(), sim=SIM, dispatch="distance", reposition="random", seed=5
    )
    a = run_simulation(cfg)
    b = run_simulation(cfg)
    assert _strip_timing(a.metrics) == _strip_timing(b.metrics)
    for name in ("events", "orders", "drivers"):
        ta, tb = getattr(a.log, name), getattr(b.log, name)
        for col in ta:
            np.testing.assert_array_equal(ta[col], tb[col], err_msg=f"{name}.{col}")
    c = run_simulation(dataclasses.replace(cfg, seed=6))
    assert _strip_timing(c.metrics) != _strip_timing(a.metrics)


def test_common_random_numbers_across_policies() -> None:
    """Two policies on one seed see the same orders, shifts and cancellation draws."""
    sc = small_synthetic()
    a = run_simulation(RunConfig(scenario=sc, dispatch="nearest", seed=2))
    b = run_simulation(RunConfig(scenario=sc, dispatch="fare", seed=2))
    for col in ("t_request_s", "origin_lat", "dest_lng", "fare", "trip_s"):
        np.testing.assert_array_equal(a.log.orders[col], b.log.orders[col])
    for col in ("t_on_s", "t_off_s", "managed"):
        np.testing.assert_array_equal(a.log.drivers[col], b.log.drivers[col])


def test_no_global_random_state_is_used() -> None:
    np.random.seed(0)
    before = np.random.get_state()[1].copy()
    run_simulation(RunConfig(scenario=small_synthetic(hours=0.5), reposition="random"))
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_cancellations_follow_the_curve() -> None:
    never = dataclasses.replace(SIM, cancellations=False)
    res = run_simulation(RunConfig(scenario=small_synthetic(), sim=never))
    assert res.metrics["cancelled"] == 0
    always = dataclasses.replace(SIM, cancel_curve=(1.0,) * 10)
    res = run_simulation(RunConfig(scenario=small_synthetic(), sim=always))
    assert res.metrics["completed"] == 0 and res.metrics["cancelled"] > 0


def test_patience_bounds_the_wait_for_a_match() -> None:
    res = run_simulation(
        RunConfig(scenario=small_synthetic(), sim=dataclasses.replace(SIM, patience_s=10))
    )
    o = res.log.orders
    matched = ~np.isnan(o["t_assign_s"])
    assert np.all(o["t_assign_s"][matched] - o["t_request_s"][matched] <= 10 + 1e-9)


def test_pickup_radius_and_k_nearest_are_respected() -> None:
    sim = dataclasses.replace(SIM, pickup_radius_m=600.0, k_nearest=1)
    seen: list[CandidateBatch] = []

    class Spy(DispatchPolicy):
        def dispatch(self, batch: CandidateBatch) -> np.ndarray:
            seen.append(batch)
            return np.zeros(0, dtype=np.int64)

    run_simulation(RunConfig(scenario=small_synthetic(hours=0.5), sim=sim), dispatch=Spy())
    assert seen
    for b in seen:
        assert np.all(b.pickup_m <= 600.0)
        assert np.unique(b.order).size == b.order.size  # K = 1: one driver per order


def test_round_log_counts_the_orders_waiting_at_the_start_of_each_round() -> None:
    """With every driver a candidate of every order, each waiting order appears in the batch."""
    sim = dataclasses.replace(SIM, pickup_radius_m=100_000.0, k_nearest=0)
    seen: dict[float, tuple[int, int]] = {}
    inner = make_dispatch("distance")

    class Spy(DispatchPolicy):
        def reset(self, context: DayContext) -> None:
            inner.reset(context)

        def dispatch(self, batch: CandidateBatch) -> np.ndarray:
            sel = inner.dispatch(batch)
            seen[batch.t] = (np.unique(batch.order).size, np.unique(batch.driver).size)
            return sel

    res = run_simulation(RunConfig(scenario=small_synthetic(hours=0.5), sim=sim), dispatch=Spy())
    r = res.log.rounds
    assert len(seen) == r["t_s"].size > 0
    for t, n_orders, n_drivers in zip(r["t_s"], r["orders"], r["drivers"], strict=True):
        assert (n_orders, n_drivers) == seen[float(t)]
    assert r["matched"].sum() > 0


class _Twice(DispatchPolicy):
    def dispatch(self, batch: CandidateBatch) -> np.ndarray:
        return np.array([0, 0])


class _Outside(RepositionPolicy):
    def reposition(self, batch: RepositionBatch) -> np.ndarray:
        return np.full(len(batch), 10**6)


def test_contract_violations_raise_policy_errors() -> None:
    cfg = RunConfig(scenario=small_synthetic(hours=0.5), sim=SIM)
    with pytest.raises(PolicyError, match="twice"):
        run_simulation(cfg, dispatch=_Twice())
    with pytest.raises(PolicyError, match="outside the city"):
        run_simulation(cfg, reposition=_Outside())


def test_shifts_put_drivers_online_and_off() -> None:
    sc = build_scenario(small_synthetic(), SIM, 0)
    res = run_simulation(RunConfig(scenario=small_synthetic(), sim=SIM), scenario=sc)
    ev = res.log.events
    starts = ev["kind"] == EVENT_KINDS.index("shift_start")
    assert starts.sum() == np.sum(sc.fleet.t_off > sc.fleet.t_on)
    assert res.metrics["utilisation"] > 0.2


@pytest.mark.parametrize("hours", [24.0, 2.0])
def test_fleet_scale_multiplies_the_default_fleet(hours: float) -> None:
    def fleet(**kw: object) -> int:
        cfg = small_synthetic(orders=2_000, start_hour=0.0 if hours == 24 else 7.0, hours=hours)
        # shifts cut at midnight: one driver per shift drawn (carried shifts add drivers)
        sim = dataclasses.replace(SIM, overnight_shifts=False)
        return build_scenario(dataclasses.replace(cfg, **kw), sim, 0).fleet.t_on.size

    base = fleet()
    assert fleet(fleet_scale=1.5) == pytest.approx(1.5 * base, abs=1)
    assert fleet(fleet_scale=0.5) == pytest.approx(0.5 * base, abs=1)
    assert fleet(drivers=17, fleet_scale=3.0) == 17  # an explicit fleet size wins
    for bad in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ConfigError, match="fleet_scale"):
            small_synthetic(fleet_scale=bad)


def test_managed_share_limits_repositioning() -> None:
    sim = dataclasses.replace(SIM, managed_share=0.25)
    res = run_simulation(RunConfig(scenario=small_synthetic(), sim=sim, reposition="random"))
    ev = res.log.events
    moved = np.unique(ev["driver_id"][ev["kind"] == EVENT_KINDS.index("reposition")])
    assert moved.size > 0
    assert res.log.drivers["managed"][moved].all()
    assert res.log.drivers["managed"].mean() == pytest.approx(0.25, abs=0.02)
