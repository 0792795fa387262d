"""The dispatch decision contract: one round's candidate pairs in, a one-to-one matching out.

This is the public extension point for dispatching. A policy sees one
:class:`~v1d3.rounds.CandidateBatch` per 2-second round and returns the indices of the pairs it
selects; the simulator checks that no driver and no order is used twice. Policies that learn
during the day override :meth:`~DispatchPolicy.observe`. The round types themselves live in
:mod:`v1d3.rounds`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from v1d3.rounds import CandidateBatch, DayContext, RoundOutcome, RunReport

__all__ = ["DispatchPolicy"]


class DispatchPolicy(RunReport, ABC):
    """Maps one round's candidate pairs to a one-to-one matching."""

    name: ClassVar[str] = "custom"

    def reset(self, context: DayContext) -> None:  # noqa: B027 - optional hook
        """Called once before each simulated day."""

    @abstractmethod
    def dispatch(self, batch: CandidateBatch) -> np.ndarray:
        """Return the indices (into ``batch``) of the selected pairs; each driver and order once."""

    def observe(self, outcome: RoundOutcome) -> None:  # noqa: B027 - optional hook
        """Called after each round in which the policy was asked; learners override it."""

    @property
    def learns_online(self) -> bool:
        """True when :meth:`observe` is overridden (the simulator then builds outcomes)."""
        return type(self).observe is not DispatchPolicy.observe
