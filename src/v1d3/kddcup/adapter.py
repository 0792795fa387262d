"""A KDD Cup 2020 agent as a pair of V1D3 policies, its faults contained and counted.

:class:`KddAgentPolicy` adapts one agent instance (loaded by
:func:`v1d3.kddcup.submission.load_agent`) as a pair of policies, a
:class:`~v1d3.dispatch.base.DispatchPolicy` and a :class:`~v1d3.reposition.base.RepositionPolicy`
(``d, r = KddAgentPolicy(agent)``). Agents get plain lists and dicts with exactly the official
keys; an agent that declares ``v1d3_extras = True`` (exported V1D3 agents do) gets them in
containers that also carry V1D3's ``extras`` (see :mod:`v1d3.kddcup.observation`), so it can
decide exactly as natively.

Faults are contained the way the competition contained them: an exception or a call over the
time budget voids that round's answer; a malformed entry, a pair that is not a candidate, or a
driver or order used twice voids only that entry. Every fault is counted by kind
(:attr:`KddAgentPolicy.faults`) and logged with the agent's traceback; the simulation goes on.
A call cannot be pre-empted safely in-process, so an over-budget call runs to its end and its
answer is then discarded. A finished run gets the counts in its metrics and the records in its
log's meta, through the policies' run hooks (:meth:`KddAgentPolicy.run_metrics`).

:func:`make_agent_dispatch` and :func:`make_agent_reposition` are the policy registry's
factories of ``kdd-agent`` (:mod:`v1d3.policies`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from v1d3.dispatch.base import DispatchPolicy
from v1d3.errors import ConfigError, first_line
from v1d3.kddcup.kdd_source import reference_epoch
from v1d3.kddcup.observation import (
    Parsed,
    dispatch_extras,
    dispatch_observation,
    parse_dispatch_answer,
    parse_reposition_answer,
    reposition_extras,
    reposition_observation,
    with_extras,
)
from v1d3.kddcup.submission import (
    AGENT_BUDGET_S,
    AGENT_METHODS,
    AgentConfig,
    check_agent_scenario,
    load_agent,
)
from v1d3.reposition.base import RepositionBatch, RepositionPolicy
from v1d3.rounds import CandidateBatch, DayContext, RoundOutcome

__all__ = [
    "AGENT_POLICY",
    "FAULT_KINDS",
    "FaultRecord",
    "AgentFaults",
    "KddAgentPolicy",
    "AgentDispatch",
    "AgentReposition",
    "make_agent_dispatch",
    "make_agent_reposition",
]

log = logging.getLogger(__name__)

AGENT_POLICY = "kdd-agent"
"""Policy name recorded in a run's config for both decisions of a KDD agent run."""
FAULT_KINDS = ("exception", "timeout", "malformed", "non_candidate", "duplicate", "unknown_cell")
"""Kinds of agent faults, counted per method (``dispatch``, ``reposition``)."""


@dataclass(frozen=True)
class FaultRecord:
    """One contained agent fault."""

    t_s: float
    """Simulated clock of the call, seconds after midnight."""
    method: str
    """``dispatch`` or ``reposition``."""
    kind: str
    """One of :data:`FAULT_KINDS`."""
    count: int
    """Entries voided (1 for a whole-round fault)."""
    message: str
    traceback: str | None = None
    """The agent's traceback (exceptions only)."""


@dataclass
class AgentFaults:
    """Fault counts by ``(method, kind)`` and the first records in full."""

    max_records: int = 100
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    records: list[FaultRecord] = field(default_factory=list)

    def add(
        self, t: float, method: str, kind: str, count: int, message: str, tb: str | None = None
    ) -> None:
        self.counts[(method, kind)] += count
        if len(self.records) < self.max_records:
            self.records.append(FaultRecord(t, method, kind, count, message, tb))
            log.warning(
                "agent %s fault (%s) at t=%.0f s: %s%s",
                method,
                kind,
                t,
                message,
                f"\n{tb}" if tb else "",
            )

    @property
    def total(self) -> int:
        return int(sum(self.counts.values()))

    def as_dict(self) -> dict[str, Any]:
        """Stable summary for ``metrics.json``: every kind of both methods, and the total."""
        out: dict[str, Any] = {
            m: {k: int(self.counts[(m, k)]) for k in FAULT_KINDS} for m in AGENT_METHODS
        }
        out["total"] = self.total
        return out

    def log_records(self) -> list[dict[str, Any]]:
        """The kept records as JSON-ready dicts."""
        return [dataclasses.asdict(r) for r in self.records]


