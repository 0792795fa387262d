"""A KDD Cup 2020 submission folder: its layout, loading its agent, and checking its record.

A submission is a folder with ``agent.py`` defining ``Agent`` (no-argument constructor) with
``dispatch(dispatch_observ)`` and ``reposition(repo_observ)``. :func:`load_agent` puts the folder
first on ``sys.path`` as the official local test did, so an agent that imports its own modules
and reads its own files relative to itself works as submitted.

A folder written by ``v1d3 export-agent`` (:mod:`v1d3.kddcup.export`) also records the policies
and the scenario it was made for (:data:`METADATA_FILE`); :func:`check_agent_scenario` refuses
to run it on another scenario. How an agent is run (its time budget) is an :class:`AgentConfig`.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from v1d3.errors import ConfigError, PolicyError, first_line
from v1d3.fields import check_fields
from v1d3.kddcup.grid import read_grid
from v1d3.options import field_doc
from v1d3.text_files import read_json

__all__ = [
    "METADATA_FILE",
    "CITY_FILE",
    "GRID_FILE",
    "MODELS_DIR",
    "AGENT_METHODS",
    "ISOLATIONS",
    "AgentConfig",
    "MIN_AGENT_PYTHON",
    "resolve_python",
    "AGENT_BUDGET_S",
    "AGENT_BUDGET_HELP",
    "load_agent",
    "unload_agents",
    "check_agent_scenario",
]

METADATA_FILE = "v1d3_agent.json"
"""An exported agent's record: policies, parameters, the scenario and simulation configs."""
CITY_FILE = "city.pkl"
"""An exported agent's city (cells, neighbours, travel model), pickled."""
GRID_FILE = "grid.csv"
"""An exported agent's city as a KDD hexagon grid table."""
MODELS_DIR = "models"
"""An exported agent's copies of the model files its policies load."""

AGENT_METHODS = ("dispatch", "reposition")
"""The methods of the official ``Agent`` API, each taking one observation."""
_MODULE = "agent"


ISOLATIONS = ("process", "none")
"""Where an agent runs: ``process``, its own process (:mod:`v1d3.kddcup.process`); ``none``,
inside the simulator's (trusted agents only, such as V1D3's own exported ones)."""


@dataclass(frozen=True)
class AgentConfig:
    """How a KDD agent is run (the ``--agent-*`` options; recorded with the run's policy)."""

    time_budget_s: float = field(default=2.0, metadata={"flag": "--agent-budget-s"})
    """Wall-clock budget of one ``dispatch`` or ``reposition`` call, seconds (the agent's own
    time on it); over it the round's answer is void."""
    isolation: str = field(default="process", metadata={"flag": "--agent-isolation"})
    """process: the agent runs in a process of its own, from a clean interpreter, so nothing it
    does can crash or change the run; none: in the simulator's process (trusted agents only, such
    as V1D3's exported ones, which then also get V1D3's extras and decide exactly as natively)."""
    python: str | None = field(default=None, metadata={"flag": "--agent-python"})
    """Interpreter of the agent's process: a virtualenv's or conda env's python with the packages
    the agent was written for (it needs only the standard library to speak to V1D3); default: the
    one running V1D3."""
    memory_mb: int = field(default=8192, metadata={"flag": "--agent-memory-mb"})
    """Address-space limit of the agent's process, MiB (RLIMIT_AS); past it its allocations fail
    and the process is restarted; 0: no limit."""
    grace_factor: float = field(default=10.0, metadata={"flag": "--agent-grace-factor"})
    """A call still unanswered after this many budgets gets the agent's process killed and
    restarted (its in-memory state is lost)."""
    max_restarts: int = field(default=5, metadata={"flag": "--agent-max-restarts"})
    """Restarts of the agent's process a run allows (after crashes, kills, running out of
    memory); one more stops the run with exit code 2."""
    start_timeout_s: float = field(default=120.0, metadata={"flag": "--agent-start-timeout-s"})
    """How long the agent's import and ``Agent()`` may take, seconds."""
    max_records: int = field(default=100, metadata={"flag": "--agent-max-records"})
    """Faults kept with their message and traceback (all faults are counted)."""
    extras: bool = field(default=True, metadata={"flag": "--no-agent-extras"})
    """Offer V1D3's extra information to agents that ask for it (``v1d3_extras = True``, as
    exported V1D3 agents do) so they decide exactly as natively; others never see it. Only an
    agent run with isolation none can get it."""

    def __post_init__(self) -> None:
        check_fields(self, "agent config")  # types, and finite numbers (inf is no budget)
        if not self.time_budget_s > 0:
            raise ConfigError(f"agent time_budget_s must be > 0 seconds, got {self.time_budget_s}")
        if self.isolation not in ISOLATIONS:
            raise ConfigError(
                f"agent isolation: expected one of {', '.join(ISOLATIONS)}, got {self.isolation!r}"
            )
        for name in ("max_records", "memory_mb", "max_restarts"):
            if getattr(self, name) < 0:
                raise ConfigError(f"agent {name} must be >= 0, got {getattr(self, name)}")
        if not self.grace_factor >= 1:
            raise ConfigError(f"agent grace_factor must be >= 1, got {self.grace_factor}")
        if not self.start_timeout_s > 0:
            raise ConfigError(f"agent start_timeout_s must be > 0, got {self.start_timeout_s}")
        if self.python is not None and self.isolation == "none":
            raise ConfigError("agent python: an agent run with isolation none uses this Python")

    @classmethod
    def from_params(cls, params: dict[str, Any], label: str) -> AgentConfig:
        """The config of a run's recorded policy parameters (``label`` names the policy in
        the one-line ConfigError an unknown parameter gets)."""
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(params) - set(names))
        if unknown:
            raise ConfigError(
                f"{label}: unknown parameter {unknown[0]!r}; expected path and {', '.join(names)}"
            )
        return cls(**params)

    def policy_params(self, path: str | Path) -> dict[str, Any]:
        """The parameters of the ``kdd-agent`` policy that runs the agent at ``path`` so: the
        folder, the budget, and the fields that differ from their defaults (a run recorded
        before a field existed reads the same)."""
        default = AgentConfig()
        changed = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) != getattr(default, f.name)
        }
        return {"path": str(path), "time_budget_s": float(self.time_budget_s), **changed}


