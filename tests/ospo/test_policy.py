"""The ospo/grpo dispatch policy: a valid, reproducible matching, and its model file's checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from scenario_fixtures import small_synthetic
from v1d3.demand.config import ScenarioConfig
from v1d3.errors import ModelError
from v1d3.eval.config import RunConfig
from v1d3.eval.run import run_simulation
from v1d3.ospo.config import ScorerConfig
from v1d3.ospo.features import FEATURES
from v1d3.ospo.net import PairScorer, save_scorer
from v1d3.ospo.policy import ScorerDispatch, segment_softmax
from v1d3.policies import make_dispatch
from v1d3.policies.models import PACKAGED_MODELS
from v1d3.sim.config import SimConfig
from v1d3.sim.scenario import build_scenario
from v1d3.value.checkpoint import city_digest


def test_segment_softmax_holds_staying_free_per_driver() -> None:
    # the torch version's numbers (tests/ospo/test_loss.py): 1/5, 3/5; 4/5; e/(1+e), 1/(1+e)
    score = np.array([0.0, np.log(3.0), np.log(4.0), 1001.0, 1000.0])
    p = segment_softmax(score, np.array([0, 0, 1, 2, 2]), 3)
    np.testing.assert_allclose(p, [0.2, 0.6, 0.8, np.e / (1 + np.e), 1 / (1 + np.e)])


def _model(folder: Path, method: str = "ospo", digest: str | None = None) -> Path:
    torch.manual_seed(0)
    net = PairScorer(ScorerConfig(layers=(8,)))
    torch.nn.init.normal_(net.mlp[-1].weight)
    cfg = small_synthetic()
    city = build_scenario(cfg, SimConfig(), 1).city
    meta = {"method": method, "scenario": cfg.name, "city": digest or city_digest(city), "days": []}
    return save_scorer(net, folder / f"{method}.pt", meta)


def test_a_model_file_dispatches_a_checked_reproducible_day(tmp_path: Path) -> None:
    _model(tmp_path)
    cfg = RunConfig(scenario=small_synthetic(), sim=SimConfig(), seed=4, dispatch="ospo",
                    models=str(tmp_path))  # fmt: skip
    a = run_simulation(cfg)  # the run's checker verifies the matching is one-to-one
    b = run_simulation(cfg)
    assert a.metrics["completed"] > 0
    assert a.metrics["total_income"] == b.metrics["total_income"]
    assert a.policies["dispatch"]["model"]["method"] == "ospo"


def test_exploration_changes_the_matching_and_records_the_rounds() -> None:
    torch.manual_seed(0)
    net = PairScorer(ScorerConfig(layers=(8,)))
    torch.nn.init.normal_(net.mlp[-1].weight, std=1e-4)  # unscaled features: keep scores ~1
    scn = build_scenario(small_synthetic(), SimConfig(), 2)
    from v1d3.reposition.baselines import Stay
    from v1d3.sim.engine import Simulator

    trips = []
    for explore, record in ((0.0, 0), (1.0, 20)):
        pol = ScorerDispatch(net.numpy_state(), net.cfg, explore=explore, record_groups=record)
        log = Simulator(scn, 2).run(pol, Stay())
        ev = log.events
        trip = ev["kind"] == 0
        trips.append(set(zip(ev["driver_id"][trip], ev["order_id"][trip], strict=True)))
        if record:
            rec = pol.records
            assert 20 < len(rec.x) <= 3600
            assert all(x.shape[1] == len(FEATURES) for x in rec.x)
            assert all(len(c) == len(d) for c, d in zip(rec.chosen, rec.driver, strict=True))
        else:
            assert len(pol.records.x) == 0
    assert trips[0] != trips[1]  # other drivers serve other orders


def test_a_missing_or_foreign_model_is_one_line_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"grpo: model file .*grpo\.pt not found; train it with"):
        make_dispatch("grpo", tmp_path, small_synthetic())
    _model(tmp_path, "ospo", digest="0123456789abcdef")
    cfg = RunConfig(scenario=small_synthetic(), sim=SimConfig(), seed=4, dispatch="ospo",
                    models=str(tmp_path))  # fmt: skip
    with pytest.raises(ModelError, match=r"ospo\.pt: trained on another city's cells"):
        run_simulation(cfg)


@pytest.mark.parametrize("method", ["ospo", "grpo"])
def test_the_packaged_scorers_load_for_manhattan(method: str) -> None:
    # a packaged model made with another feature list or config would be refused here, not
    # in a user's run; its rollouts are what docs say (48 six-hour ones from seed 5000)
    if not (PACKAGED_MODELS / f"{method}.pt").is_file():
        pytest.skip(f"no packaged {method}.pt")
    policy = make_dispatch(method, None, ScenarioConfig(name="manhattan"))
    about = policy.model  # type: ignore[attr-defined]
    assert about["method"] == method and about["scenario"] == "manhattan"
    assert about["days"] == 48 and about["train"]["rollout_hours"] == 6.0
