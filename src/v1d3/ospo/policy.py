"""The ``ospo`` and ``grpo`` dispatch policy: score every pair, softmax per driver, match.

Each round, the network scores the round's candidate pairs (:mod:`v1d3.ospo.net`); a driver's
probabilities over its candidate orders are the softmax of their scores and of staying free,
and the round's
matching maximises the sum of the chosen pairs' probabilities (the authors' rule; docs/method.md
§13). To explore while training, Gumbel noise of temperature ``explore`` is added to the scores
first, and the rounds of a share of the day's windows (groups) are recorded for the learner
(:class:`RoundRecords`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from v1d3.dispatch.base import DispatchPolicy
from v1d3.dispatch.matching import max_weight_matching_compacted
from v1d3.ospo.config import PolicyTrainConfig, ScorerConfig
from v1d3.ospo.features import PairFeatures, segments
from v1d3.ospo.loss import FREE_SCORE
from v1d3.ospo.net import NumpyScorer
from v1d3.rounds import CandidateBatch, DayContext

__all__ = ["ScorerDispatch", "RoundRecords", "segment_softmax"]


def segment_softmax(score: np.ndarray, seg: np.ndarray, n_seg: int) -> np.ndarray:
    """Each entry's probability in the softmax of its segment (``seg``: segment 0..n−1 of
    each entry) that also holds staying free, scored :data:`~v1d3.ospo.loss.FREE_SCORE`."""
    top = np.full(n_seg, FREE_SCORE, dtype=np.float64)
    np.maximum.at(top, seg, score)
    e = np.exp(score - top[seg])
    total = np.exp(FREE_SCORE - top) + np.bincount(seg, e, minlength=n_seg)
    return e / total[seg]  # type: ignore[no-any-return]


@dataclass
class RoundRecords:
    """The recorded rounds of one rolled-out day, as growing lists of per-round arrays."""

    x: list[np.ndarray] = field(default_factory=list)
    """Raw features of the round's pairs, (pairs, features)."""
    seg: list[np.ndarray] = field(default_factory=list)
    """Each pair's driver among the round's drivers (0..n−1)."""
    n_seg: list[int] = field(default_factory=list)
    chosen: list[np.ndarray] = field(default_factory=list)
    """Indices (into the round) of the selected pairs."""
    driver: list[np.ndarray] = field(default_factory=list)
    order: list[np.ndarray] = field(default_factory=list)
    t: list[float] = field(default_factory=list)
    group: list[int] = field(default_factory=list)
    """The round's window (its samples' group)."""


class ScorerDispatch(DispatchPolicy):
    """Dispatch by a pair scorer's per-driver probabilities (see the module docstring)."""

    def __init__(
        self,
        state: dict[str, np.ndarray],
        cfg: ScorerConfig,
        name: str = "ospo",
        explore: float = 0.0,
        group_s: float = PolicyTrainConfig.group_s,
        record_groups: int = 0,
        model: dict[str, Any] | None = None,
    ) -> None:
        """``state``: the network's weights (:meth:`~v1d3.ospo.net.PairScorer.numpy_state`);
        ``explore``: Gumbel temperature on the scores; ``record_groups``: about how many
        windows of ``group_s`` seconds of a day to record, every round in them (0 = none);
        ``model``: the model file's description, kept in ``policies.json``."""
        self.name = name  # type: ignore[misc]
        self.scorer = NumpyScorer(state, cfg)
        self.cfg = cfg
        self.explore = float(explore)
        self.group_s = float(group_s)
        self.record_groups = int(record_groups)
        self.model = model or {}
        """What the model file says of itself (method, file, training days and settings)."""
        self._records = RoundRecords()
        self._keep = 0.0

    def reset(self, context: DayContext) -> None:
        self._features = PairFeatures(context.city, context.weekday)
        self._rng = context.rng
        self._records = RoundRecords()
        n_windows = max(1.0, (context.end_s - context.start_s) / self.group_s)
        self._keep = min(1.0, self.record_groups / n_windows)
        self._window = -1
        self._recording = False
        self._check_city(context)

    @property
    def records(self) -> RoundRecords:
        """The rounds recorded since the day's reset."""
        return self._records

    def _check_city(self, context: DayContext) -> None:
        """A model file's policy refuses a city it was not trained on (overridden there)."""

    def dispatch(self, batch: CandidateBatch) -> np.ndarray:
        n_drv, drv = segments(batch.driver)
        n_ord, ordr = segments(batch.order)
        x = self._features(batch, (n_drv, drv), (n_ord, ordr))
        score = self.scorer(x).astype(np.float64)
        if self.explore > 0:
            score = score + self.explore * self._rng.gumbel(size=score.size)
        prob = segment_softmax(score, drv, n_drv)
        sel = max_weight_matching_compacted(n_ord, ordr, n_drv, drv, prob)
        window = int(batch.t // self.group_s)
        if window != self._window and self._keep > 0:  # a new window: record it or not
            self._window = window
            self._recording = bool(self._rng.random() < self._keep)
        if self._recording:
            rec = self._records
            rec.x.append(x.T.copy())
            rec.seg.append(drv.astype(np.int32))
            rec.n_seg.append(n_drv)
            rec.chosen.append(sel.astype(np.int32))
            rec.driver.append(batch.driver[sel])
            rec.order.append(batch.order[sel])
            rec.t.append(batch.t)
            rec.group.append(window)
        return sel
