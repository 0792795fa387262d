"""The online half of V1D3 (Tang et al. 2021, docs/method.md §9): the learners of values that start
each day from the offline CVNet, learn from every dispatch round, and are pulled back to the
offline ones periodically. The values themselves (:class:`~v1d3.value.online.ResidualValue`,
:class:`~v1d3.value.online.OnlineCVNetValue`) live in :mod:`v1d3.value.online`.

Two implementations of ``V_on``:

- **Residual (default, fast).** ``V_on(s) = V_off(s) + Δ(s)`` with ``Δ = 0`` at
  :meth:`~v1d3.value.online.ResidualValue.bind`: exactly an online table initialised from the
  offline values (docs/method.md §10: online values must start from offline ones), but it keeps the
  offline net's minute resolution in time. ``Δ`` is coarse-coded: the sum of an entry of the
  state's cell and of its H3 parents (``v1d3`` uses resolutions 7 and 6 over the resolution-8
  cells).
  After every round, :class:`ResidualOnline` takes one closed-form
  gradient step on the population TD loss ``Σ_i (target_i − V_on(s_i))²`` over the drivers
  available in the round (dispatched: ``R_gamma + gamma^k V_on(s'_i)``; idle:
  ``gamma^(round_s / time_unit_s) V_on(s_i, t + round_s)``): for a table it is
  ``Δ[e] += lr Σ_{i in e} (target_i − V_on(s_i))`` for every entry ``e`` a state uses —
  vectorised numpy, well under a millisecond at thousands of drivers. ``centred`` subtracts the
  round's mean TD error first (the default): the day teaches where drivers do better or
  worse than offline values expect, not a level shift of every value. The ensemble
  ``V_on ← ω V_on + (1 − ω) V_off`` is then simply ``Δ ← ω Δ`` (:func:`residual_ensemble`).
- **Neural (fidelity, slower).** :class:`OnlineCVNetValue` is a copy of the offline net;
  :class:`NeuralOnline` takes one Adam step per round on the same population loss, and
  :func:`parameter_ensemble` blends the parameters, ``θ_on ← ω θ_on + (1 − ω) θ_off``. Each round
  then costs forward passes for the dispatch values and a backward pass: milliseconds to tens of
  milliseconds per round instead of microseconds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from v1d3.errors import ConfigError
from v1d3.learn.config import OnlineTrainConfig
from v1d3.learn.td import OnlineLearner, ensemble_step
from v1d3.rounds import DayContext, RoundOutcome
from v1d3.value.base import ValueFunction, discounted_reward
from v1d3.value.cvnet import CVNetValue
from v1d3.value.online import OnlineCVNetValue, ResidualValue

__all__ = [
    "ResidualOnline",
    "residual_ensemble",
    "NeuralOnline",
    "parameter_ensemble",
]


RESIDUAL_LR = 0.005
"""``ResidualOnline``'s default step: the fraction of each driver's TD error added to each of its
entries per round (docs/results/tuning.md §3)."""


class ResidualOnline(OnlineLearner):
    """V1D3's per-round update on a :class:`ResidualValue` (docs/method.md §9).

    For every driver available in the round, the TD error against its target — dispatched:
    ``R_gamma(R, k) + gamma^k V_on(s')`` with ``k = (pickup_s + trip_s) / time_unit_s``; idle:
    ``gamma^(dt / time_unit_s) V_on(s, t + dt)`` with ``dt`` the outcome's ``dt_s`` (the time
    since the previous observed round; one round when unknown) — then ``Δ[e] += lr Σ_{i in e} δ_i``:
    a gradient step of size ``lr / 2`` on ``Σ_i (target_i − V_on(s_i))²`` with the targets held
    fixed (semi-gradient TD), in closed form. Steps of drivers sharing an entry add up, so
    ``lr`` is per driver. Two batched value reads and one ``bincount`` per round.
    """

    def __init__(
        self, lr: float = RESIDUAL_LR, centred: bool = True, forget_s: float | None = None
    ) -> None:
        """``lr``: learning rate per driver and round (fraction of its TD error); ``centred``:
        subtract the round's mean TD error, so that the online values learn where drivers do
        better or worse than the offline values expect, not a level shift of all of them;
        ``forget_s``: the corrections fade by ``exp(−dt / forget_s)`` every round (seconds;
        None = only the ensemble pulls them back)."""
        if not 0 < lr <= 1:
            raise ConfigError(f"lr must be in (0, 1], got {lr}")
        if forget_s is not None and not 0 < forget_s < float("inf"):
            raise ConfigError(f"forget_s must be > 0 seconds, got {forget_s}")
        self.lr = float(lr)
        self.centred = bool(centred)
        self.forget_s = None if forget_s is None else float(forget_s)
        self.round_s = 2.0
        self.last_td_mae: float | None = None
        """The last update's mean absolute TD error, before centring (what a service reports)."""

    @classmethod
    def from_config(cls, config: OnlineTrainConfig) -> ResidualOnline:
        """``lr = config.lr`` (:data:`RESIDUAL_LR` when None), ``config.centred`` and
        ``config.forget_s``."""
        lr = RESIDUAL_LR if config.lr is None else config.lr
        return cls(lr, centred=config.centred, forget_s=config.forget_s)

    def update(self, outcome: RoundOutcome, value: ValueFunction) -> None:
        if not isinstance(value, ResidualValue):
            raise ConfigError(f"ResidualOnline updates a ResidualValue, got {type(value).__name__}")
        d = value.discount
        b = outcome.batch
        t = b.t
        step = self.step_s(outcome)
        if self.forget_s is not None:
            value.table *= np.exp(-step / self.forget_s)
        value.advance(t)
        sv = outcome.selected[~np.asarray(outcome.cancelled, dtype=bool)]
        n_idle = len(outcome.idle_cell)
        dur = b.pickup_s[sv] + b.trip_s[sv]
        k = d.units(dur)
        # read: every available driver now, and at its next state
        cell0 = np.concatenate((b.driver_cell[sv], outcome.idle_cell))
        lat0 = np.concatenate((b.driver_lat[sv], outcome.idle_lat))
        lng0 = np.concatenate((b.driver_lng[sv], outcome.idle_lng))
        v0 = value.value(cell0, lat0, lng0, np.full(cell0.size, t))
        # an idle driver's next state: same place, as long after as it waited since the
        # previous observed round
        v1 = value.value(
            np.concatenate((b.dest_cell[sv], outcome.idle_cell)),
            np.concatenate((b.dest_lat[sv], outcome.idle_lat)),
            np.concatenate((b.dest_lng[sv], outcome.idle_lng)),
            np.concatenate((t + dur, np.full(n_idle, t + step))),
        )
        reward = np.concatenate((discounted_reward(b.fare[sv], k, d.gamma), np.zeros(n_idle)))
        g = np.concatenate((np.power(d.gamma, k), np.full(n_idle, d.factor(step))))
        # learn
        if cell0.size:
            td = reward + g * v1 - v0
            self.last_td_mae = float(np.abs(td).mean())
            if self.centred:
                td -= td.mean()
            value.add(cell0, np.full(cell0.size, t), self.lr * td)


