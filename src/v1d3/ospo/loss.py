"""The critic-free objective: group-normalised advantages and PPO-clip with KL and entropy.

A group is the drivers assigned an order within one window of the day (``group_s``, a minute;
docs/method.md §13).

- OSPO: each driver's one-step reward (:func:`trip_rewards`), normalised across its group
  (:func:`group_advantages`);
- GRPO: each driver's discounted reward-to-go over a bounded horizon
  (:func:`rewards_to_go`), normalised the same way.

Within a round, a driver's policy is the softmax of the scores of its candidate orders and of
staying free (:func:`segment_log_softmax`); :func:`ppo_loss` is the clipped surrogate on the
assigned drivers plus the KL divergence from the rollout's policy and minus the entropy, both
over every driver of the rounds.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

__all__ = [
    "GROUP_EPS",
    "FREE_SCORE",
    "group_advantages",
    "trip_rewards",
    "rewards_to_go",
    "segment_log_softmax",
    "ppo_loss",
    "LossParts",
]

GROUP_EPS = 1e-8
"""Added to a group's standard deviation before dividing by it."""
FREE_SCORE = 0.0
"""The score of a driver's option to stay free: each driver's softmax holds it beside its
candidate orders, so that a lone far order can be unlikely (without it, an order that is a
driver's only candidate would have probability 1, whatever it is)."""


def group_advantages(reward: np.ndarray, group: np.ndarray) -> np.ndarray:
    """``(r − mean_g) / (std_g + eps)`` within each group ``g`` (population spread); a group of
    one, or of equal rewards, gets 0."""
    reward = np.asarray(reward, dtype=np.float64)
    _, g = np.unique(group, return_inverse=True)
    g = g.reshape(-1)
    n = np.bincount(g).astype(np.float64)
    mean = np.bincount(g, reward) / n
    dev = reward - mean[g]
    std = np.sqrt(np.bincount(g, dev * dev) / n)
    return dev / (std[g] + GROUP_EPS)  # type: ignore[no-any-return]


def trip_rewards(
    fare: np.ndarray,
    busy_s: np.ndarray,
    pickup_m: np.ndarray,
    served: np.ndarray,
    cost_per_h: float,
    pickup_per_km: float,
) -> np.ndarray:
    """One-step reward of an assignment: the fare minus the driver's time the trip takes
    (``busy_s``: pickup and trip, seconds) at ``cost_per_h`` and minus ``pickup_per_km`` per
    km of pickup; 0 where it was cancelled."""
    r = np.asarray(fare, dtype=np.float64) - cost_per_h * np.asarray(busy_s) / 3600.0
    r -= pickup_per_km * np.asarray(pickup_m) / 1000.0
    return np.where(served, r, 0.0)  # type: ignore[no-any-return]


def rewards_to_go(
    driver: np.ndarray,
    t: np.ndarray,
    trip_driver: np.ndarray,
    trip_t: np.ndarray,
    trip_reward: np.ndarray,
    horizon_s: float,
    gamma: float,
    unit_s: float,
) -> np.ndarray:
    """For each (``driver``, ``t``): ``Σ γ^((t_k − t)/unit) r_k`` over that driver's trips ``k``
    starting in ``[t, t + horizon_s)`` (``trip_*``: every trip of the day). Each query sums its
    own few trips, discounted from its own time, so no precision is lost late in a day."""
    order = np.lexsort((trip_t, trip_driver))
    td, tt = trip_driver[order].astype(np.int64), trip_t[order].astype(np.float64)
    rr = trip_reward[order].astype(np.float64)
    t = np.asarray(t, dtype=np.float64)
    # one sorted key per trip: driver, then time (a day is far shorter than the driver stride)
    stride = 4.0 * (max(float(tt.max(initial=0.0)), float(t.max(initial=0.0))) + horizon_s + 1)
    q = np.asarray(driver, dtype=np.int64) * stride + t
    lo = np.searchsorted(td * stride + tt, q, side="left")
    hi = np.searchsorted(td * stride + tt, q + horizon_s, side="left")
    n = hi - lo
    query = np.repeat(np.arange(q.size), n)
    k = np.repeat(lo - np.concatenate(([0], np.cumsum(n)[:-1])), n) + np.arange(int(n.sum()))
    weight = rr[k] * np.exp(np.log(gamma) / unit_s * (tt[k] - t[query]))
    return np.bincount(query, weight, minlength=q.size)  # type: ignore[no-any-return]


def segment_log_softmax(
    score: torch.Tensor, seg: torch.Tensor, n_seg: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probabilities of a softmax within each segment (a driver's candidate orders) that
    also holds the option of staying free, scored :data:`FREE_SCORE`: ``(log π of each entry,
    log π of staying free for each segment)`` (``seg``: segment 0..n−1 of each entry)."""
    top = torch.full((n_seg,), FREE_SCORE, dtype=score.dtype, device=score.device)
    top = top.scatter_reduce(0, seg, score.detach(), reduce="amax", include_self=True)
    shifted = score - top[seg]
    total = (FREE_SCORE - top).exp().index_add(0, seg, shifted.exp())
    log_total = total.log()
    return shifted - log_total[seg], FREE_SCORE - top - log_total


class LossParts(NamedTuple):
    """A minibatch's loss and its terms (for the progress line and the history)."""

    loss: torch.Tensor
    surrogate: float
    kl: float
    entropy: float
    clipped: float
    """Share of the assigned drivers whose ratio was clipped."""


def ppo_loss(
    logp: tuple[torch.Tensor, torch.Tensor],
    old_logp: tuple[torch.Tensor, torch.Tensor],
    seg: torch.Tensor,
    chosen: torch.Tensor,
    advantage: torch.Tensor,
    clip: float,
    kl_weight: float,
    entropy_weight: float,
) -> LossParts:
    """PPO-clip on the chosen pairs plus ``kl_weight · KL(π_old ‖ π)`` minus ``entropy_weight ·
    H(π)``, each a mean over the segments (drivers).

    ``logp``/``old_logp``: the pairs' and the free options' log-probabilities now and in the
    rollout (:func:`segment_log_softmax`); ``chosen``: indices of the assigned drivers' pairs;
    ``advantage``: theirs, in the same order.
    """
    (lp, lp_free), (olp, olp_free) = logp, old_logp
    ratio = (lp[chosen] - olp[chosen]).exp()
    plain = ratio * advantage
    clipped = ratio.clamp(1.0 - clip, 1.0 + clip) * advantage
    surrogate = torch.minimum(plain, clipped).mean()
    kl = (olp_free.exp() * (olp_free - lp_free)).index_add(0, seg, olp.exp() * (olp - lp))
    ent = (-lp_free.exp() * lp_free).index_add(0, seg, -lp.exp() * lp)
    loss = -surrogate + kl_weight * kl.mean() - entropy_weight * ent.mean()
    share = ((ratio < 1.0 - clip) | (ratio > 1.0 + clip)).float().mean()
    return LossParts(
        loss,
        float(surrogate.detach()),
        float(kl.mean().detach()),
        float(ent.mean().detach()),
        float(share),
    )
