"""Offline CVNet training: a two-cell chain whose true values are known, configs, early stopping."""

from __future__ import annotations

import h3
import numpy as np
import pytest
import torch

from v1d3.errors import ConfigError, DataError
from v1d3.geo.city import h3_city
from v1d3.learn.config import OfflineTrainConfig
from v1d3.learn.train_neural import td_error, train_cvnet, value_scale
from v1d3.learn.transitions import Transitions
from v1d3.value.cvnet import CVNetConfig, CVNetValue

GAMMA = 0.9
# A → B earns 1 over one 10-minute unit, B → A earns nothing over one unit, all day long:
# V_A = 1 + γ V_B, V_B = γ V_A  →  V_A = 1 / (1 − γ²), V_B = γ / (1 − γ²)
V_A = 1.0 / (1.0 - GAMMA**2)
V_B = GAMMA * V_A


@pytest.fixture(scope="module")
def chain_city():
    a = h3.latlng_to_cell(45.0, 7.0, 8)
    b = sorted(h3.grid_ring(a, 1))[0]
    return h3_city("chain", [a, b]), a, b


def _chain(city, a: str, b: str, n: int, seed: int) -> Transitions:
    rng = np.random.default_rng(seed)
    ia, ib = city.index_of_labels([a, b])
    t0 = rng.uniform(0.0, 86_400.0 - 600.0, n)
    from_a = rng.random(n) < 0.5
    z = np.zeros(n)
    return Transitions(
        cell0=np.where(from_a, ia, ib),
        lat0=z,
        lng0=z,
        t0_s=t0,
        reward=np.where(from_a, 1.0, 0.0),
        cell1=np.where(from_a, ib, ia),
        lat1=z,
        lng1=z,
        t1_s=t0 + 600.0,
        weekday=np.full(n, 2),
        terminal=np.zeros(n, dtype=bool),
    )


@pytest.mark.parametrize("loss", ["mse", "hl-gauss"])
def test_two_cell_chain_learns_the_true_values(chain_city, loss):
    city, a, b = chain_city
    torch.set_num_threads(1)
    train = _chain(city, a, b, 10_000, 0)
    held = _chain(city, a, b, 1_000, 1)
    cfg = OfflineTrainConfig(
        epochs=30,
        batch_size=500,
        lr=3e-3,
        target_sync_steps=10,
        lipschitz_weight=1e-5,
        patience=0,
        device="cpu",
    )
    net, history = train_cvnet(train, held, city, cfg, CVNetConfig(gamma=GAMMA, loss=loss))
    assert len(history) == 30
    assert {"epoch", "train_loss", "held_out_td_error", "lipschitz"} <= set(history[0])
    assert history[-1]["held_out_td_error"] < history[0]["held_out_td_error"]
    value = CVNetValue(net)
    value.bind(city, 2)
    ia, ib = city.index_of_labels([a, b])
    t = np.linspace(3_600.0, 79_200.0, 12)
    va = value.value(np.full(12, ia), 0, 0, t)
    vb = value.value(np.full(12, ib), 0, 0, t)
    assert np.allclose(va, V_A, rtol=0.03), va
    assert np.allclose(vb, V_B, rtol=0.03), vb
    assert td_error(net, held, city) < 0.01


def test_value_scale_is_the_mean_rate_over_one_minus_gamma(chain_city):
    city, a, b = chain_city
    tr = _chain(city, a, b, 1000, 0)
    rate = tr.reward.sum() / (tr.duration_s.sum() / 600.0)
    assert value_scale(tr, 0.9, 600.0) == pytest.approx(rate / 0.1)
    assert value_scale(tr.take(tr.reward == 0), 0.9, 600.0) == 1.0


def test_early_stopping_keeps_the_best_epoch(chain_city):
    city, a, b = chain_city
    train = _chain(city, a, b, 2_000, 0)
    held = _chain(city, a, b, 500, 1)
    # a learning rate far too high: the held-out error stops improving quickly
    cfg = OfflineTrainConfig(epochs=30, batch_size=256, lr=0.5, patience=2, device="cpu")
    net, history = train_cvnet(train, held, city, cfg)
    assert len(history) < 30
    best = min(h["held_out_td_error"] for h in history)
    assert td_error(net, held, city) == pytest.approx(best, rel=1e-4)


def test_bad_inputs(chain_city):
    city, a, b = chain_city
    with pytest.raises(ConfigError, match="batch_size"):
        OfflineTrainConfig(batch_size=0)
    with pytest.raises(ConfigError, match="device"):
        OfflineTrainConfig(device="tpu")
    tr = _chain(city, a, b, 100, 0)
    with pytest.raises(DataError, match="no transitions"):
        train_cvnet(tr.take(np.zeros(100, dtype=bool)), tr, city)
    bad = _chain(city, a, b, 100, 0)
    object.__setattr__(bad, "cell1", np.full(100, 7, dtype=np.int32))
    with pytest.raises(DataError, match="outside"):
        train_cvnet(bad, tr, city)
