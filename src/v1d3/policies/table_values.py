"""Value policies over tables (no neural net): dispatch ``tabular-td`` and ``online-td``, and
the ``value`` repositioning that samples over any dispatch policy's values.

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

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from v1d3.demand.config import ScenarioConfig
from v1d3.demand.forecast import DepartureForecast, check_forecastable, historical_forecast
from v1d3.dispatch.advantage import ValueDispatch, ValueDispatchConfig
from v1d3.dispatch.base import DispatchPolicy
from v1d3.errors import ConfigError, ModelError
from v1d3.learn.config import OnlineTrainConfig
from v1d3.learn.td import ChampionOnlineTD
from v1d3.policies.models import model_path, value_dispatch_params
from v1d3.policies.params import config_from_params
from v1d3.reposition.base import RepositionPolicy
from v1d3.reposition.value import ValueReposition, ValueRepositionConfig
from v1d3.value.base import Discount, ValueFunction
from v1d3.value.checkpoint import TABULAR_FILE
from v1d3.value.tabular import TabularValue
from v1d3.value.tile import TileCodedValue

__all__ = ["make_tabular_td", "make_online_td", "make_value_reposition"]


def make_tabular_td(
    models: Path | None = None, scenario: Any = None, dispatch: Any = None, **params: Any
) -> DispatchPolicy:
    """Offline tabular TD values (``<models>/tabular-td.pt``) with advantage matching and
    :data:`~v1d3.policies.models.VALUE_DISPATCH_DEFAULTS`."""
    path = model_path(models, TABULAR_FILE, "tabular-td", scenario)
    value = TabularValue.load(path, scenario=scenario)
    online, params = OnlineTrainConfig.split(params)
    params = value_dispatch_params(params)
    cfg = config_from_params(ValueDispatchConfig, "dispatch policy 'tabular-td'", params)
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
    cfg = config_from_params(ValueDispatchConfig, "dispatch policy 'online-td'", config)
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
    cfg = config_from_params(ValueRepositionConfig, "reposition policy 'value'", params)
    forecast = _wait_forecast(scenario, cfg)
    value = getattr(dispatch, "value", None)
    if isinstance(value, ValueFunction):
        return ValueReposition(value, cfg, forecast)
    if getattr(dispatch, "values_elsewhere", False):
        name = getattr(dispatch, "name", "")
        raise ConfigError(
            f"reposition 'value' beside dispatch {name!r}: the values it would read are "
            "the service's, not this process's; reposition with the service's own /v1/reposition "
            "or pick another policy (stay, demand, min-cost-flow, zhang-pavone, ...)"
        )
    try:
        from v1d3.policies.neural import load_offline_cvnet
    except ImportError:
        raise ModelError(
            "reposition 'value' needs a value function: use a value-based dispatch policy "
            "(tabular-td, online-td, ...) or a cvnet model, which this installation lacks"
        ) from None
    return ValueReposition(load_offline_cvnet(models, scenario, "value"), cfg, forecast)


def _wait_forecast(
    scenario: Any, cfg: ValueRepositionConfig
) -> Callable[[], DepartureForecast] | None:
    """The departures forecast ``value`` repositioning waits by (None: ``wait=off``, or
    ``auto`` on a scenario without historical days)."""
    if cfg.wait == "off":
        return None
    if not isinstance(scenario, ScenarioConfig):
        if cfg.wait == "forecast":
            raise ConfigError(
                "reposition 'value': wait=forecast needs the scenario config to forecast from "
                "its historical days"
            )
        return None
    try:
        check_forecastable(scenario)
    except ConfigError:
        if cfg.wait == "forecast":
            raise
        return None
    return functools.partial(historical_forecast, scenario, cfg.forecast_days)
