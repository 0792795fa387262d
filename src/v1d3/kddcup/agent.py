"""Run any KDD Cup 2020 agent unmodified: load its submission folder, adapt it, contain its faults.

A submission is a folder with ``agent.py`` defining ``Agent`` (no-argument constructor) with
``dispatch(dispatch_observ)`` and ``reposition(repo_observ)``. :func:`load_agent` puts the folder
first on ``sys.path`` as the official local test did, so an agent that imports its own modules
and reads its own files relative to itself works as submitted.

:class:`KddAgentPolicy` adapts one agent instance as a pair of policies, a
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
answer is then discarded.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import logging
import os
import re
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from v1d3.dispatch.base import CandidateBatch, DayContext, DispatchPolicy, RoundOutcome
from v1d3.errors import ConfigError, PolicyError, first_line
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
from v1d3.reposition.base import RepositionBatch, RepositionPolicy

if TYPE_CHECKING:
    from v1d3.eval.run import RunConfig, RunResult
    from v1d3.sim.scenario import Scenario

__all__ = [
    "AGENT_POLICY",
    "FAULT_KINDS",
    "AgentConfig",
    "FaultRecord",
    "AgentFaults",
    "KddAgentPolicy",
    "AgentDispatch",
    "AgentReposition",
    "load_agent",
    "unload_agents",
    "make_agent_dispatch",
    "make_agent_reposition",
    "agent_policy_name",
    "agent_run_config",
    "check_agent_scenario",
    "run_agent",
    "record_faults",
    "parse_agent_option",
]

log = logging.getLogger(__name__)

AGENT_POLICY = "kdd-agent"
"""Policy name recorded in a run's config for both decisions of a KDD agent run."""
FAULT_KINDS = ("exception", "timeout", "malformed", "non_candidate", "duplicate", "unknown_cell")
"""Kinds of agent faults, counted per method (``dispatch``, ``reposition``)."""
_METHODS = ("dispatch", "reposition")
_MODULE = "agent"


@dataclass(frozen=True)
class AgentConfig:
    """How a KDD agent is run."""

    time_budget_s: float = 2.0
    """Wall-clock budget of one ``dispatch`` or ``reposition`` call, seconds; over it the
    round's answer is void."""
    max_records: int = 100
    """Faults kept with their message and traceback (all faults are counted)."""
    extras: bool = True
    """Offer V1D3's extra information to agents that ask for it (``v1d3_extras = True``, as
    exported V1D3 agents do) so they decide exactly as natively; others never see it."""

    def __post_init__(self) -> None:
        if not self.time_budget_s > 0:
            raise ConfigError(f"agent time_budget_s must be > 0 seconds, got {self.time_budget_s}")
        if self.max_records < 0:
            raise ConfigError(f"agent max_records must be >= 0, got {self.max_records}")


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
            m: {k: int(self.counts[(m, k)]) for k in FAULT_KINDS} for m in _METHODS
        }
        out["total"] = self.total
        return out

    def log_records(self) -> list[dict[str, Any]]:
        """The kept records as JSON-ready dicts."""
        return [dataclasses.asdict(r) for r in self.records]


# -- loading


_LOADED: set[str] = set()
"""Agent folders imported so far in this process (their modules are purged on the next load)."""


def _purge_agent_modules(folders: set[str]) -> None:
    prefixes = tuple(f.rstrip(os.sep) + os.sep for f in folders)
    for name, mod in list(sys.modules.items()):
        path = getattr(mod, "__file__", None)
        if name.partition(".")[0] == "v1d3":
            continue  # never ours, even when an agent folder encloses the package
        if name == _MODULE or (path and os.path.realpath(path).startswith(prefixes)):
            del sys.modules[name]
    sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") not in folders]


def unload_agents() -> None:
    """Forget every loaded agent's modules and take their folders off ``sys.path``."""
    _purge_agent_modules(set(_LOADED))
    _LOADED.clear()


