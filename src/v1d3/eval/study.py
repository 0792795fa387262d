"""The study model: what a study runs (:class:`StudyConfig`), its run names, the folder check
and the command that regenerates it.

A study is every policy × weekday × seed of one scenario and simulation model; its folder keeps
``study.json`` (what a later ``--resume`` must match: it may add policies, weekdays or seeds,
not change the scenario or the simulation model). The regenerate command is written from the
config fields (:mod:`v1d3.options`), as the CLI's options are.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from v1d3.demand.config import ScenarioConfig
from v1d3.errors import ConfigError, V1D3Error
from v1d3.eval.config import RunConfig
from v1d3.eval.report import CorrectionMapConfig
from v1d3.fields import check_fields
from v1d3.files import check_output_path
from v1d3.kddcup.submission import AgentConfig
from v1d3.options import first_difference, option_args
from v1d3.policies import DISPATCH, REPOSITION, agent_label
from v1d3.policy_spec import format_name, parse_policy, policy_label
from v1d3.sim.config import SimConfig
from v1d3.text_files import json_text, read_json

__all__ = [
    "STUDY_FILE",
    "STUDY_KIND",
    "StudyConfig",
    "run_key",
    "run_name",
    "study_command",
    "check_study_folder",
]

STUDY_FILE = "study.json"
"""The file that makes a folder a study folder (what ``--resume`` must match)."""
STUDY_KIND = "v1d3-evaluate"
"""The ``kind`` of a study file."""


@dataclass(frozen=True)
class StudyConfig:
    """What a study runs: every policy on every (weekday, seed) of one scenario."""

    policies: tuple[str, ...]
    """Policies as ``dispatch/reposition`` (a bare dispatch name means ``/stay``), each name
    optionally with parameters in brackets, ``v1d3[omega=0.5]/stay`` (:mod:`v1d3.policy_spec`)."""
    weekdays: tuple[int, ...] = (2,)
    """Days of week to simulate, Monday = 0."""
    seeds: tuple[int, ...] = (0,)
    """Seeds per weekday (demand, fleet, cancellations, idle drift)."""
    baseline: str = "distance/stay"
    """Policy the others are compared with (must be one of ``policies``)."""
    scenario: ScenarioConfig = field(default_factory=ScenarioConfig)
    """Scenario of every run (its ``weekday`` is replaced by each of ``weekdays``)."""
    sim: SimConfig = field(default_factory=SimConfig)
    """Simulation model of every run."""
    models: str | None = None
    """Folder with trained models for value-based policies."""
    agents: dict[str, str] = field(default_factory=dict)
    """KDD Cup 2020 agents by name → submission folder; each is the policy
    ``kdd-agent:NAME/kdd-agent:NAME``."""
    agent: AgentConfig = field(default_factory=AgentConfig)
    """How every agent of the study is run (budget, isolation, interpreter, limits)."""
    agent_python: dict[str, str] = field(default_factory=dict)
    """Interpreters by agent name, for agents that need one of their own (the others run under
    ``agent.python``)."""

    def __post_init__(self) -> None:
        pol = tuple(_normalise(p) for p in self.policies)
        if len(set(pol)) != len(pol):
            raise ConfigError(f"policies: each policy once, got {', '.join(pol)}")
        object.__setattr__(self, "policies", pol)
        object.__setattr__(self, "baseline", _normalise(self.baseline))
        object.__setattr__(self, "weekdays", tuple(int(w) for w in self.weekdays))
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        check_fields(self, "study")
        stray = [n for n in self.agent_python if n not in self.agents]
        if stray:
            raise ConfigError(f"agent_python: {stray[0]!r} is not one of the study's --agent names")
        for name in self.agent_python:
            self.agent_config(name)  # checks: isolation none takes no interpreter of its own
        for p in pol:
            d, dp, r, rp = parse_policy(p)
            agent = agent_label(d)
            if agent is not None:
                if agent not in self.agents or r != d or dp or rp:
                    raise ConfigError(
                        f"policies: {p!r} needs --agent {agent}=PATH and the form "
                        f"kdd-agent:{agent}/kdd-agent:{agent}"
                    )
                continue
            if d not in DISPATCH:
                raise ConfigError(
                    f"dispatch: unknown policy {d!r}; expected one of {', '.join(DISPATCH)}"
                )
            if r not in REPOSITION:
                raise ConfigError(
                    f"reposition: unknown policy {r!r}; expected one of {', '.join(REPOSITION)}"
                )
        bad = [w for w in self.weekdays if not 0 <= w <= 6]
        if bad:
            raise ConfigError(f"weekdays: expected days 0 (Monday) .. 6, got {bad[0]}")
        bad = [s for s in self.seeds if s < 0]
        if bad:
            raise ConfigError(f"seeds: expected seeds >= 0, got {bad[0]}")
        if len(set(self.weekdays)) != len(self.weekdays) or len(set(self.seeds)) != len(self.seeds):
            raise ConfigError("weekdays/seeds: each value once")
        for key, values in (("policies", pol), ("weekdays", self.weekdays), ("seeds", self.seeds)):
            if not values:
                raise ConfigError(f"{key}: empty; a study needs at least one")
        if self.baseline not in pol:
            raise ConfigError(
                f"baseline: {self.baseline!r} is not among the policies ({', '.join(pol)})"
            )
        date = self.scenario.manhattan.like_date
        if date is not None and self.weekdays != (self.scenario.weekday,):
            raise ConfigError(
                f"weekdays: like_date {date} is a weekday {self.scenario.weekday} (Monday = 0); "
                f"give --weekdays {self.scenario.weekday}, got {list(self.weekdays)}"
            )

    @classmethod
    def grid(
        cls, dispatch: Sequence[str], reposition: Sequence[str] = ("stay",), **kwargs: Any
    ) -> StudyConfig:
        """Every dispatch × reposition combination."""
        return cls(policies=tuple(f"{d}/{r}" for d in dispatch for r in reposition), **kwargs)

    def runs(self) -> list[RunConfig]:
        """Every run of the study, policy-major; configs of one (weekday, seed) differ only in
        the policy names (common random numbers by construction)."""
        out = []
        for p in self.policies:
            d, params, r, r_params = parse_policy(p)
            agent = agent_label(d)
            if agent is not None:
                params = self.agent_config(agent).policy_params(self.agents[agent])
            for w in self.weekdays:
                sc = dataclasses.replace(self.scenario, weekday=w)
                for s in self.seeds:
                    out.append(
                        RunConfig(
                            scenario=sc,
                            sim=self.sim,
                            dispatch=d,
                            reposition=r,
                            seed=s,
                            models=self.models,
                            dispatch_params=params,
                            reposition_params=r_params,
                        )
                    )
        return out

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        return json.loads(json_text(d, "study config"))

    def agent_config(self, name: str) -> AgentConfig:
        """How the study's agent ``name`` is run: :attr:`agent`, with its own interpreter when
        :attr:`agent_python` gives one."""
        python = self.agent_python.get(name)
        return self.agent if python is None else dataclasses.replace(self.agent, python=python)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StudyConfig:
        d = dict(d)
        try:
            if "agent_budget_s" in d:  # a study recorded before the agent config
                d["agent"] = {"time_budget_s": d.pop("agent_budget_s")}
            if "agent" in d:
                d["agent"] = AgentConfig(**d["agent"])
            rc = RunConfig.from_dict({"scenario": d.pop("scenario"), "sim": d.pop("sim")})
            return cls(
                policies=tuple(d.pop("policies")),
                weekdays=tuple(d.pop("weekdays")),
                seeds=tuple(d.pop("seeds")),
                scenario=rc.scenario,
                sim=rc.sim,
                **d,
            )
        except (KeyError, TypeError) as e:
            raise ConfigError(f"study: unexpected or missing field ({e})") from None

    def identity(self) -> dict[str, Any]:
        """What decides the runs' results (the baseline is presentation only)."""
        d = self.to_dict()
        d.pop("baseline")
        return d