MIN_AGENT_PYTHON = (3, 6)
"""The oldest Python the agent's side of the pipes runs on (:mod:`v1d3.kddcup.host`)."""


def resolve_python(python: str | None) -> str | None:
    """The interpreter ``python`` names (a path, relative to the current folder, or a command on
    ``PATH``), as the absolute path it reports itself (``sys.executable``: a pyenv shim or a
    wrapper script resolves to the real interpreter, which then runs anywhere). ConfigError when
    there is none or it is older than :data:`MIN_AGENT_PYTHON`."""
    if python is None:
        return None
    found = shutil.which(python) if os.sep not in python else os.path.abspath(python)
    flag = f"--agent-python {python}"
    if found is None or not os.path.isfile(found) or not os.access(found, os.X_OK):
        raise ConfigError(f"{flag}: no such interpreter (expected an executable)")
    probe = "import sys; print(sys.executable); print(sys.version_info[0], sys.version_info[1])"
    try:
        out = subprocess.run(
            [found, "-I", "-c", probe], capture_output=True, text=True, timeout=60, check=True
        ).stdout.split("\n")
        executable, version = out[0].strip(), tuple(int(v) for v in out[1].split())
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        raise ConfigError(f"{flag}: not a Python interpreter that runs here") from None
    if version < MIN_AGENT_PYTHON:
        need = ".".join(map(str, MIN_AGENT_PYTHON))
        got = ".".join(map(str, version))
        raise ConfigError(f"{flag}: Python {got}; the agent's side needs {need} or newer")
    return executable if os.path.isabs(executable) else os.path.abspath(found)


AGENT_BUDGET_S: float = AgentConfig().time_budget_s
"""The default budget of one agent call, seconds (:attr:`AgentConfig.time_budget_s`, the one
source: the runner, the policy factories, the study and the ``--agent-budget-s`` options read
it from here)."""
AGENT_BUDGET_HELP = field_doc(AgentConfig, "time_budget_s")
"""The help of the ``--agent-budget-s`` options: the docstring of ``time_budget_s``."""


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
    for method in AGENT_METHODS:
        if not callable(getattr(agent, method, None)):
            raise PolicyError(f"{path}/agent.py: Agent has no {method}(observation) method")
    return agent


# -- an exported agent's record


def check_agent_scenario(path: str | Path, scenario: Any) -> None:
    """Refuse an exported V1D3 agent that does not fit the scenario it is run on.

    An agent folder written by ``v1d3 export-agent`` records its scenario in ``v1d3_agent.json``;
    like a model checkpoint, it fits only the same scenario name and H3 resolution (on ``kdd``:
    the same grid cells). ``scenario`` is a :class:`~v1d3.demand.config.ScenarioConfig` or a
    scenario name (None: nothing to compare). Other agents (no such file) are not checked.
    Raises :class:`ConfigError` with a one-line message naming the folder.
    """
    folder = Path(path)
    record = folder / METADATA_FILE
    if scenario is None or not record.is_file():
        return
    doc = read_json(record, "exported-agent record", ConfigError)
    try:
        exported = doc["run"]["scenario"]
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
        _check_grid(folder, path, getattr(getattr(scenario, "kdd", None), "grid", None))
        return
    run_res = getattr(scenario, "h3_resolution", None)
    if res is not None and run_res is not None and res != run_res:
        raise ConfigError(
            f"{path}: agent exported for H3 resolution {res}, the scenario uses {run_res}"
        )


def _check_grid(folder: Path, path: str | Path, grid: Any) -> None:
    """On ``kdd``: the agent's grid must have exactly the cells of the scenario's grid."""
    if grid is None or not (folder / GRID_FILE).is_file():
        return
    mine = set(read_grid(folder / GRID_FILE).grid_id)
    theirs = set(read_grid(grid).grid_id)
    if mine != theirs:
        raise ConfigError(
            f"{path}: agent exported for another grid than {grid} "
            f"({len(theirs - mine)} of its {len(theirs)} cells unknown to the agent)"
        )
