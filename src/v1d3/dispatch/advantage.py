"""Advantage-weighted matching: dispatching on the advantages of a state-value function
(docs/method.md §3).

For a candidate pair (driver i in state ``s_i``, order j):

    A_ij = R_gamma(R_j, k_ij) + gamma^k_ij V(s'_j) − V(s_i)
    k_ij = (pickup_s + trip_s) / time_unit_s,   s'_j = (drop-off, t + pickup_s + trip_s)

optionally times ``1 − p_cancel(pickup_m)``; the matching maximises the sum of the weights.
:class:`ValueDispatch` wires a value function to an optional online learner (:mod:`v1d3.learn`)
and an optional offline function that the online one is pulled towards every
``ensemble_every_s`` seconds (:class:`~v1d3.learn.config.OnlineTrainConfig`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from v1d3.demand.orders import cancel_probability as curve_cancel_prob
from v1d3.dispatch.base import DispatchPolicy
from v1d3.dispatch.matching import compact_ids, max_weight_matching_compacted
from v1d3.errors import ConfigError
from v1d3.fields import check_fields
from v1d3.learn.config import OnlineTrainConfig
from v1d3.learn.td import OnlineLearner, ensemble_step
from v1d3.rounds import CandidateBatch, DayContext, RoundOutcome
from v1d3.value.base import Discount, ValueFunction, champion_units, discounted_reward
from v1d3.value.corrections import CORRECTIONS_TABLE, CorrectionRecorder
from v1d3.value.tabular import TableValue

__all__ = [
    "advantage",
    "champion_cancel_prob",
    "curve_cancel_prob",
    "top_k_mask",
    "ValueDispatchConfig",
    "ValueDispatch",
]


EnsembleFn = Callable[[ValueFunction, ValueFunction, float, float], None]
"""``ensemble(online, offline, omega, t_s)``: pull the online function towards the offline one."""


def champion_cancel_prob(pickup_m: np.ndarray) -> np.ndarray:
    """The KDD Cup 2020 champion's cancellation model ``0.01 exp(ln(20) / 2000 · d)`` (d in m)."""
    d = np.asarray(pickup_m, dtype=np.float64)
    return np.clip(0.01 * np.exp(np.log(20.0) / 2000.0 * d), 0.0, 1.0)


def advantage(
    batch: CandidateBatch,
    value: ValueFunction,
    discount: Discount | None = None,
    cancel_factor: bool = False,
    cancel_curve: Sequence[float] | np.ndarray | None = None,
    duration: Literal["exact", "champion"] = "exact",
) -> np.ndarray:
    """``A_ij`` of every pair of the batch (docs/method.md §3).

    ``discount`` defaults to the value function's. With ``cancel_factor`` the advantage is
    multiplied by ``1 − p_cancel(pickup_m)``: the champion's exponential model when
    ``cancel_curve`` is None, else the given curve (10 values at 200 … 2000 m, or one row per
    pair). ``duration="champion"`` discounts over ``max(1, floor(trip_s / unit))`` units instead
    of ``(pickup_s + trip_s) / unit`` (the drop-off time stays ``t + pickup_s + trip_s``).
    """
    d = discount if discount is not None else value.discount
    dur_s = batch.pickup_s + batch.trip_s
    if duration == "champion":
        k = champion_units(batch.trip_s, d.time_unit_s)
    elif duration == "exact":
        k = d.units(dur_s)
    else:
        raise ConfigError(f"duration must be 'exact' or 'champion', got {duration!r}")
    v1 = value.value(batch.dest_cell, batch.dest_lat, batch.dest_lng, batch.t + dur_s)
    t0 = np.full(len(batch), batch.t)
    v0 = value.value(batch.driver_cell, batch.driver_lat, batch.driver_lng, t0)
    a = discounted_reward(batch.fare, k, d.gamma) + np.power(d.gamma, k) * v1 - v0
    if cancel_factor:
        if cancel_curve is None:
            p = champion_cancel_prob(batch.pickup_m)
        else:
            p = curve_cancel_prob(batch.pickup_m, cancel_curve)
        a = a * (1.0 - p)
    return a


