"""A KDD Cup 2020 agent as a pair of V1D3 policies, its faults contained and counted.

:class:`KddAgentPolicy` adapts one agent as a pair of policies, a
:class:`~v1d3.dispatch.base.DispatchPolicy` and a :class:`~v1d3.reposition.base.RepositionPolicy`
(``d, r = KddAgentPolicy(agent)``). The agent runs in a process of its own
(:class:`~v1d3.kddcup.process.AgentProcess`, the default: :func:`open_agent`) or, for trusted
agents, in this one (:class:`InProcessAgent`). Either way it gets plain lists and dicts with
exactly the official keys, built by the same code (:mod:`v1d3.kddcup.host`), and its answer is
made plain and checked by the same code, so an agent decides and is judged the same in both. An
agent in this process that declares ``v1d3_extras = True`` (exported V1D3 agents do) gets the
observations in containers that also carry V1D3's ``extras`` (see
:mod:`v1d3.kddcup.observation`), so it can decide exactly as natively.

Faults are contained the way the competition contained them: an exception, an unreadable answer
or a call over the time budget voids that round's answer; a malformed entry, a pair that is not
a candidate, or a driver or order used twice voids only that entry. An agent in its own process
is also pre-empted: a call unanswered after the grace period gets the process killed (``hung``),
and a process that dies (``crash``) or runs out of memory (``memory``) is replaced, the run going
on. Every fault is counted by kind (:attr:`KddAgentPolicy.faults`) and logged with the agent's
traceback. A finished run gets the counts in its metrics and the records (and the agent's output
tails) in its log's meta, through the policies' run hooks (:meth:`KddAgentPolicy.run_metrics`).

:func:`make_agent_dispatch` and :func:`make_agent_reposition` are the policy registry's
factories of ``kdd-agent`` (:mod:`v1d3.policies`).
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import time
import traceback
import typing
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from v1d3.dispatch.base import DispatchPolicy
from v1d3.errors import ConfigError, first_line
from v1d3.kddcup import host
from v1d3.kddcup.kdd_source import reference_epoch
from v1d3.kddcup.observation import (
    AgentRequest,
    Parsed,
    dispatch_extras,
    dispatch_request,
    parse_dispatch_answer,
    parse_reposition_answer,
    reposition_extras,
    reposition_request,
    with_extras,
)
from v1d3.kddcup.process import AgentProcess, Reply
from v1d3.kddcup.submission import (
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
    "InProcessAgent",
    "KddAgentPolicy",
    "open_agent",
    "AgentDispatch",
    "AgentReposition",
    "make_agent_dispatch",
    "make_agent_reposition",
]

log = logging.getLogger(__name__)

AGENT_POLICY = "kdd-agent"
"""Policy name recorded in a run's config for both decisions of a KDD agent run."""
FAULT_KINDS = (
    "exception",
    "timeout",
    "malformed",
    "non_candidate",
    "duplicate",
    "unknown_cell",
    "crash",
    "hung",
    "memory",
)
"""Kinds of agent faults, counted per method (``dispatch``, ``reposition``). The last three end
the agent's process (it is restarted): ``crash``, it died or raised a ``BaseException``;
``hung``, no answer within the grace period; ``memory``, out of its address space."""


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
            # info, not warning: the run's summary counts them and log_meta.json keeps them, so
            # that an agent failing every round cannot flood the user's terminal
            log.info(
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


class InProcessAgent:
    """An agent object called in the simulator's own process (isolation ``none``): faults are
    contained, side effects are not (trusted agents only)."""

    def __init__(self, agent: Any, config: AgentConfig) -> None:
        self.agent = agent
        self.config = config

    @property
    def wants_extras(self) -> bool:
        """Whether the agent gets V1D3's extras (it declares ``v1d3_extras = True``)."""
        return self.config.extras and bool(getattr(self.agent, "v1d3_extras", False))

    def call(self, request: AgentRequest, extras: Callable[[], Any] | None = None) -> Reply:
        """Ask the agent (``extras``: the observation's extras, for an agent that wants them)."""
        observ = request.observation()
        if extras is not None and self.wants_extras:
            observ = with_extras(observ, extras())
        fn: Callable[[Any], Any] = getattr(self.agent, request.method)
        tic = time.perf_counter()
        try:
            answer = fn(observ)
        except MemoryError:
            return Reply("memory", message="MemoryError")
        except Exception as e:
            return Reply("exception", message=first_line(e, typed=True), traceback=_tb())
        try:  # timed too: reading an answer may run the agent's code (a lazy __iter__)
            plain = host.plain_answer(answer, request.method)
        except host.AnswerError as e:
            return Reply("malformed", message=str(e))
        except Exception as e:  # the answer's own methods raised
            return Reply("malformed", message=f"answer unreadable: {first_line(e, typed=True)}")
        return Reply("ok", answer=plain, took_s=time.perf_counter() - tic)

    def output(self) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        pass


def _tb() -> str:
    return traceback.format_exc()[-host.TRACEBACK_CHARS :]


class KddAgentPolicy:
    """One KDD Cup agent as a pair of V1D3 policies sharing the agent.

    ``agent`` is an :class:`~v1d3.kddcup.process.AgentProcess` (the agent in its own process)
    or an agent object, called in this process. Pass :attr:`dispatch_policy` and
    :attr:`reposition_policy` to the simulator (or unpack: ``d, r = KddAgentPolicy(agent)``);
    faults of both land in :attr:`faults`. :meth:`close` ends the agent's process.
    """

    def __init__(self, agent: Any, label: str = "agent", config: AgentConfig | None = None) -> None:
        self.agent = agent
        self.label = label
        self.config = config if config is not None else AgentConfig()
        self.runner: AgentProcess | InProcessAgent = (
            agent if isinstance(agent, AgentProcess) else InProcessAgent(agent, self.config)
        )
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
        """Whether the agent gets V1D3's extras (run in this process and asking for them)."""
        return isinstance(self.runner, InProcessAgent) and self.runner.wants_extras

    def _extras(self, extras: dict[str, Any]) -> dict[str, Any]:
        feedback, self._feedback = self._feedback, None
        day = (self._contexts.get("dispatch"), self._contexts.get("reposition"))
        return {**extras, "day": day, "feedback": feedback}

    def _call(
        self, t: float, request: AgentRequest, extras: Callable[[], dict[str, Any]]
    ) -> tuple[bool, Any]:
        method = request.method
        if isinstance(self.runner, InProcessAgent):
            reply = self.runner.call(request, lambda: self._extras(extras()))
        else:
            reply = self.runner.call(request)
        if reply.status != "ok":
            self.faults.add(t, method, reply.status, 1, reply.message, reply.traceback)
            return False, None
        budget = self.config.time_budget_s
        if reply.took_s > budget:
            msg = f"took {reply.took_s:.3f} s, over the {budget:g} s budget; answer void"
            self.faults.add(t, method, "timeout", 1, msg)
            return False, None
        return True, reply.answer

    def _count(self, method: str, t: float, parsed: Parsed) -> None:
        for kind, n in parsed.faults.items():
            msg = "; ".join(parsed.messages) if parsed.messages else kind
            self.faults.add(t, method, kind, n, msg)

    def dispatch(self, batch: CandidateBatch) -> np.ndarray:
        """Ask the agent; the valid part of its matching (nothing on a round fault)."""
        request = dispatch_request(batch, self.epoch_s)
        ok, answer = self._call(batch.t, request, lambda: dispatch_extras(batch))
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
        request = reposition_request(batch, city, self.epoch_s)
        ok, answer = self._call(batch.t, request, lambda: reposition_extras(batch))
        if not ok:
            return np.asarray(batch.cell, dtype=np.int64).copy()
        parsed = parse_reposition_answer(answer, batch, city)
        self._count("reposition", batch.t, parsed)
        return parsed.value

    def run_metrics(self) -> dict[str, Any]:
        """What a finished run adds to its metrics: ``agent_faults`` (counts by method and
        kind, the restarts of the agent's process, and the faults' total) and
        ``agent_fault_count`` (the total, a scalar for study tables). Both halves answer the
        same."""
        return {"agent_faults": self._fault_counts(), "agent_fault_count": self.faults.total}

    def _fault_counts(self) -> dict[str, Any]:
        restarts = self.runner.restarts if isinstance(self.runner, AgentProcess) else 0
        return {**self.faults.as_dict(), "restarts": restarts}

    def run_meta(self) -> dict[str, Any]:
        """What a finished run adds to its log's meta: ``agent_faults`` (as in the metrics),
        ``agent_fault_log`` (the kept records, tracebacks included) and, for an agent in its
        own process, ``agent_output`` (its interpreter, and the tails of its stdout and
        stderr)."""
        meta = {"agent_faults": self._fault_counts(), "agent_fault_log": self.faults.log_records()}
        output = self.runner.output()
        return {**meta, "agent_output": output} if output else meta

    def close(self) -> None:
        """End the agent's process (nothing for an agent in this process)."""
        self.runner.close()


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

    def close(self) -> None:
        self.owner.close()


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

    def close(self) -> None:
        self.owner.close()


# -- making one


def open_agent(path: str | Path, config: AgentConfig | None = None) -> KddAgentPolicy:
    """The agent of submission folder ``path`` as a policy pair, started as ``config`` says:
    in its own process (:class:`~v1d3.kddcup.process.AgentProcess`) or, with isolation
    ``none``, imported here (:func:`~v1d3.kddcup.submission.load_agent`). An agent that cannot
    start is a one-line ConfigError or PolicyError naming the folder."""
    config = config if config is not None else AgentConfig()
    if config.isolation == "none":
        return KddAgentPolicy(load_agent(path), str(path), config)
    folder = Path(path)
    if not folder.is_dir():
        raise ConfigError(f"{path}: agent folder not found; expected a folder with agent.py")
    if not (folder / "agent.py").is_file():
        raise ConfigError(f"{path}: no agent.py in the agent folder")
    return KddAgentPolicy(AgentProcess(folder, config), str(path), config)


# -- the registry's factories


def _with_config_params(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` announcing a keyword parameter for every :class:`AgentConfig` field in place of
    its ``**config``, so that the registry checks a policy's parameters by name and type against
    the config itself (an unknown one is a ConfigError naming the policy)."""
    sig = inspect.signature(fn)
    hints = typing.get_type_hints(AgentConfig)
    fields = [
        inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default)
        for f in dataclasses.fields(AgentConfig)
    ]
    own = [p for p in sig.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    fn.__signature__ = sig.replace(parameters=[*own, *fields])  # type: ignore[attr-defined]
    fn.__annotations__ = {**fn.__annotations__, **{f.name: hints[f.name] for f in fields}}
    return fn


@_with_config_params
def make_agent_dispatch(
    models: Path | None = None,
    scenario: Any = None,
    dispatch: Any = None,
    path: str | None = None,
    **config: Any,
) -> AgentDispatch:
    """A KDD Cup 2020 agent's dispatch (path=FOLDER and the agent config's fields, e.g.
    time_budget_s; or: v1d3 simulate --agent FOLDER)."""
    if path is None:
        raise ConfigError("dispatch policy kdd-agent needs path=<agent folder>")
    check_agent_scenario(path, scenario)
    cfg = AgentConfig.from_params(config, "dispatch policy 'kdd-agent'")
    return open_agent(path, cfg).dispatch_policy


@_with_config_params
def make_agent_reposition(
    models: Path | None = None,
    scenario: Any = None,
    dispatch: Any = None,
    path: str | None = None,
    **config: Any,
) -> AgentReposition:
    """A KDD Cup 2020 agent's repositioning (the dispatch policy's agent, or path=FOLDER)."""
    if isinstance(dispatch, AgentDispatch) and (path is None or str(path) == dispatch.owner.label):
        return dispatch.owner.reposition_policy
    if path is None:
        raise ConfigError("reposition policy kdd-agent needs path=<agent folder>")
    check_agent_scenario(path, scenario)
    cfg = AgentConfig.from_params(config, "reposition policy 'kdd-agent'")
    return open_agent(path, cfg).reposition_policy
