"""The pair scorer: numpy and torch agree, model files round-trip and the wrong ones are refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from scenario_fixtures import small_synthetic
from v1d3.errors import ModelError
from v1d3.ospo.config import ScorerConfig
from v1d3.ospo.features import FEATURES
from v1d3.ospo.net import NumpyScorer, PairScorer, check_city, load_scorer, save_scorer
from v1d3.sim.config import SimConfig
from v1d3.sim.scenario import build_scenario
from v1d3.value.checkpoint import city_digest, load_checkpoint, save_checkpoint


def _net(seed: int = 0, layers: tuple[int, ...] = (8, 4)) -> PairScorer:
    torch.manual_seed(seed)
    net = PairScorer(ScorerConfig(layers=layers, leak=0.1))
    torch.nn.init.normal_(net.mlp[-1].weight)
    x = np.random.default_rng(seed).normal(3.0, 2.0, size=(50, len(FEATURES)))
    net.set_scale(x.astype(np.float32))
    return net


def test_a_new_scorer_gives_every_pair_the_same_score() -> None:
    net = PairScorer(ScorerConfig())
    x = torch.randn(7, len(FEATURES))
    assert torch.equal(net(x), torch.zeros(7))


def test_numpy_forward_matches_torch() -> None:
    net = _net()
    x = np.random.default_rng(1).normal(3.0, 2.0, size=(33, len(FEATURES))).astype(np.float32)
    want = net(torch.as_tensor(x)).detach().numpy()
    got = NumpyScorer(net.numpy_state(), net.cfg)(np.ascontiguousarray(x.T))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def _meta(city_digest_: str = "abc", **kw: object) -> dict[str, object]:
    return {"method": "ospo", "scenario": "synthetic", "city": city_digest_, "days": []} | kw


def test_model_file_round_trips(tmp_path: Path) -> None:
    net = _net(layers=(5, 6, 7))
    path = save_scorer(net, tmp_path / "ospo.pt", _meta())
    back, meta = load_scorer(path, "ospo", scenario="synthetic")
    assert back.cfg == net.cfg
    assert meta["features"] == list(FEATURES)
    for k, v in net.state_dict().items():
        assert torch.equal(back.state_dict()[k], v), k


def test_a_model_of_another_method_or_scenario_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = save_scorer(_net(), tmp_path / "ospo.pt", _meta())
    with pytest.raises(ModelError, match=r"ospo\.pt.*'ospo' model, expected 'grpo'"):
        load_scorer(path, "grpo")
    with pytest.raises(ModelError, match=r"ospo\.pt: trained on scenario 'synthetic'"):
        load_scorer(path, "ospo", scenario="manhattan")


def test_a_model_of_another_feature_set_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ospo.pt"
    save_scorer(_net(), path, _meta())
    state, meta = load_checkpoint(path)
    meta["features"] = [*FEATURES[:-1], "dest_forecast_log"]
    save_checkpoint(path, state, meta)
    want = (
        r"ospo\.pt: made for another feature list \(24 features; feature 23 is "
        r"'dest_forecast_log', this version computes 'dest_orders_log'\); retrain"
    )
    with pytest.raises(ModelError, match=want):
        load_scorer(path, "ospo")


def test_weights_of_the_wrong_shape_are_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "ospo.pt"
    save_scorer(_net(), path, _meta())
    state, meta = load_checkpoint(path)
    meta["scorer"] = {"layers": [16, 4]}
    save_checkpoint(path, state, meta)
    with pytest.raises(ModelError, match=r"ospo\.pt: not a usable ospo model") as e:
        load_scorer(path, "ospo")
    assert "\n" not in str(e.value)


def test_a_model_of_another_city_is_refused_naming_the_file() -> None:
    city = build_scenario(small_synthetic(), SimConfig(), 1).city
    check_city("m/ospo.pt", {"city": city_digest(city)}, city)
    with pytest.raises(ModelError, match=r"m/ospo\.pt: trained on another city's cells"):
        check_city("m/ospo.pt", {"city": "0123456789abcdef"}, city)


def test_a_feature_constant_while_learning_gets_no_weight() -> None:
    net = PairScorer(ScorerConfig(layers=(8,)))
    x = np.random.default_rng(2).normal(size=(40, len(FEATURES))).astype(np.float32)
    weekend = FEATURES.index("weekend")
    x[:, weekend] = 0.0  # every day learned from a weekday
    net.set_scale(x)
    assert torch.all(net.mlp[0].weight[:, weekend] == 0)
    saturday = x.copy()
    saturday[:, weekend] = 1.0
    assert torch.equal(net(torch.as_tensor(x)), net(torch.as_tensor(saturday)))


@pytest.mark.parametrize("scorer", [{"layers": [0]}, {"layers": [8, 4], "leak": 2.0}, {}])
def test_a_bad_scorer_config_in_a_model_file_is_refused_naming_it(
    tmp_path: Path, scorer: dict[str, object]
) -> None:
    path = tmp_path / "ospo.pt"
    save_scorer(_net(), path, _meta())
    state, meta = load_checkpoint(path)
    meta["scorer"] = scorer
    save_checkpoint(path, state, meta)
    with pytest.raises(ModelError, match=r"ospo\.pt: not a usable ospo model"):
        load_scorer(path, "ospo")
