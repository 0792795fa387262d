"""Learning regression: V1D3 with the packaged, trained value function earns more than distance
matching on a Manhattan morning it never saw (same demand, same seed), without buying it with
much longer pickups. A change that breaks training, the value function or the advantage
weights shows up here."""

from __future__ import annotations

from v1d3.eval.run import RunConfig, run_simulation
from v1d3.sim.config import SimConfig
from v1d3.sim.scenario import ScenarioConfig

# three morning hours at the real volume; seed 7 is outside the training seeds 1000-1007
DAY = dict(
    scenario=ScenarioConfig(name="manhattan", start_hour=7, hours=3), sim=SimConfig(), seed=7
)


def test_v1d3_beats_distance_on_an_unseen_morning() -> None:
    distance = run_simulation(RunConfig(dispatch="distance", **DAY)).metrics  # type: ignore[arg-type]
    v1d3 = run_simulation(RunConfig(dispatch="v1d3", **DAY)).metrics  # type: ignore[arg-type]
    assert v1d3["total_income"] > distance["total_income"]
    assert v1d3["answer_rate"] > distance["answer_rate"]
    assert v1d3["pickup_km_mean"] <= 1.5 * distance["pickup_km_mean"]