def top_k_mask(order: np.ndarray, pickup_m: np.ndarray, k: int) -> np.ndarray:
    """Which pairs are among the ``k`` nearest drivers of their order (all when ``k`` ≤ 0)."""
    n = len(order)
    if k <= 0 or n == 0:
        return np.ones(n, dtype=bool)
    srt = np.lexsort((pickup_m, order))
    o = np.asarray(order)[srt]
    start = np.flatnonzero(np.r_[True, o[1:] != o[:-1]])
    rank = np.arange(n) - np.repeat(start, np.diff(np.r_[start, n]))
    keep = np.zeros(n, dtype=bool)
    keep[srt[rank < k]] = True
    return keep


@dataclass(frozen=True)
class ValueDispatchConfig:
    """How :class:`ValueDispatch` turns values into edge weights (when it resets or blends the
    values is learning's part: :class:`~v1d3.learn.config.OnlineTrainConfig`)."""

    top_k: int = 11
    """Keep only the ``top_k`` nearest drivers per order (0 = every candidate); the KDD Cup 2020
    champion used 11."""
    drop_negative: bool = False
    """True: pairs with a weight ≤ 0 are never matched. False: serve as many orders as the
    candidates allow (like distance matching) and, among those matchings, take the one with the
    highest total weight — unless ``pair_bonus`` is given."""
    pair_bonus: float | None = None
    """Currency units added to every pair's weight before matching, instead of the lexicographic
    lift: the matching may then leave an order unserved when serving it costs more advantage
    than this (a pair of weight below ``−pair_bonus`` is never worth matching on its own).
    None = serve as many orders as the candidates allow (``drop_negative`` False), 0 = the same
    as ``drop_negative`` True."""
    cancel_factor: bool = False
    """Multiply advantages by the probability that the passenger does not cancel."""
    cancel_model: Literal["champion", "sim"] = "champion"
    """``champion``: ``0.01 exp(ln(20)/2000 · d)``; ``sim``: the simulator's curve (per-order
    curves when the data carries them)."""
    duration: Literal["exact", "champion"] = "exact"
    """Trip length in the discount: ``exact`` = (pickup + trip) / unit, ``champion`` =
    max(1, floor(trip / unit))."""
    pickup_penalty_per_km: float = 0.0
    """Subtracted from the weight per kilometre of pickup, currency units per km."""
    slack_drivers_per_order: float | None = None
    """Supply following, for ``pair_bonus``: a round whose candidate pairs hold at least this
    many distinct drivers per distinct order has drivers to spare, so keeping one back for a
    better order gains little; such a round serves as many orders as the candidates allow (the
    lexicographic lift) instead of adding the bonus. None = every round alike."""

    def __post_init__(self) -> None:
        check_fields(self, "value dispatch")  # also the Literal fields' allowed values
        if self.top_k < 0:
            raise ConfigError(f"top_k must be >= 0, got {self.top_k}")
        if self.pickup_penalty_per_km < 0:
            raise ConfigError("pickup_penalty_per_km must be >= 0")
        if self.pair_bonus is not None:
            if self.pair_bonus < 0:  # non-finite numbers: check_fields
                raise ConfigError(f"pair_bonus must be >= 0, got {self.pair_bonus}")
            if self.drop_negative:
                raise ConfigError("pair_bonus and drop_negative: give one of them")
        if self.slack_drivers_per_order is not None:
            if self.pair_bonus is None:
                raise ConfigError("slack_drivers_per_order needs a pair_bonus")
            if self.slack_drivers_per_order <= 0:
                raise ConfigError(
                    f"slack_drivers_per_order must be > 0, got {self.slack_drivers_per_order}"
                )