def load_agent(path: str | Path) -> Any:
    """Import ``agent.py`` of a submission folder and construct its ``Agent()``.

    The folder goes first on ``sys.path``; modules of previously loaded agent folders are
    forgotten first, so each load gets a fresh import (and two agents may have modules of the
    same name). Raises :class:`ConfigError` when the folder or file is missing and
    :class:`PolicyError` when the import or the constructor fails, with a one-line message.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise ConfigError(f"{path}: agent folder not found; expected a folder with agent.py")
    if not (folder / "agent.py").is_file():
        raise ConfigError(f"{path}: no agent.py in the agent folder")
    real = os.path.realpath(folder)
    _purge_agent_modules(_LOADED | {real})
    _LOADED.add(real)
    sys.path.insert(0, real)
    importlib.invalidate_caches()
    try:
        module = importlib.import_module(_MODULE)
    except Exception as e:
        raise PolicyError(f"{path}/agent.py: import failed ({first_line(e, typed=True)})") from None
    cls = getattr(module, "Agent", None)
    if not callable(cls):
        raise PolicyError(f"{path}/agent.py: defines no Agent class")
    try:
        agent = cls()
    except Exception as e:
        raise PolicyError(
            f"{path}/agent.py: Agent() failed ({first_line(e, typed=True)})"
        ) from None
    for method in _METHODS:
        if not callable(getattr(agent, method, None)):
            raise PolicyError(f"{path}/agent.py: Agent has no {method}(observation) method")
    return agent


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


class AgentDispatch(DispatchPolicy):
    """The dispatch half of a :class:`KddAgentPolicy`."""

    name = AGENT_POLICY

    def __init__(self, owner: KddAgentPolicy) -> None:
        self.owner = owner

    @property
    def agent_faults(self) -> AgentFaults:
        """The agent's faults (both halves)."""
        return self.owner.faults

    def reset(self, context: DayContext) -> None:
        self.owner._reset("dispatch", context)

    def dispatch(self, batch: CandidateBatch) -> np.ndarray:
        return self.owner.dispatch(batch)

    def observe(self, outcome: RoundOutcome) -> None:
        self.owner.observe(outcome)


class AgentReposition(RepositionPolicy):
    """The repositioning half of a :class:`KddAgentPolicy`."""

    name = AGENT_POLICY

    def __init__(self, owner: KddAgentPolicy) -> None:
        self.owner = owner

    @property
    def agent_faults(self) -> AgentFaults:
        """The agent's faults (both halves)."""
        return self.owner.faults

    def reset(self, context: DayContext) -> None:
        super().reset(context)
        self.owner._reset("reposition", context)

    def reposition(self, batch: RepositionBatch) -> np.ndarray:
        return self.owner.reposition(batch)


# -- running (helpers for the CLI and the policy registry)


def make_agent_dispatch(
    models: Path | None = None,
    scenario: Any = None,
    dispatch: Any = None,
    path: str | None = None,
    time_budget_s: float = 2.0,
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
    time_budget_s: float = 2.0,
) -> AgentReposition:
    """A KDD Cup 2020 agent's repositioning (the dispatch policy's agent, or path=FOLDER)."""
    if isinstance(dispatch, AgentDispatch) and (path is None or str(path) == dispatch.owner.label):
        return dispatch.owner.reposition_policy
    if path is None:
        raise ConfigError("reposition policy kdd-agent needs path=<agent folder>")
    check_agent_scenario(path, scenario)
    return KddAgentPolicy(load_agent(path), str(path), AgentConfig(time_budget_s)).reposition_policy


def agent_policy_name(label: str | None = None) -> str:
    """``kdd-agent`` or ``kdd-agent:<label>`` (the label tells agents of one study apart)."""
    return AGENT_POLICY if not label else f"{AGENT_POLICY}:{label}"


def agent_run_config(
    cfg: RunConfig, path: str | Path, time_budget_s: float = 2.0, label: str | None = None
) -> RunConfig:
    """The run config that records an agent run: both policies ``kdd-agent[:label]``, the
    folder and budget as dispatch parameters."""
    name = agent_policy_name(label)
    return dataclasses.replace(
        cfg,
        dispatch=name,
        reposition=name,
        dispatch_params={"path": str(path), "time_budget_s": float(time_budget_s)},
        reposition_params={},
    )


def record_faults(result: RunResult, faults: AgentFaults) -> RunResult:
    """Add an agent's faults to a finished run: ``metrics["agent_faults"]`` (counts by method
    and kind), ``metrics["agent_fault_count"]`` (their total, a scalar for study tables) and
    ``log.meta["agent_faults"]``/``log.meta["agent_fault_log"]`` (records with tracebacks)."""
    result.metrics["agent_faults"] = faults.as_dict()
    result.metrics["agent_fault_count"] = faults.total
    result.log.meta["agent_faults"] = faults.as_dict()
    result.log.meta["agent_fault_log"] = faults.log_records()
    return result