def _normalise(policy: str) -> str:
    return policy_label(*parse_policy(policy))


def run_key(cfg: RunConfig) -> str:
    """File-system name of a run: ``<dispatch>__<reposition>__w<weekday>__s<seed>``."""

    def clean(name: str, params: dict[str, Any]) -> str:
        written = format_name(name, params)
        key = re.sub(r"[^A-Za-z0-9._-]", "_", name)
        if written == name:
            return key
        # parameters in the name: readable, and a digest so that two variants never share a folder
        digest = hashlib.sha1(written.encode()).hexdigest()[:8]
        return f"{key}_{re.sub(r'[^A-Za-z0-9._-]+', '_', written[len(name) :]).strip('_')}_{digest}"

    d = clean(cfg.dispatch, cfg.dispatch_params)
    r = clean(cfg.reposition, cfg.reposition_params)
    return f"{d}__{r}__w{cfg.scenario.weekday}__s{cfg.seed}"


def run_name(cfg: RunConfig) -> str:
    """Display name of a run."""
    return f"{cfg.policy} weekday {cfg.scenario.weekday} seed {cfg.seed}"


def check_study_folder(out: Path, study: StudyConfig, resume: bool) -> None:
    """Refuse ``out`` before anything is written when it is a file, holds something other than
    a study, or holds a different study (with ``resume``: a study of another scenario or
    simulation model; new policies, weekdays or seeds are fine)."""
    # a file, or a path under a file; the study is written into the folder, not replacing it
    check_output_path(out, "folder", replaces=False)
    if not out.is_dir() or not any(out.iterdir()):
        return
    marker = out / STUDY_FILE
    try:
        doc = read_json(marker, "study file")
        if doc.get("kind") != STUDY_KIND:
            raise ValueError("not a study file")
        old = StudyConfig.from_dict(doc["study"])
    except (OSError, ValueError, KeyError, V1D3Error):
        raise ConfigError(
            f"out: {out} is not empty and holds no v1d3 evaluate study; choose another folder"
        ) from None
    if resume:
        _check_resume(out, old, study)
        return
    if old.identity() == study.identity():
        return
    raise ConfigError(
        f"out: {out} holds a different study; use --resume to extend it or choose another folder"
    )