class ValueDispatch(DispatchPolicy):
    """Maximum-weight matching on advantages of one value function, learned online if asked.

    ``learner`` updates ``value`` after every round; ``offline`` (with ``online.omega`` and
    ``online.ensemble_every_s``) is blended in by ``ensemble`` at the change points; the
    ``daily_reset`` of ``online`` runs in :meth:`reset`. With an offline function distinct
    from ``value``, the online correction ``V_on − V_off`` is recorded through the day and added
    to the run folder (:mod:`v1d3.value.corrections`).
    """

    name = "value"

    def __init__(
        self,
        value: ValueFunction,
        config: ValueDispatchConfig | None = None,
        learner: OnlineLearner | None = None,
        offline: ValueFunction | None = None,
        ensemble: EnsembleFn = ensemble_step,
        online: OnlineTrainConfig | None = None,
    ) -> None:
        self.value = value
        self.config = config if config is not None else ValueDispatchConfig()
        self.online = online if online is not None else OnlineTrainConfig()
        self.learner = learner
        self.offline = offline
        self.ensemble = ensemble
        if self.online.daily_reset == "offline" and offline is None:
            raise ConfigError("daily_reset='offline' needs an offline value function")
        self._next_ensemble = np.inf
        self._corrections = (
            CorrectionRecorder(value, offline)
            if offline is not None and offline is not value
            else None
        )
        self._curve: np.ndarray | None = None
        self._filter = True

    @property
    def learns_online(self) -> bool:
        return self.learner is not None or self.offline is not None

    def reset(self, context: DayContext) -> None:
        cfg, online = self.config, self.online
        self.value.bind(context.city, context.weekday)
        if self.offline is not None and self.offline is not self.value:
            self.offline.bind(context.city, context.weekday)
        if self.learner is not None:
            self.learner.reset(context)
        if online.daily_reset == "zero":
            if not isinstance(self.value, TableValue):
                raise ConfigError("daily_reset='zero' needs a table value function")
            self.value.fill(0.0)
        elif online.daily_reset == "offline" and self.offline is not None:
            self.ensemble(self.value, self.offline, 0.0, context.start_s)
        self._next_ensemble = (
            context.start_s + online.ensemble_every_s if self.offline is not None else np.inf
        )
        if self._corrections is not None:
            self._corrections.reset(context)
        self._curve = np.asarray(context.sim.cancel_curve, dtype=np.float64)
        # the simulator already keeps only its k nearest drivers per order
        k_sim = context.sim.k_nearest
        self._filter = cfg.top_k > 0 and (k_sim == 0 or cfg.top_k < k_sim)

    def weights(self, batch: CandidateBatch) -> np.ndarray:
        """Edge weight of every pair: advantage (cancellation-weighted if configured) minus the
        pickup penalty."""
        cfg = self.config
        curve: np.ndarray | None = None
        if cfg.cancel_factor and cfg.cancel_model == "sim":
            cp = batch.cancel_prob
            curve = cp if cp is not None else self._curve
        w = advantage(batch, self.value, None, cfg.cancel_factor, curve, cfg.duration)
        if cfg.pickup_penalty_per_km:
            w = w - cfg.pickup_penalty_per_km * batch.pickup_m / 1000.0
        return w

    def dispatch(self, batch: CandidateBatch) -> np.ndarray:
        if len(batch) == 0:
            return np.zeros(0, dtype=np.int64)
        order, driver, w = batch.order, batch.driver, self.weights(batch)
        keep = None
        if self._filter:
            keep = np.flatnonzero(top_k_mask(order, batch.pickup_m, self.config.top_k))
            order, driver, w = order[keep], driver[keep], w[keep]
        if w.size == 0:
            return np.zeros(0, dtype=np.int64)
        n_o, oi = compact_ids(order)  # once, for the lift and the matching
        n_d, di = compact_ids(driver)
        cfg = self.config
        slack = cfg.slack_drivers_per_order is not None and n_d >= cfg.slack_drivers_per_order * n_o
        if cfg.pair_bonus is not None and not slack:
            w = w + cfg.pair_bonus
        elif not cfg.drop_negative:
            # lexicographic: one more pair always outweighs any difference in advantages
            w = w + (2.0 * min(n_o, n_d) * float(np.abs(w).max()) + 1.0)
        sel = max_weight_matching_compacted(n_o, oi, n_d, di, w)
        return sel if keep is None else keep[sel]

    def observe(self, outcome: RoundOutcome) -> None:
        t = outcome.batch.t
        if self._corrections is not None:  # the values in force up to this round
            self._corrections.tick(t)
        # learn
        if self.learner is not None:
            self.learner.update(outcome, self.value)
        # blend towards the offline function at the change points
        if self.offline is not None and t >= self._next_ensemble:
            if self._corrections is not None:
                self._corrections.before_ensemble(t)
            self.ensemble(self.value, self.offline, self.online.omega, t)
            while self._next_ensemble <= t:
                self._next_ensemble += self.online.ensemble_every_s

    def run_tables(self) -> dict[str, dict[str, np.ndarray]]:
        """The day's online corrections (``corrections``) when there is an online value over an
        offline one; nothing otherwise."""
        if self._corrections is None:
            return {}
        return {CORRECTIONS_TABLE: self._corrections.table()}
