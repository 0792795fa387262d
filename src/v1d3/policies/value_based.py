"""Named value-based policies: dispatch ``tabular-td`` and ``online-td``, repositioning ``value``.

Factories have the registry's signature ``factory(models, scenario, dispatch=None, **params)``;
``params`` are the fields of the policy's config (e.g. ``top_k=5``, ``beta=0.5``).

- ``tabular-td`` (Xu et al. 2018): offline ``V(cell, 10-minute bucket)`` read from
  ``<models>/tabular-td.pt``; advantage matching, ``gamma`` and time unit from the checkpoint.
- ``online-td`` (KDD Cup 2020 dispatch champion "Polar Bear"): tile-coded location values reset
  to 0 every day and learned from the day's own rounds; cancellation-weighted edges, the 11
  nearest drivers per order, gamma 0.9 per 600 s, alpha 0.025, ``k = max(1, floor(trip / 600))``.
  One deliberate change, on by default: idle drivers decay by the discount of one dispatch round
  (``per_round_decay=True``) instead of a whole 10-minute unit every round (docs/method.md §7, §10;
  docs/results/tuning.md §2); ``per_round_decay=False`` is the champion as published.
- ``value`` repositioning: destinations sampled from the dispatch policy's value function when
  it has one, else from ``<models>/cvnet.pt``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from v1d3.dispatch.advantage import ValueDispatch, ValueDispatchConfig
from v1d3.dispatch.base import DispatchPolicy
from v1d3.errors import ModelError
from v1d3.learn.config import OnlineTrainConfig
from v1d3.learn.td import ChampionOnlineTD
from v1d3.reposition.base import RepositionPolicy
from v1d3.reposition.value import ValueReposition, ValueRepositionConfig
from v1d3.value.base import Discount, ValueFunction
from v1d3.value.checkpoint import TABULAR_FILE
from v1d3.value.tabular import TabularValue
from v1d3.value.tile import TileCodedValue

__all__ = [
    "PACKAGED_MODELS",
    "VALUE_DISPATCH_DEFAULTS",
    "VALUE_DISPATCH",
    "VALUE_REPOSITION",
    "make_tabular_td",
    "make_online_td",
    "make_value_reposition",
]

PACKAGED_MODELS = Path(__file__).resolve().parent.parent / "data" / "models"
"""The models shipped with the package (``manhattan``; see its README.md), used when no models
folder is given."""

VALUE_DISPATCH_DEFAULTS: dict[str, Any] = {"pickup_penalty_per_km": 10.0}
"""Dispatch settings of ``tabular-td``, ``cvnet`` and ``v1d3`` that differ from
:class:`~v1d3.dispatch.advantage.ValueDispatchConfig`'s defaults (a parameter overrides them);
shared, so that these methods compare value functions, not edge weights.

``pickup_penalty_per_km`` (currency units per km of pickup, docs/method.md §3): the advantage
already charges a pickup its discounting, but with that alone value-based matching buys income
with pickups 1.6× those of ``distance``; how 10 $/km was chosen: docs/results/tuning.md §1."""


def _model_path(models: Path | None, file: str, method: str) -> Path:
    if models is None and (PACKAGED_MODELS / file).exists():
        return PACKAGED_MODELS / file
    if models is None:
        raise ModelError(
            f"{method} needs a models folder with {file} (--models DIR; train it with: "
            f"v1d3 train --method {method} --out DIR)"
        )
    return Path(models) / file


def make_tabular_td(
    models: Path | None = None, scenario: Any = None, dispatch: Any = None, **params: Any
) -> DispatchPolicy:
    """Offline tabular TD values (``<models>/tabular-td.pt``) with advantage matching and
    :data:`VALUE_DISPATCH_DEFAULTS`."""
    value = TabularValue.load(_model_path(models, TABULAR_FILE, "tabular-td"), scenario=scenario)
    online, params = OnlineTrainConfig.split(params)
    cfg = ValueDispatchConfig(**{**VALUE_DISPATCH_DEFAULTS, **params})
    return ValueDispatch(value, cfg, online=OnlineTrainConfig(**online))


def make_online_td(
    models: Path | None = None,
    scenario: Any = None,
    dispatch: Any = None,
    alpha: float = 0.025,
    gamma: float = 0.9,
    time_unit_s: float = 600.0,
    per_round_decay: bool = True,
    tile_deg: float = 0.01,
    **params: Any,
) -> DispatchPolicy:
    """The KDD Cup 2020 champion: online tile-coded values, reset daily (no model file)."""
    schedule, params = OnlineTrainConfig.split(params)
    online = OnlineTrainConfig(
        **{"daily_reset": "zero", **schedule}, lr=alpha, per_round_decay=per_round_decay
    )
    config = {
        "top_k": 11,
        "cancel_factor": True,
        "cancel_model": "champion",
        "duration": "champion",
        **params,
    }
    cfg = ValueDispatchConfig(**config)
    value = TileCodedValue(Discount(gamma, time_unit_s), tile_deg=tile_deg)
    learner = ChampionOnlineTD.from_config(online, duration=cfg.duration)
    return ValueDispatch(value, cfg, learner=learner, online=online)


def make_value_reposition(
    models: Path | None = None,
    scenario: Any = None,
    dispatch: DispatchPolicy | None = None,
    **params: Any,
) -> RepositionPolicy:
    """Sample destinations ∝ ``exp(beta · gamma^dt · V)`` with the dispatch policy's values."""
    cfg = ValueRepositionConfig(**params)
    value = getattr(dispatch, "value", None)
    if isinstance(value, ValueFunction):
        return ValueReposition(value, cfg)
    try:
        from v1d3.policies.neural import load_offline_cvnet
    except ImportError:
        raise ModelError(
            "reposition 'value' needs a value function: use a value-based dispatch policy "
            "(tabular-td, online-td, ...) or a cvnet model, which this installation lacks"
        ) from None
    return ValueReposition(load_offline_cvnet(models, scenario, "value"), cfg)


VALUE_DISPATCH = {"tabular-td": make_tabular_td, "online-td": make_online_td}
"""Value-based dispatch factories by name (merge into :data:`v1d3.policies.DISPATCH`)."""

VALUE_REPOSITION = {"value": make_value_reposition}
"""Value-based repositioning factories by name (merge into :data:`v1d3.policies.REPOSITION`)."""
