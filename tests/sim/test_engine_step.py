"""The simulator's step API: an external caller matching each round gets ``run()``'s day."""

from __future__ import annotations

import numpy as np
import pytest

from scenario_fixtures import small_synthetic
from v1d3.dispatch.base import DispatchPolicy
from v1d3.dispatch.baselines import DistanceMatching
from v1d3.errors import PolicyError
from v1d3.eval.metrics import compute_metrics
from v1d3.reposition.baselines import RandomNeighbour
from v1d3.rounds import CandidateBatch, DayContext, RoundOutcome
from v1d3.sim.config import SimConfig
from v1d3.sim.engine import Simulator
from v1d3.sim.log import RunLog
from v1d3.sim.scenario import Scenario, build_scenario

SIM = SimConfig(reposition_after_s=120.0)
_NONE = np.zeros(0, dtype=np.int64)


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return build_scenario(small_synthetic(hours=0.5), SIM, 3)


def _tables(log: RunLog) -> dict[str, np.ndarray]:
    return {f"{t}.{k}": v for t in ("events", "orders") for k, v in getattr(log, t).items()}


def test_external_matching_gives_the_same_day_as_run(scenario: Scenario) -> None:
    native = Simulator(scenario, 3).run(DistanceMatching(), RandomNeighbour())
    matcher = DistanceMatching()
    matcher.reset(
        DayContext(scenario.city, 0, scenario.start_s, scenario.end_s, SIM, np.random.default_rng())
    )
    sim = Simulator(scenario, 3)
    sim.reset(None, RandomNeighbour())
    income, batches, outcomes = 0.0, 0, 0
    while not sim.done:
        batch = sim.begin_round()
        assert batch is None or batch.t == sim.t
        outcome = sim.end_round(_NONE if batch is None else matcher.dispatch(batch))
        batches += batch is not None
        if outcome is not None:
            outcomes += 1
            assert outcome.batch is batch
            income += float(outcome.batch.fare[outcome.selected][~outcome.cancelled].sum())
    log = sim.finish()
    assert batches > 0 and outcomes == batches
    a, b = _tables(native), _tables(log)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert round(income, 2) == compute_metrics(log)["total_income"]
    sim.reset(DistanceMatching(), RandomNeighbour())  # the same simulator, the same day again
    while sim.step():
        pass
    again = _tables(sim.finish())
    for k in a:
        np.testing.assert_array_equal(a[k], again[k], err_msg=k)


class _Learner(DistanceMatching):
    def __init__(self) -> None:
        self.seen: list[RoundOutcome] = []

    def observe(self, outcome: RoundOutcome) -> None:
        self.seen.append(outcome)


def test_step_observes_learners_and_returns_their_outcomes(scenario: Scenario) -> None:
    policy = _Learner()
    sim = Simulator(scenario, 3)
    sim.reset(policy, RandomNeighbour())
    while sim.step():
        pass
    log = sim.finish()
    assert len(policy.seen) == int((log.rounds["pairs"] > 0).sum()) > 0
    dt = np.array([o.dt_s for o in policy.seen])
    assert (dt >= SIM.round_s - 1e-9).all()


class _Quiet(DispatchPolicy):
    def dispatch(self, batch: CandidateBatch) -> np.ndarray:
        return _NONE


def test_misuse_of_the_step_api_is_refused(scenario: Scenario) -> None:
    sim = Simulator(scenario, 1)
    assert sim.done
    with pytest.raises(RuntimeError, match="before the day's last round"):
        sim.finish()
    sim.reset(None, RandomNeighbour())
    with pytest.raises(RuntimeError, match="needs a dispatch policy"):
        sim.step()
    with pytest.raises(RuntimeError, match="without begin_round"):
        sim.end_round()
    sim.begin_round()
    with pytest.raises(RuntimeError, match="twice"):
        sim.begin_round()
    sim.end_round()
    with pytest.raises(RuntimeError, match="before the day's last round"):
        sim.finish()
    while sim.begin_round() is None:
        sim.end_round()
    with pytest.raises(PolicyError, match="outside the candidate batch"):
        sim.end_round([10**9])
    sim.reset(_Quiet(), RandomNeighbour())  # a reset starts the day afresh
    while sim.step():
        pass
    assert sim.finish().orders["status"].max() > 0  # orders expired unmatched
    with pytest.raises(RuntimeError, match="after the day ended"):
        sim.begin_round()
    with pytest.raises(RuntimeError, match="before the day's last round"):
        sim.finish()  # once per reset
