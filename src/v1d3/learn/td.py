"""Learners for table value functions: offline (Xu et al. 2018), online (per dispatch round) and
the periodic ensemble step (V1D3, docs/method.md §9).

Acting and learning stay apart: a dispatch policy reads a value function; a learner updates it.
Online learners see one :class:`~v1d3.rounds.RoundOutcome` after each dispatch round:

- :class:`ChampionOnlineTD` (KDD Cup 2020 champion, docs/method.md §7): each served driver's value
  moves by ``alpha · A_ij``, each other available driver's by ``alpha (gamma_round − 1) V``;
- :class:`PopulationOnlineTD` (V1D3, docs/method.md §9): one TD step for every available
  driver, towards ``R_gamma + gamma^k V(s')`` when it starts a trip and towards
  ``gamma^(round_s / time_unit_s) V(s_next)`` (same place, one round later) when it does not.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Literal

import numpy as np

from v1d3.errors import ConfigError
from v1d3.learn.config import OnlineTrainConfig
from v1d3.learn.transitions import Transitions
from v1d3.rounds import DayContext, RoundOutcome
from v1d3.value.base import Discount, ValueFunction, champion_units, discounted_reward
from v1d3.value.tabular import LocationValue, TableValue, TabularValue

__all__ = [
    "fit_tabular_offline",
    "td_targets",
    "OnlineLearner",
    "ChampionOnlineTD",
    "PopulationOnlineTD",
    "ensemble_step",
]

Duration = Literal["exact", "champion"]


def td_targets(
    value: ValueFunction,
    discount: Discount,
    reward: np.ndarray,
    duration_s: np.ndarray,
    cell1: np.ndarray,
    lat1: np.ndarray,
    lng1: np.ndarray,
    t1_s: np.ndarray,
    terminal: np.ndarray | None = None,
) -> np.ndarray:
    """``R_gamma(R, k) + gamma^k V(s')`` with ``k = duration_s / time_unit_s``; ``V(s') = 0``
    where ``terminal``."""
    k = discount.units(duration_s)
    v1 = value.value(cell1, lat1, lng1, t1_s)
    if terminal is not None:
        v1 = np.where(terminal, 0.0, v1)
    return discounted_reward(reward, k, discount.gamma) + np.power(discount.gamma, k) * v1


# -- offline


def fit_tabular_offline(
    transitions: Transitions,
    value: TabularValue,
    sweeps: int = 1,
    inner_iters: int = 3,
    progress: Callable[[int, int, float], None] | None = None,
) -> dict[str, float]:
    """Xu et al. (KDD 2018) backward sweep over time buckets with ``1/N`` step sizes (§3.1).

    For buckets ``T−1 … 0``, every state ``s`` of the bucket gets the mean of the TD targets
    ``R_gamma(R, k) + gamma^k V(s')`` of the transitions starting in it — what ``N(s) += 1;
    V(s) += (target − V(s)) / N(s)`` gives over those transitions. Targets within one bucket
    (short idle steps, moves of zero duration) are recomputed ``inner_iters`` times; ``sweeps``
    repeats the whole backward pass. Transitions starting at or after ``value.end_s`` are
    ignored. ``progress(done_buckets, total, mean_abs_td_error)`` is called per bucket.

    Returns ``{"transitions", "states", "mean_abs_td_error"}`` of the last sweep.
    """
    if sweeps < 1 or inner_iters < 1:
        raise ConfigError("fit_tabular_offline: sweeps and inner_iters must be >= 1")
    tr = transitions.take(transitions.t0_s < value.end_s)
    d = value.discount
    n_st = value.table.size
    s0 = value.flat_index(tr.cell0, tr.t0_s, tr.weekday.astype(np.int64))
    b0 = np.clip(np.floor(tr.t0_s / value.bucket_s), 0, value.n_buckets - 1).astype(np.int64)
    order = np.argsort(-b0, kind="stable")
    bounds = np.searchsorted(-b0[order], -np.arange(value.n_buckets - 1, -1, -1), side="left")
    bounds = np.append(bounds, order.size)
    # next-state index and weight (0 when terminal or past the end of the day)
    s1 = value.flat_index(tr.cell1, tr.t1_s, tr.weekday.astype(np.int64))
    alive = (~tr.terminal) & (tr.t1_s < value.end_s)
    k = d.units(tr.duration_s)
    r_g = discounted_reward(tr.reward, k, d.gamma)
    g_k = np.power(d.gamma, k) * alive
    counts = np.bincount(s0, minlength=n_st)
    value.counts[:] = counts
    err_sum = 0.0
    for _ in range(sweeps):
        err_sum = 0.0
        for j in range(value.n_buckets):
            sl = order[bounds[j] : bounds[j + 1]]
            if sl.size:
                # learn: the 1/N running mean of the bucket's targets, per state
                hit, inv = np.unique(s0[sl], return_inverse=True)
                for _ in range(inner_iters):
                    target = r_g[sl] + g_k[sl] * value.table[s1[sl]]
                    sums = np.bincount(inv, weights=target, minlength=hit.size)
                    value.table[hit] = sums / counts[hit]
                err_sum += float(np.abs(target - value.table[s0[sl]]).sum())
            if progress is not None:
                progress(j + 1, value.n_buckets, err_sum / max(int(bounds[j + 1]), 1))
    if value.per_weekday:
        _fill_missing_weekdays(value, tr.weekday)
    return {
        "transitions": float(len(tr)),
        "states": float(np.count_nonzero(counts)),
        "mean_abs_td_error": err_sum / max(len(tr), 1),
    }


def _fill_missing_weekdays(value: TabularValue, weekday: np.ndarray) -> None:
    seen = np.unique(weekday)
    if seen.size == 0:
        return
    v = value.values
    mean = v[seen].mean(axis=0)
    for w in range(7):
        if w not in seen:
            v[w] = mean


# -- online


class OnlineLearner(ABC):
    """Updates a value function from each dispatch round's outcome."""

    def reset(self, context: DayContext) -> None:
        """Called once before each simulated day (keeps the round length)."""
        self.round_s = float(context.sim.round_s)

    @abstractmethod
    def update(self, outcome: RoundOutcome, value: ValueFunction) -> None:
        """Learn from one round."""

    def step_s(self, outcome: RoundOutcome) -> float:
        """Seconds since the previous observed round (one round when the outcome does not say)."""
        return outcome.dt_s if outcome.dt_s is not None else self.round_s


def _read_round(
    outcome: RoundOutcome, table: TableValue, champion: bool
) -> tuple[_RoundStates, np.ndarray, np.ndarray]:
    """Every available driver's entries read once; their values; the served drivers' targets
    ``R_gamma(R, k) + gamma^k V(drop-off, t + pickup + trip)``, with ``k`` the champion's
    ``max(1, floor(trip / unit))`` units when ``champion``, else pickup + trip."""
    d = table.discount
    b = outcome.batch
    sv = _served(outcome)
    st = _RoundStates(outcome, sv, table)
    v0 = st.values(table)
    dur = b.pickup_s[sv] + b.trip_s[sv]
    k_s = champion_units(b.trip_s[sv], d.time_unit_s) * d.time_unit_s if champion else dur
    tgt = td_targets(
        table, d, b.fare[sv], k_s, b.dest_cell[sv], b.dest_lat[sv], b.dest_lng[sv], b.t + dur
    )
    return st, v0, tgt


def _served(outcome: RoundOutcome) -> np.ndarray:
    """Batch indices of the selected pairs whose trips started."""
    return outcome.selected[~np.asarray(outcome.cancelled, dtype=bool)]


class _RoundStates:
    """Every available driver of a round (the served ones first) and its table entries."""

    def __init__(self, outcome: RoundOutcome, served: np.ndarray, table: TableValue) -> None:
        b = outcome.batch
        self.n_served = int(served.size)
        self.cell = np.concatenate((b.driver_cell[served], outcome.idle_cell))
        self.lat = np.concatenate((b.driver_lat[served], outcome.idle_lat))
        self.lng = np.concatenate((b.driver_lng[served], outcome.idle_lng))
        self.t = np.full(self.cell.size, b.t)
        self.idx, self.w = table.active(self.cell, self.lat, self.lng, self.t)
        # V is the weighted sum of the entries unless a subclass adds to it (e.g. a residual)
        self.plain = type(table).value is TableValue.value

    def values(self, table: TableValue, dt_s: float = 0.0) -> np.ndarray:
        """``V`` of the states now (``dt_s = 0``) or ``dt_s`` seconds later, same places."""
        if dt_s == 0.0 and self.plain:
            return table.read(self.idx, self.w)
        return table.value(self.cell, self.lat, self.lng, self.t + dt_s)


def _require_table(value: ValueFunction) -> TableValue:
    if not isinstance(value, TableValue):
        raise ConfigError(f"this online learner updates table values, got {type(value).__name__}")
    return value


class ChampionOnlineTD(OnlineLearner):
    """The KDD Cup 2020 dispatch champion's online update (docs/method.md §7, fix of §10).

    Served driver ``i`` (order ``j``): ``V(s_i) += alpha · A_ij`` with
    ``A_ij = R_gamma(R_j, k) + gamma^k V(s'_j) − V(s_i)``. Every other available driver (unmatched
    or cancelled on): ``V(s_i) += alpha (gamma_round − 1) V(s_i)``, where ``gamma_round`` is the
    discount of one dispatch round, ``gamma^(round_s / time_unit_s)`` when ``per_round_decay``
    (the fix) and the champion's whole-unit ``gamma`` otherwise.
    """

    def __init__(
        self, alpha: float = 0.025, per_round_decay: bool = True, duration: Duration = "champion"
    ) -> None:
        """``alpha``: learning rate; ``duration``: ``"champion"`` counts ``k`` as
        ``max(1, floor(trip_s / unit))``, ``"exact"`` as ``(pickup_s + trip_s) / unit``."""
        if not 0 < alpha <= 1:
            raise ConfigError(f"alpha must be in (0, 1], got {alpha}")
        if duration not in ("exact", "champion"):
            raise ConfigError(f"duration must be 'exact' or 'champion', got {duration!r}")
        self.alpha = float(alpha)
        self.per_round_decay = bool(per_round_decay)
        self.duration = duration
        self.round_s = 2.0

    @classmethod
    def from_config(
        cls, config: OnlineTrainConfig, duration: Duration = "champion"
    ) -> ChampionOnlineTD:
        """``alpha = config.lr`` (0.025 when None) and ``config.per_round_decay``."""
        alpha = 0.025 if config.lr is None else config.lr
        return cls(alpha, per_round_decay=config.per_round_decay, duration=duration)

    def update(self, outcome: RoundOutcome, value: ValueFunction) -> None:
        table = _require_table(value)
        d = table.discount
        st, v0, tgt = _read_round(outcome, table, champion=self.duration == "champion")
        n_sv = st.n_served
        # decay by the time since the previous observed round
        g = d.factor(self.step_s(outcome)) if self.per_round_decay else d.gamma
        delta = np.concatenate((tgt - v0[:n_sv], (g - 1.0) * v0[n_sv:]))
        # learn
        if delta.size:
            table.write(st.idx, st.w, self.alpha * delta)


class PopulationOnlineTD(OnlineLearner):
    """One TD(0) step over every driver available in the round (V1D3, docs/method.md §9).

    Starting a trip: target ``R_gamma(R, k) + gamma^k V(s')`` with ``k = (pickup_s + trip_s) /
    time_unit_s`` and ``s'`` the drop-off at ``t + pickup_s + trip_s``. Not starting one:
    target ``gamma^(round_s / time_unit_s) V(s_next)``, ``s_next`` the same place one round
    later. ``V(s_i) += lr (target_i − V(s_i))``: a gradient step on ``Σ_i (target_i − V(s_i))²``
    for a table (steps of drivers sharing an entry add up).
    """

    def __init__(self, lr: float = 0.025) -> None:
        """``lr``: learning rate (fraction of the TD error applied per round)."""
        if not 0 < lr <= 1:
            raise ConfigError(f"lr must be in (0, 1], got {lr}")
        self.lr = float(lr)
        self.round_s = 2.0

    @classmethod
    def from_config(cls, config: OnlineTrainConfig) -> PopulationOnlineTD:
        """``lr = config.lr`` (0.025 when None)."""
        return cls() if config.lr is None else cls(config.lr)

    def update(self, outcome: RoundOutcome, value: ValueFunction) -> None:
        table = _require_table(value)
        d = table.discount
        t = outcome.batch.t
        st, v0, tgt_d = _read_round(outcome, table, champion=False)
        n_sv = st.n_served
        # an idle driver's next state: same place, as long after as it waited since the
        # previous observed round (one round)
        dt = self.step_s(outcome)
        still = st.plain and not table.time_dependent and t + dt < getattr(table, "end_s", np.inf)
        v_next = v0[n_sv:] if still else st.values(table, dt)[n_sv:]
        delta = np.concatenate((tgt_d - v0[:n_sv], d.factor(dt) * v_next - v0[n_sv:]))
        # learn
        if delta.size:
            table.write(st.idx, st.w, self.lr * delta)


# -- ensemble


def ensemble_step(
    online: ValueFunction, offline: ValueFunction, omega: float = 0.2, t_s: float = 0.0
) -> None:
    """Pull a table towards an offline function: ``V_on ← omega V_on + (1 − omega) V_off``.

    Same table class and size: blended entry by entry. A :class:`LocationValue` online table
    with any offline function: blended with ``V_off`` at the cell centres at time ``t_s``
    (seconds after midnight), which needs ``offline`` bound to the city.
    """
    if not 0 <= omega <= 1:
        raise ConfigError(f"omega must be in [0, 1], got {omega}")
    on = _require_table(online)
    if type(offline) is type(on) and getattr(offline, "table", None) is not None:
        off = offline.table  # type: ignore[attr-defined]
        if off.shape != on.table.shape:
            raise ConfigError(
                f"ensemble: table sizes differ ({on.table.size} online, {off.size} offline)"
            )
        on.table *= omega
        on.table += (1.0 - omega) * off
        return
    if isinstance(on, LocationValue):
        city = getattr(offline, "city", None)
        if city is None:
            raise ConfigError("ensemble: bind the offline value function to the city first")
        cells = np.arange(on.n_cells)
        v_off = offline.value(cells, city.cell_lat, city.cell_lng, np.full(on.n_cells, t_s))
        on.table *= omega
        on.table += (1.0 - omega) * v_off
        return
    raise ConfigError(
        f"ensemble: cannot blend {type(on).__name__} towards {type(offline).__name__}"
    )