def run_agent(
    cfg: RunConfig,
    path: str | Path,
    time_budget_s: float = 2.0,
    label: str | None = None,
    scenario: Scenario | None = None,
    progress: Callable[[float, int], None] | None = None,
    check: bool = True,
    config: AgentConfig | None = None,
) -> RunResult:
    """Run one day with the KDD agent at ``path`` deciding both dispatch and repositioning.

    The agent is loaded fresh (a new import and a new ``Agent()``), so runs do not share state.
    ``config`` overrides ``time_budget_s`` with a full :class:`AgentConfig`.
    """
    from v1d3.eval.run import run_simulation

    config = config or AgentConfig(time_budget_s)
    check_agent_scenario(path, cfg.scenario)  # the policies are given, not made by name
    policy = KddAgentPolicy(load_agent(path), str(path), config)
    result = run_simulation(
        agent_run_config(cfg, path, config.time_budget_s, label),
        scenario=scenario,
        dispatch=policy.dispatch_policy,
        reposition=policy.reposition_policy,
        progress=progress,
        check=check,
    )
    if "agent_faults" not in result.metrics:  # run_simulation may record them itself
        record_faults(result, policy.faults)
    return result


def check_agent_scenario(path: str | Path, scenario: Any) -> None:
    """Refuse an exported V1D3 agent that does not fit the scenario it is run on.

    An agent folder written by ``v1d3 export-agent`` records its scenario in ``v1d3_agent.json``;
    like a model checkpoint, it fits only the same scenario name and H3 resolution (on ``kdd``:
    the same grid cells). ``scenario`` is a :class:`~v1d3.sim.scenario.ScenarioConfig` or a
    scenario name (None: nothing to compare). Other agents (no such file) are not checked.
    Raises :class:`ConfigError` with a one-line message naming the folder.
    """
    from v1d3.kddcup.export import GRID_FILE, METADATA_FILE

    folder = Path(path)
    record = folder / METADATA_FILE
    if scenario is None or not record.is_file():
        return
    try:
        exported = json.loads(record.read_text())["run"]["scenario"]
        name = exported["name"]
        res = exported.get("h3_resolution")
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ConfigError(
            f"{record}: not a readable exported-agent record ({first_line(e, typed=True)})"
        ) from None
    want = scenario if isinstance(scenario, str) else getattr(scenario, "name", None)
    if want is None:
        return
    if name != want:
        raise ConfigError(
            f"{path}: agent exported for scenario {name!r}, not {want!r}; export it with: "
            f"v1d3 export-agent OUT --scenario {want} ..."
        )
    if isinstance(scenario, str):
        return
    if want == "kdd":
        grid = getattr(getattr(scenario, "kdd", None), "grid", None)
        if grid is not None and (folder / GRID_FILE).is_file():
            from v1d3.kddcup.grid import read_grid

            mine = set(read_grid(folder / GRID_FILE).grid_id)
            theirs = set(read_grid(grid).grid_id)
            if mine != theirs:
                raise ConfigError(
                    f"{path}: agent exported for another grid than {grid} "
                    f"({len(theirs - mine)} of its {len(theirs)} cells unknown to the agent)"
                )
        return
    run_res = getattr(scenario, "h3_resolution", None)
    if res is not None and run_res is not None and res != run_res:
        raise ConfigError(
            f"{path}: agent exported for H3 resolution {res}, the scenario uses {run_res}"
        )


def parse_agent_option(spec: str) -> tuple[str, str]:
    """``NAME=PATH`` → ``(NAME, PATH)``; a bare ``PATH`` is named after its folder."""
    name, sep, path = spec.partition("=")
    if not sep:
        path = spec
        name = Path(spec.rstrip("/\\")).name
    if not path or not re.fullmatch(r"[A-Za-z0-9._-]+", name):
        raise ConfigError(
            f"--agent {spec!r}: expected NAME=PATH (NAME: letters, digits, . _ -; "
            "PATH: a KDD agent folder)"
        )
    return name, path
