"""Running a KDD Cup 2020 agent for a day: the run config that records it, and ``--agent``.

:func:`run_agent` starts a submission folder's agent fresh and runs one day with it deciding
both dispatch and repositioning; :func:`agent_run_config` is how such a run is recorded (both
policies ``kdd-agent[:label]``, the folder and budget as parameters), so that the run folder's
``config.json`` reproduces it by name. :func:`parse_agent_option` reads the CLI's
``--agent NAME=PATH``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path

from v1d3.errors import ConfigError
from v1d3.eval.config import RunConfig
from v1d3.eval.run import RunResult, run_simulation
from v1d3.kddcup.adapter import AGENT_POLICY, open_agent
from v1d3.kddcup.submission import AGENT_BUDGET_S, AgentConfig, check_agent_scenario
from v1d3.sim.scenario import Scenario

__all__ = ["agent_policy_name", "agent_run_config", "run_agent", "parse_agent_option"]


def agent_policy_name(label: str | None = None) -> str:
    """``kdd-agent`` or ``kdd-agent:<label>`` (the label tells agents of one study apart)."""
    return AGENT_POLICY if not label else f"{AGENT_POLICY}:{label}"


def agent_run_config(
    cfg: RunConfig,
    path: str | Path,
    time_budget_s: float = AGENT_BUDGET_S,
    label: str | None = None,
    config: AgentConfig | None = None,
) -> RunConfig:
    """The run config that records an agent run: both policies ``kdd-agent[:label]``, the
    folder, the budget and the other fields of ``config`` that differ from their defaults as
    dispatch parameters (``config`` overrides ``time_budget_s``). A config that does not check
    (a budget that is not a finite number of seconds > 0, say) is a ConfigError
    (:class:`AgentConfig`'s checks), before anything runs."""
    config = config if config is not None else AgentConfig(time_budget_s)
    name = agent_policy_name(label)
    return dataclasses.replace(
        cfg,
        dispatch=name,
        reposition=name,
        dispatch_params=config.policy_params(path),
        reposition_params={},
    )


def run_agent(
    cfg: RunConfig,
    path: str | Path,
    time_budget_s: float = AGENT_BUDGET_S,
    label: str | None = None,
    scenario: Scenario | None = None,
    progress: Callable[[float, int], None] | None = None,
    check: bool = True,
    config: AgentConfig | None = None,
) -> RunResult:
    """Run one day with the KDD agent at ``path`` deciding both dispatch and repositioning.

    The agent starts fresh (a new process, or with isolation ``none`` a new import and a new
    ``Agent()``), so runs do not share state. ``config`` overrides ``time_budget_s`` with a
    full :class:`AgentConfig`. The run's metrics and log meta get the agent's faults
    (:meth:`KddAgentPolicy.run_metrics`); its process ends with the run.
    """
    config = config or AgentConfig(time_budget_s)
    check_agent_scenario(path, cfg.scenario)  # the policies are given, not made by name
    policy = open_agent(path, config)
    return run_simulation(
        agent_run_config(cfg, path, label=label, config=config),
        scenario=scenario,
        dispatch=policy.dispatch_policy,
        reposition=policy.reposition_policy,
        progress=progress,
        check=check,
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