def residual_ensemble(
    online: ValueFunction, offline: ValueFunction, omega: float, t_s: float = 0.0
) -> None:
    """The ensemble step for :class:`~v1d3.dispatch.advantage.ValueDispatch`: ``Δ ← ω Δ`` on a
    :class:`ResidualValue` over ``offline``, :func:`parameter_ensemble` on an
    :class:`OnlineCVNetValue`, else :func:`~v1d3.learn.td.ensemble_step`."""
    if isinstance(online, ResidualValue) and online.offline is offline:
        online.blend(omega)
    elif isinstance(online, OnlineCVNetValue) and isinstance(offline, CVNetValue):
        parameter_ensemble(online, offline, omega, t_s)
    else:
        ensemble_step(online, offline, omega, t_s)


# -- neural


class NeuralOnline(OnlineLearner):
    """One Adam step per round on the population TD loss of an :class:`OnlineCVNetValue`.

    Targets as in :class:`ResidualOnline` (computed with the current net, held fixed); the loss
    is their mean squared error over the drivers, in units of the net's value scale. Idle
    drivers in one cell share a state, so they enter as one weighted row: the forward and
    backward passes cost ``O(cells + dispatched)``, not ``O(drivers)``. Still slower than the
    residual table (milliseconds per round instead of a fraction of one).
    """

    def __init__(self, lr: float = 1e-4) -> None:
        """``lr``: Adam learning rate."""
        if lr <= 0:
            raise ConfigError(f"lr must be > 0, got {lr}")
        self.lr = float(lr)
        self.round_s = 2.0
        self._opt: torch.optim.Optimizer | None = None
        self._net: Any = None

    @classmethod
    def from_config(cls, config: OnlineTrainConfig) -> NeuralOnline:
        """``lr = config.lr`` (Adam, 1e-4 when None)."""
        return cls() if config.lr is None else cls(config.lr)

    def reset(self, context: DayContext) -> None:
        super().reset(context)
        self._opt = None  # a fresh optimiser state each day

    def update(self, outcome: RoundOutcome, value: ValueFunction) -> None:
        if not isinstance(value, OnlineCVNetValue):
            raise ConfigError(
                f"NeuralOnline updates an OnlineCVNetValue, got {type(value).__name__}"
            )
        if self._opt is None or self._net is not value.net:
            self._net = value.net
            self._opt = torch.optim.Adam(value.net.parameters(), lr=self.lr)
        d = value.discount
        b = outcome.batch
        sv = outcome.selected[~np.asarray(outcome.cancelled, dtype=bool)]
        t = b.t
        # idle drivers in one cell share their state and target: one row per cell, weighted
        ic, n_ic = np.unique(np.asarray(outcome.idle_cell, dtype=np.int64), return_counts=True)
        n_drivers = sv.size + int(n_ic.sum())
        if n_drivers == 0:
            return
        dur = b.pickup_s[sv] + b.trip_s[sv]
        k = d.units(dur)
        step = self.step_s(outcome)
        # targets (no gradient): dispatched drivers, then idle cells
        with torch.no_grad():
            v1 = value.forward(
                np.concatenate((b.dest_cell[sv], ic)),
                np.concatenate((t + dur, np.full(ic.size, t + step))),
            ).numpy()
        tgt = np.concatenate(
            (
                discounted_reward(b.fare[sv], k, d.gamma) + np.power(d.gamma, k) * v1[: sv.size],
                d.factor(step) * v1[sv.size :],
            )
        )
        weight = np.concatenate((np.ones(sv.size), n_ic)) / n_drivers
        # learn: V(s) of every distinct cell at time t, one Adam step on the weighted loss
        cells = np.concatenate((np.asarray(b.driver_cell[sv], dtype=np.int64), ic))
        uc, inv = np.unique(cells, return_inverse=True)
        v0 = value.forward(uc, np.full(uc.size, t))[torch.as_tensor(inv)]
        y = torch.as_tensor(tgt, dtype=torch.float32)
        w = torch.as_tensor(weight, dtype=torch.float32)
        loss = (w * ((y - v0) / value.net.value_scale) ** 2).sum()
        self._opt.zero_grad(set_to_none=True)
        loss.backward()
        self._opt.step()


@torch.no_grad()
def parameter_ensemble(
    online: ValueFunction, offline: ValueFunction, omega: float, t_s: float = 0.0
) -> None:
    """``θ_on ← ω θ_on + (1 − ω) θ_off`` for an :class:`OnlineCVNetValue` and the
    :class:`~v1d3.value.cvnet.CVNetValue` it was copied from (same architecture)."""
    if not 0 <= omega <= 1:
        raise ConfigError(f"omega must be in [0, 1], got {omega}")
    if not isinstance(online, OnlineCVNetValue) or not isinstance(offline, CVNetValue):
        raise ConfigError("parameter_ensemble needs an OnlineCVNetValue and a CVNetValue")
    off = dict(offline.net.named_parameters())
    for name, p in online.net.named_parameters():
        p.mul_(omega).add_(off[name], alpha=1.0 - omega)
