"""One simulation run: config in, run folder out (config, metrics, logs), written atomically."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from v1d3 import __version__
from v1d3.dispatch.base import DispatchPolicy
from v1d3.errors import ConfigError, DataError
from v1d3.eval.metrics import compute_metrics, metrics_by_hour
from v1d3.fields import check_fields
from v1d3.options import config_options
from v1d3.policies import make_dispatch, make_reposition
from v1d3.policies.describe import describe
from v1d3.reposition.base import RepositionPolicy
from v1d3.sim.checker import check_run
from v1d3.sim.config import SimConfig
from v1d3.sim.engine import Simulator
from v1d3.sim.log import RunLog, atomic_dir
from v1d3.sim.scenario import Scenario, ScenarioConfig, build_scenario

__all__ = [
    "RUN_CONFIG",
    "RunConfig",
    "RunResult",
    "run_simulation",
    "save_config",
    "load_config",
    "write_run",
]

RUN_CONFIG = "config.json"
"""The file that makes a folder a run folder (and that ``simulate --config`` reads back)."""


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a run. Saved as ``config.json`` in every run folder."""

    scenario: ScenarioConfig = field(default_factory=ScenarioConfig)
    sim: SimConfig = field(default_factory=SimConfig)
    dispatch: str = "distance"
    """Dispatch policy name (``v1d3 policies`` lists them)."""
    reposition: str = "stay"
    """Repositioning policy name."""
    seed: int = 0
    """Seed of the run: demand, fleet, cancellations, idle drift and the policies' generators."""
    models: str | None = None
    """Folder with trained models for value-based policies."""
    dispatch_params: dict[str, Any] = field(default_factory=dict)
    """Keyword parameters of the dispatch policy."""
    reposition_params: dict[str, Any] = field(default_factory=dict)
    """Keyword parameters of the repositioning policy."""

    def __post_init__(self) -> None:
        check_fields(self, "run config")
        if self.seed < 0:
            raise ConfigError(f"run config: seed must be >= 0, got {self.seed}")

    @property
    def policy(self) -> str:
        return f"{self.dispatch}/{self.reposition}"

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["v1d3_version"] = __version__
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunConfig:
        if not isinstance(d, dict):
            raise ConfigError(f"config: expected a JSON object, got {type(d).__name__}")
        d = dict(d)
        d.pop("v1d3_version", None)
        try:
            return cls(
                scenario=_config(ScenarioConfig, _unflatten(d.pop("scenario", {})), "scenario"),
                sim=_config(SimConfig, d.pop("sim", {}), "sim"),
                **d,
            )
        except TypeError as e:
            raise ConfigError(f"config: unexpected or missing field ({e})") from None


def _config(cls: type, d: Any, key: str) -> Any:
    """A config of class ``cls`` (its nested configs too) from its JSON mapping."""
    d = dict(_mapping(d, key))
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        sub = hints[f.name]
        if isinstance(sub, type) and dataclasses.is_dataclass(sub) and f.name in d:
            d[f.name] = _config(sub, d[f.name], f"{key}.{f.name}")
    # JSON lists back to the tuples the configs hold (``cancel_curve``, ``rush_hours``)
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def _unflatten(sc: Any) -> Any:
    """A scenario as the previous release wrote it (the sources' settings flat: ``trips``,
    ``grid``, ``kdd_orders``, ``zone_day_sd``) in today's nesting; other mappings unchanged.
    A flat key is the option name of the nested field it moves to."""
    if not isinstance(sc, dict):
        return sc
    top = {f.name for f in dataclasses.fields(ScenarioConfig)}
    nested = {o.name: o.path for o in config_options(ScenarioConfig) if len(o.path) == 2}
    out = dict(sc)
    for key in [k for k in sc if k not in top and k in nested]:
        outer, inner = nested[key]
        source = out.get(outer, {})
        if isinstance(source, dict):
            out[outer] = {**source, inner: out.pop(key)}
    return out


def _mapping(v: Any, key: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise ConfigError(f"config: {key} must be a mapping, got {type(v).__name__}")
    return v


def save_config(cfg: RunConfig, path: Path) -> None:
    Path(path).write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")


def load_config(path: Path) -> RunConfig:
    path = Path(path)
    try:
        d = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise DataError(f"{path}: not a readable JSON run config ({e})") from None
    return RunConfig.from_dict(d)


@dataclass(eq=False)
class RunResult:
    """A finished run: its config, logs and metrics."""

    config: RunConfig
    log: RunLog
    metrics: dict[str, Any]
    policies: dict[str, Any] = field(default_factory=dict)
    """The constants the policies resolved to (:func:`v1d3.policies.describe.describe`)."""


def run_simulation(
    cfg: RunConfig,
    scenario: Scenario | None = None,
    dispatch: DispatchPolicy | None = None,
    reposition: RepositionPolicy | None = None,
    progress: Callable[[float, int], None] | None = None,
    check: bool = True,
) -> RunResult:
    """Run one day. Pass policy instances to plug in your own; otherwise names are looked up.

    ``scenario`` may be given to reuse one built for the same (scenario config, seed).
    """
    if scenario is None:
        scenario = build_scenario(cfg.scenario, cfg.sim, cfg.seed)
    models = Path(cfg.models) if cfg.models else None
    if dispatch is None:
        dispatch = make_dispatch(cfg.dispatch, models, cfg.scenario, **cfg.dispatch_params)
    if reposition is None:
        reposition = make_reposition(
            cfg.reposition, models, cfg.scenario, dispatch=dispatch, **cfg.reposition_params
        )
    policies = describe(dispatch=dispatch, reposition=reposition)
    log = Simulator(scenario, cfg.seed).run(dispatch, reposition, progress)
    if check:
        check_run(log).raise_if_failed()
    result = RunResult(cfg, log, compute_metrics(log), policies)
    faults = getattr(dispatch, "agent_faults", None) or getattr(reposition, "agent_faults", None)
    if faults is not None:  # a KDD Cup agent decided: its contained faults go in the summary
        from v1d3.kddcup.agent import record_faults

        record_faults(result, faults)
    return result


def _hourly_csv(log: RunLog) -> str:
    h = metrics_by_hour(log)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(list(h))
    for i in range(len(h["hour"])):
        w.writerow([round(float(h[k][i]), 6) if k != "hour" else int(h[k][i]) for k in h])
    return buf.getvalue()


def write_run(result: RunResult, out: Path) -> Path:
    """Write the run folder (atomically: a temporary folder renamed at the end). An existing
    folder is replaced only when it is empty or a run folder (it holds :data:`RUN_CONFIG`)."""
    with atomic_dir(Path(out), marker=RUN_CONFIG) as tmp:
        save_config(result.config, tmp / RUN_CONFIG)
        (tmp / "policies.json").write_text(json.dumps(result.policies, indent=2) + "\n")
        (tmp / "metrics.json").write_text(json.dumps(result.metrics, indent=2) + "\n")
        (tmp / "metrics_by_hour.csv").write_text(_hourly_csv(result.log))
        result.log.write(tmp)
    return Path(out)
