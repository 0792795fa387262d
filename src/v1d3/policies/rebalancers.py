"""Factories of the field's rebalancers, ``min-cost-flow`` and ``zhang-pavone``
(docs/method.md §11.1), with the registry's signature ``factory(models, scenario, dispatch,
**params)``; ``params`` are the fields of the policy's config.

``min-cost-flow`` forecasts from the scenario's historical days
(:func:`~v1d3.demand.forecast.historical_forecast`), drawn when its first day starts and kept
for the process; a scenario that replays one real date has no history and is refused here.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from v1d3.demand.config import ScenarioConfig
from v1d3.demand.forecast import check_forecastable, historical_forecast
from v1d3.dispatch.base import DispatchPolicy
from v1d3.errors import ConfigError
from v1d3.policies.params import config_from_params
from v1d3.reposition.base import RepositionPolicy
from v1d3.reposition.rebalance import (
    MinCostFlowConfig,
    MinCostFlowRebalancing,
    ZhangPavoneConfig,
    ZhangPavoneRebalancing,
)

__all__ = ["make_min_cost_flow", "make_zhang_pavone"]


def make_min_cost_flow(
    models: Path | None = None,
    scenario: Any = None,
    dispatch: DispatchPolicy | None = None,
    **params: Any,
) -> RepositionPolicy:
    """MATSim-style min-cost-flow rebalancing to ``alpha · D + beta`` idle vehicles per zone."""
    cfg = config_from_params(MinCostFlowConfig, "reposition policy 'min-cost-flow'", params)
    if not isinstance(scenario, ScenarioConfig):
        raise ConfigError("reposition policy 'min-cost-flow' needs the scenario config")
    check_forecastable(scenario)
    return MinCostFlowRebalancing(
        functools.partial(historical_forecast, scenario, cfg.forecast_days), cfg
    )


def make_zhang_pavone(
    models: Path | None = None,
    scenario: Any = None,
    dispatch: DispatchPolicy | None = None,
    **params: Any,
) -> RepositionPolicy:
    """Zhang & Pavone (2016) real-time rebalancing: the excess vehicles spread evenly."""
    cfg = config_from_params(ZhangPavoneConfig, "reposition policy 'zhang-pavone'", params)
    return ZhangPavoneRebalancing(cfg)
