"""What determines one run: :class:`RunConfig`, saved as ``config.json`` in every run folder.

``config.json`` nests the scenario's per-source settings (``scenario.manhattan``, ...);
:meth:`RunConfig.from_dict` also reads the flat scenario of the previous release.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from v1d3 import __version__
from v1d3.demand.config import ScenarioConfig
from v1d3.errors import ConfigError
from v1d3.fields import check_fields
from v1d3.options import config_options
from v1d3.policy_spec import policy_label
from v1d3.sim.config import SimConfig
from v1d3.text_files import json_text, read_json

__all__ = ["RUN_CONFIG", "RunConfig", "save_config", "load_config"]

RUN_CONFIG = "config.json"
"""The file that makes a folder a run folder (and that ``simulate --config`` reads back)."""


POLICY_CONTEXT = frozenset({"name", "models", "scenario", "dispatch"})
"""What the run itself hands a policy factory (the registry's arguments), never a parameter."""


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
        for key, params in (("dispatch_params", self.dispatch_params),
                            ("reposition_params", self.reposition_params)):  # fmt: skip
            taken = sorted(set(params) & POLICY_CONTEXT)
            if taken:
                raise ConfigError(
                    f"run config: {key} may not set {taken[0]!r}: the run gives it to the policy"
                )

    @property
    def policy(self) -> str:
        """The pair's name in tables, with the parameters written out (``v1d3[omega=0.5]/stay``;
        :mod:`v1d3.policy_spec`)."""
        return policy_label(
            self.dispatch, self.dispatch_params, self.reposition, self.reposition_params
        )

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
    text = json_text(cfg.to_dict(), Path(path).name, indent=2)
    Path(path).write_text(text + "\n", encoding="utf-8")


def load_config(path: Path) -> RunConfig:
    return RunConfig.from_dict(read_json(path, "JSON run config"))