# -- the adapter


class KddAgentPolicy:
    """One KDD Cup agent as a pair of V1D3 policies sharing the agent instance.

    Pass :attr:`dispatch_policy` and :attr:`reposition_policy` to the simulator (or unpack:
    ``d, r = KddAgentPolicy(agent)``); faults of both land in :attr:`faults`.
    """

    def __init__(self, agent: Any, label: str = "agent", config: AgentConfig | None = None) -> None:
        self.agent = agent
        self.label = label
        self.config = config if config is not None else AgentConfig()
        self.faults = AgentFaults(self.config.max_records)
        self.dispatch_policy = AgentDispatch(self)
        self.reposition_policy = AgentReposition(self)
        self.epoch_s = 0.0
        """Unix time of the simulated day's midnight as the agent sees it."""
        self._contexts: dict[str, DayContext] = {}
        self._feedback: dict[str, Any] | None = None

    def __iter__(self) -> Iterator[DispatchPolicy | RepositionPolicy]:
        return iter((self.dispatch_policy, self.reposition_policy))

    def _reset(self, role: str, context: DayContext) -> None:
        self._contexts[role] = context
        self._feedback = None
        epoch = context.epoch_s
        self.epoch_s = float(epoch) if epoch else float(reference_epoch(context.weekday))

    @property
    def wants_extras(self) -> bool:
        """Whether the agent gets V1D3's extras (it declares ``v1d3_extras = True``)."""
        return self.config.extras and bool(getattr(self.agent, "v1d3_extras", False))

    def _with_extras(self, observ: Any, extras: dict[str, Any]) -> Any:
        if not self.wants_extras:
            return observ
        feedback, self._feedback = self._feedback, None
        day = (self._contexts.get("dispatch"), self._contexts.get("reposition"))
        return with_extras(observ, {**extras, "day": day, "feedback": feedback})

    def _call(self, method: str, t: float, observ: Any) -> tuple[bool, Any]:
        fn: Callable[[Any], Any] = getattr(self.agent, method)
        tic = time.perf_counter()
        try:
            answer = fn(observ)
        except Exception as e:
            self.faults.add(
                t, method, "exception", 1, first_line(e, typed=True), traceback.format_exc()
            )
            return False, None
        took = time.perf_counter() - tic
        if took > self.config.time_budget_s:
            budget = self.config.time_budget_s
            msg = f"took {took:.3f} s, over the {budget:g} s budget; answer void"
            self.faults.add(t, method, "timeout", 1, msg)
            return False, None
        return True, answer

    def _count(self, method: str, t: float, parsed: Parsed) -> None:
        for kind, n in parsed.faults.items():
            msg = "; ".join(parsed.messages) if parsed.messages else kind
            self.faults.add(t, method, kind, n, msg)

    def dispatch(self, batch: CandidateBatch) -> np.ndarray:
        """Ask the agent; the valid part of its matching (nothing on a round fault)."""
        observ = self._with_extras(
            dispatch_observation(batch, self.epoch_s), dispatch_extras(batch)
        )
        ok, answer = self._call("dispatch", batch.t, observ)
        if not ok:
            return np.zeros(0, dtype=np.int64)
        parsed = parse_dispatch_answer(answer, batch)
        self._count("dispatch", batch.t, parsed)
        return parsed.value

    def observe(self, outcome: RoundOutcome) -> None:
        """Keep the round's outcome for the next call's extras (agents learn from it there)."""
        if self.wants_extras:
            self._feedback = {
                f.name: getattr(outcome, f.name)
                for f in dataclasses.fields(outcome)
                if f.name != "batch"
            }

    def reposition(self, batch: RepositionBatch) -> np.ndarray:
        """Ask the agent; drivers without a valid destination stay."""
        city = self._contexts["reposition"].city
        observ = self._with_extras(
            reposition_observation(batch, city, self.epoch_s), reposition_extras(batch)
        )
        ok, answer = self._call("reposition", batch.t, observ)
        if not ok:
            return np.asarray(batch.cell, dtype=np.int64).copy()
        parsed = parse_reposition_answer(answer, batch, city)
        self._count("reposition", batch.t, parsed)
        return parsed.value

    def run_metrics(self) -> dict[str, Any]:
        """What a finished run adds to its metrics: ``agent_faults`` (counts by method and
        kind, and their total) and ``agent_fault_count`` (the total, a scalar for study
        tables). Both halves answer the same."""
        return {"agent_faults": self.faults.as_dict(), "agent_fault_count": self.faults.total}

    def run_meta(self) -> dict[str, Any]:
        """What a finished run adds to its log's meta: ``agent_faults`` (as in the metrics)
        and ``agent_fault_log`` (the kept records, tracebacks included)."""
        return {"agent_faults": self.faults.as_dict(), "agent_fault_log": self.faults.log_records()}


