"""The critic-free objective on tiny arrays, against numbers worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from v1d3.ospo.loss import (
    GROUP_EPS,
    group_advantages,
    ppo_loss,
    rewards_to_go,
    segment_log_softmax,
    trip_rewards,
)


def test_group_advantages_normalise_within_each_round() -> None:
    # round 0: rewards 1, 3 -> mean 2, population std 1 -> -1, +1
    # round 1: 2, 2, 8 -> mean 4, std sqrt((4+4+16)/3) = sqrt(8)
    # round 2: a group of one -> 0
    adv = group_advantages(np.array([1.0, 3.0, 2.0, 2.0, 8.0, 5.0]), np.array([0, 0, 1, 1, 1, 2]))
    s8 = math.sqrt(8.0) + GROUP_EPS
    np.testing.assert_allclose(adv, [-1, 1, -2 / s8, -2 / s8, 4 / s8, 0.0], rtol=1e-7, atol=1e-9)


def test_trip_rewards_charge_the_drivers_time_and_pay_nothing_for_a_cancel() -> None:
    r = trip_rewards(
        np.array([12.0, 12.0]), np.array([1800.0, 900.0]), np.array([500.0, 300.0]),
        np.array([True, False]), 20.0, 2.0,
    )  # fmt: skip
    np.testing.assert_allclose(r, [12.0 - 10.0 - 1.0, 0.0])


def test_rewards_to_go_sum_the_drivers_own_trips_inside_the_horizon() -> None:
    # driver 4: trips at 100 s (r 2), 160 s (r 3), 2000 s (r 5); driver 1: a trip at 130 s (r 7)
    trip_driver = np.array([4, 1, 4, 4])
    trip_t = np.array([160.0, 130.0, 100.0, 2000.0])
    trip_r = np.array([3.0, 7.0, 2.0, 5.0])
    g = 0.5  # per 60 s
    got = rewards_to_go(
        np.array([4, 4, 1, 2]), np.array([100.0, 130.0, 100.0, 0.0]),
        trip_driver, trip_t, trip_r, horizon_s=600.0, gamma=g, unit_s=60.0,
    )  # fmt: skip
    want = [
        2.0 + 3.0 * g**1.0,  # from 100 s: the trips at 100 and 160 s; 2000 s is past the horizon
        3.0 * g ** (30 / 60),  # from 130 s: only the trip at 160 s
        7.0 * g ** (30 / 60),  # driver 1 from 100 s
        0.0,  # a driver without trips
    ]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_segment_log_softmax_is_a_softmax_per_driver_with_staying_free() -> None:
    # driver 0: scores 0, log 3 and free 0 -> 1/5, 3/5, free 1/5; driver 1: one order at
    # log 4 -> 4/5, free 1/5; driver 2: 1000, 1001 -> free ~ 0
    score = torch.tensor([0.0, math.log(3.0), math.log(4.0), 1000.0, 1001.0], dtype=torch.float64)
    seg = torch.tensor([0, 0, 1, 2, 2])
    pairs, free = segment_log_softmax(score, seg, 3)
    want = [0.2, 0.6, 0.8, 1 / (1 + math.e), math.e / (1 + math.e)]
    np.testing.assert_allclose(pairs.exp().numpy(), want, rtol=1e-9)
    np.testing.assert_allclose(free.exp().numpy(), [0.2, 0.2, 0.0], atol=1e-300)


def _logp(p: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
    """Two drivers of two orders each: pair probabilities ``p``, staying free the rest."""
    t = torch.tensor(p, dtype=torch.float64)
    return t.log(), torch.stack([1 - t[0] - t[1], 1 - t[2] - t[3]]).log()


def _parts(logp: list[float], old: list[float], adv: list[float], **kw: float):  # type: ignore[no-untyped-def]
    seg = torch.tensor([0, 0, 1, 1])
    chosen = torch.tensor([0, 3])
    args = dict(clip=0.2, kl_weight=0.0, entropy_weight=0.0) | kw
    a = torch.tensor(adv, dtype=torch.float64)
    return ppo_loss(_logp(logp), _logp(old), seg, chosen, a, **args)


def test_ppo_clip_takes_the_pessimistic_term() -> None:
    # driver 0 chose pair 0: ratio 0.6/0.4 = 1.5 with A = +1 -> clipped to 1.2
    # driver 1 chose pair 3: ratio 0.3/0.5 = 0.6 with A = -1 -> min(-0.6, -0.8) = -0.8
    parts = _parts([0.6, 0.3, 0.6, 0.3], [0.4, 0.5, 0.4, 0.5], [1.0, -1.0])
    assert parts.surrogate == pytest.approx((1.2 - 0.8) / 2)
    assert parts.loss.item() == pytest.approx(-(1.2 - 0.8) / 2)
    assert parts.clipped == 1.0
    # inside the clip range the plain ratio counts: 0.44/0.4 = 1.1 and 0.55/0.5 = 1.1
    inside = _parts([0.44, 0.5, 0.4, 0.55], [0.4, 0.5, 0.4, 0.5], [2.0, -1.0])
    assert inside.surrogate == pytest.approx((2.0 * 1.1 - 1.1) / 2)
    assert inside.clipped == 0.0


def test_ppo_loss_adds_the_kl_from_the_rollout_policy_and_subtracts_the_entropy() -> None:
    # with staying free: new (0.6, 0.3 | 0.1) and (0.7, 0.2 | 0.1), old (0.4, 0.5 | 0.1) twice
    new, old = [0.6, 0.3, 0.7, 0.2], [0.4, 0.5, 0.4, 0.5]

    def kl_of(q: list[float], p: list[float]) -> float:
        return sum(a * math.log(a / b) for a, b in zip(q, p, strict=True))

    def h(p: list[float]) -> float:
        return -sum(a * math.log(a) for a in p)

    kl = (kl_of([0.4, 0.5, 0.1], [0.6, 0.3, 0.1]) + kl_of([0.4, 0.5, 0.1], [0.7, 0.2, 0.1])) / 2
    ent = (h([0.6, 0.3, 0.1]) + h([0.7, 0.2, 0.1])) / 2
    base = _parts(new, old, [1.0, -1.0])
    both = _parts(new, old, [1.0, -1.0], kl_weight=0.5, entropy_weight=0.1)
    assert both.kl == pytest.approx(kl)
    assert both.entropy == pytest.approx(ent)
    assert both.loss.item() == pytest.approx(base.loss.item() + 0.5 * kl - 0.1 * ent)


def test_ppo_gradient_moves_probability_towards_a_positive_advantage() -> None:
    score = torch.zeros(4, requires_grad=True)
    seg = torch.tensor([0, 0, 1, 1])
    logp = segment_log_softmax(score, seg, 2)
    parts = ppo_loss(
        logp, (logp[0].detach(), logp[1].detach()), seg,
        torch.tensor([0, 2]), torch.tensor([1.0, -1.0]),
        clip=0.2, kl_weight=0.0, entropy_weight=0.0,
    )  # fmt: skip
    parts.loss.backward()
    assert score.grad is not None
    assert score.grad[0] < 0 < score.grad[1]  # descending raises pair 0 (A > 0) over pair 1
    assert score.grad[2] > 0 > score.grad[3]  # and lowers pair 2 (A < 0)


def test_rewards_to_go_keep_their_precision_late_in_the_day() -> None:
    rng = np.random.default_rng(0)
    trip_driver = rng.integers(0, 50, 3000)
    trip_t = rng.uniform(0.0, 86_000.0, 3000)
    trip_r = rng.uniform(-5.0, 40.0, 3000)
    driver, t = rng.integers(0, 50, 200), rng.uniform(70_000.0, 84_000.0, 200)
    got = rewards_to_go(driver, t, trip_driver, trip_t, trip_r, 1800.0, 0.9, 60.0)
    for i in range(200):
        k = (trip_driver == driver[i]) & (trip_t >= t[i]) & (trip_t < t[i] + 1800.0)
        want = float((trip_r[k] * 0.9 ** ((trip_t[k] - t[i]) / 60.0)).sum())
        assert got[i] == pytest.approx(want, rel=1e-9, abs=1e-9)
