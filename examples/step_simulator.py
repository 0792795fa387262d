"""Drive the simulator round by round: the caller makes each round's matching itself.

python examples/step_simulator.py

This is how a live service, a trainer or an environment uses the simulator; the log and the
metrics are those that ``run_simulation`` would give with the same policy.
"""

from custom_policy import FarePerMinute

from v1d3.demand.config import ScenarioConfig
from v1d3.eval.config import RunConfig
from v1d3.eval.metrics import compute_metrics
from v1d3.eval.run import run_simulation
from v1d3.reposition.baselines import Stay
from v1d3.sim.checker import check_run
from v1d3.sim.engine import Simulator
from v1d3.sim.scenario import build_scenario

if __name__ == "__main__":
    cfg = RunConfig(scenario=ScenarioConfig(name="synthetic", start_hour=7, hours=2), seed=1)
    scenario = build_scenario(cfg.scenario, cfg.sim, cfg.seed)
    policy = FarePerMinute()
    sim = Simulator(scenario, cfg.seed)
    sim.reset(None, Stay())  # no dispatch policy: the caller matches every round
    matched = cancelled = 0
    while not sim.done:
        batch = sim.begin_round()  # this round's candidate pairs; None when there are none
        if batch is None:
            sim.end_round()
            continue
        outcome = sim.end_round(policy.dispatch(batch))  # what a learner would observe
        if outcome is not None:
            matched += len(outcome.selected)
            cancelled += int(outcome.cancelled.sum())
    log = sim.finish()
    check_run(log).raise_if_failed()
    stepped = compute_metrics(log)["total_income"]
    whole = run_simulation(cfg, dispatch=FarePerMinute()).metrics["total_income"]
    print(
        {
            "matched": matched,
            "cancelled": cancelled,
            "total_income": stepped,
            "same": stepped == whole,
        }
    )