class AgentDispatch(DispatchPolicy):
    """The dispatch half of a :class:`KddAgentPolicy`."""

    name = AGENT_POLICY

    def __init__(self, owner: KddAgentPolicy) -> None:
        self.owner = owner

    def reset(self, context: DayContext) -> None:
        self.owner._reset("dispatch", context)

    def dispatch(self, batch: CandidateBatch) -> np.ndarray:
        return self.owner.dispatch(batch)

    def observe(self, outcome: RoundOutcome) -> None:
        self.owner.observe(outcome)

    def run_metrics(self) -> dict[str, Any]:
        return self.owner.run_metrics()

    def run_meta(self) -> dict[str, Any]:
        return self.owner.run_meta()


class AgentReposition(RepositionPolicy):
    """The repositioning half of a :class:`KddAgentPolicy`."""

    name = AGENT_POLICY

    def __init__(self, owner: KddAgentPolicy) -> None:
        self.owner = owner

    def reset(self, context: DayContext) -> None:
        super().reset(context)
        self.owner._reset("reposition", context)

    def reposition(self, batch: RepositionBatch) -> np.ndarray:
        return self.owner.reposition(batch)

    def run_metrics(self) -> dict[str, Any]:
        return self.owner.run_metrics()

    def run_meta(self) -> dict[str, Any]:
        return self.owner.run_meta()


# -- the registry's factories


def make_agent_dispatch(
    models: Path | None = None,
    scenario: Any = None,
    dispatch: Any = None,
    path: str | None = None,
    time_budget_s: float = AGENT_BUDGET_S,
) -> AgentDispatch:
    """A KDD Cup 2020 agent's dispatch (path=FOLDER; or: v1d3 simulate --agent FOLDER)."""
    if path is None:
        raise ConfigError("dispatch policy kdd-agent needs path=<agent folder>")
    check_agent_scenario(path, scenario)
    return KddAgentPolicy(load_agent(path), str(path), AgentConfig(time_budget_s)).dispatch_policy


def make_agent_reposition(
    models: Path | None = None,
    scenario: Any = None,
    dispatch: Any = None,
    path: str | None = None,
    time_budget_s: float = AGENT_BUDGET_S,
) -> AgentReposition:
    """A KDD Cup 2020 agent's repositioning (the dispatch policy's agent, or path=FOLDER)."""
    if isinstance(dispatch, AgentDispatch) and (path is None or str(path) == dispatch.owner.label):
        return dispatch.owner.reposition_policy
    if path is None:
        raise ConfigError("reposition policy kdd-agent needs path=<agent folder>")
    check_agent_scenario(path, scenario)
    return KddAgentPolicy(load_agent(path), str(path), AgentConfig(time_budget_s)).reposition_policy