_RESUME_FREE = ("weekday",)
"""Scenario options a resumed study may change (the study's --weekdays replace the weekday)."""


def _check_resume(out: Path, old: StudyConfig, new: StudyConfig) -> None:
    """A resumed study may add policies, weekdays or seeds, not change the scenario or the
    simulation model: the finished runs would silently belong to another study."""
    for where, a, b, skip in (
        ("scenario", old.scenario, new.scenario, _RESUME_FREE),
        ("sim", old.sim, new.sim, ()),
    ):
        diff = first_difference(a, b, skip)
        if diff is not None:
            opt, was, now = diff
            raise ConfigError(
                f"out: {out} holds a study with {where} {opt.field} = {was!r} ({opt.flag}), "
                f"this command has {now!r}; --resume only adds policies, weekdays or seeds: "
                "give the study's value or choose another folder"
            )


def _ranges(values: Sequence[int]) -> str:
    v = sorted(values)
    parts: list[str] = []
    i = 0
    while i < len(v):
        j = i
        while j + 1 < len(v) and v[j + 1] == v[j] + 1:
            j += 1
        parts.append(str(v[i]) if i == j else f"{v[i]}-{v[j]}")
        i = j + 1
    return ",".join(parts)


def study_command(
    study: StudyConfig,
    out: Path | str,
    report_hour: int | None = None,
    correction: CorrectionMapConfig | None = None,
) -> str:
    """The ``v1d3 evaluate`` command line that reproduces the study (``--resume``: finished runs
    are reused, so on a complete folder it only rewrites the tables and the report);
    ``correction``: the report's :class:`~v1d3.eval.report.CorrectionMapConfig`."""
    first = ("scenario",)
    args = ["v1d3", "evaluate", *option_args(study.scenario, only=first, always=first)]
    pairs = []
    for p in study.policies:
        d, dp, r, rp = parse_policy(p)
        pairs.append((format_name(d, dp), format_name(r, rp)))
    ds = list(dict.fromkeys(d for d, _ in pairs))
    rs = list(dict.fromkeys(r for _, r in pairs))
    if [f"{d}/{r}" for d in ds for r in rs] == list(study.policies):
        args += ["--dispatch", ",".join(ds), "--reposition", ",".join(rs)]
    else:
        args += ["--policies", ",".join(study.policies)]
    args += ["--weekdays", _ranges(study.weekdays)]
    seeds = sorted(study.seeds)
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        args += ["--seeds", str(len(seeds)), "--first-seed", str(seeds[0])]
    else:
        args += ["--seed-list", ",".join(map(str, study.seeds))]
    args += ["--baseline", study.baseline]
    # every other scenario and simulation field that differs from its default (the weekday is
    # --weekdays'): the options are derived from the fields, as the CLI's are
    args += option_args(study.scenario, skip=(*first, *_RESUME_FREE))
    args += option_args(study.sim)
    if study.models:
        args += ["--models", study.models]
    for name, path in study.agents.items():
        args += ["--agent", f"{name}={path}"]
    args += option_args(study.agent)
    for name, python in study.agent_python.items():
        args += ["--agent-python", f"{name}={python}"]
    if report_hour is not None:
        args += ["--report-hour", str(report_hour)]
    if correction is not None:
        args += option_args(correction)
    args += ["--out", str(out), "--resume"]
    return shlex.join(args)
