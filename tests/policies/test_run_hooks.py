"""What a policy adds to a finished run (``run_metrics``, ``run_meta``): the generic hook that
carries a KDD agent's faults, open to any policy."""

from __future__ import annotations

from typing import Any

from v1d3.demand.config import ScenarioConfig
from v1d3.dispatch.baselines import NearestDriver
from v1d3.eval.config import RunConfig
from v1d3.eval.run import run_simulation
from v1d3.reposition.baselines import Stay

SC = ScenarioConfig(name="synthetic", orders=1500, start_hour=7.0, hours=0.5)


class CountingNearest(NearestDriver):
    def __init__(self) -> None:
        self.rounds = 0

    def dispatch(self, batch: Any) -> Any:
        self.rounds += 1
        return super().dispatch(batch)

    def run_metrics(self) -> dict[str, Any]:
        return {"rounds_asked": self.rounds, "completed": -1, "shared": "dispatch"}

    def run_meta(self) -> dict[str, Any]:
        return {"note": "from dispatch"}


class NoisyStay(Stay):
    def run_metrics(self) -> dict[str, Any]:
        return {"shared": "reposition", "stayed": True}

    def run_meta(self) -> dict[str, Any]:
        return {"note": "from reposition", "more": 1}


def test_policies_add_entries_to_the_finished_run() -> None:
    d, r = CountingNearest(), NoisyStay()
    result = run_simulation(RunConfig(scenario=SC, seed=1), dispatch=d, reposition=r)
    m = result.metrics
    assert m["rounds_asked"] == d.rounds > 0
    assert m["completed"] > 0  # a computed metric is never replaced
    assert m["shared"] == "dispatch" and m["stayed"] is True  # the dispatch policy's come first
    assert result.log.meta["note"] == "from dispatch" and result.log.meta["more"] == 1


def test_plain_policies_add_nothing() -> None:
    plain = run_simulation(RunConfig(scenario=SC, seed=1, dispatch="nearest"))
    hooked = run_simulation(
        RunConfig(scenario=SC, seed=1), dispatch=CountingNearest(), reposition=NoisyStay()
    )
    added = set(hooked.metrics) - set(plain.metrics)
    assert added == {"rounds_asked", "shared", "stayed"}
    assert NearestDriver().run_metrics() == {} == Stay().run_meta()
