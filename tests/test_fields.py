"""Config fields are checked against their annotations: one ConfigError naming the field."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from v1d3.errors import ConfigError
from v1d3.eval.config import RunConfig
from v1d3.eval.study import StudyConfig
from v1d3.fields import check_fields
from v1d3.kddcup.runner import agent_run_config
from v1d3.kddcup.submission import AgentConfig
from v1d3.learn.config import OfflineTrainConfig
from v1d3.value.base import Discount
from v1d3.value.cvnet import CVNetConfig


@dataclass(frozen=True)
class _Cfg:
    rate: float = 1.0
    count: int = 2
    flag: bool = True
    name: str = "x"
    limit: int | None = None
    mode: Literal["a", "b"] = "a"
    curve: tuple[float, ...] = (0.1, 0.2)
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_fields(self, "test config")


def test_values_that_fit_pass() -> None:
    _Cfg()
    _Cfg(rate=3, count=0, flag=False, limit=4, mode="b", curve=(), params={"k": [1]})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate": "0.5"}, "test config: rate must be a number, got '0.5'"),
        ({"rate": True}, "rate must be a number, got True"),
        ({"rate": float("inf")}, "rate must be a finite number, got inf"),
        ({"rate": float("nan")}, "rate must be a finite number, got nan"),
        ({"count": 2.5}, "count must be an integer, got 2.5"),
        ({"count": "2"}, "count must be an integer"),
        ({"flag": "no"}, "flag must be true or false, got 'no'"),
        ({"flag": 0}, "flag must be true or false, got 0"),
        ({"name": 5}, "name must be a string, got 5"),
        ({"limit": 1.5}, "limit must be an integer or null, got 1.5"),
        ({"mode": "c"}, "mode must be one of 'a', 'b', got 'c'"),
        ({"curve": ("a",)}, "curve must be a list of numbers, got ('a',)"),
        ({"curve": [0.1]}, "curve must be a list of numbers"),
        ({"curve": (0.1, float("nan"))}, "curve must be finite numbers, got (0.1, nan)"),
        ({"curve": (float("-inf"),)}, "curve must be finite numbers, got (-inf,)"),
        ({"params": [1]}, "params must be a mapping, got [1]"),
    ],
)
def test_values_that_do_not_fit_name_the_field(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        _Cfg(**kwargs)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([1, 2], "config: expected a JSON object, got list"),
        ({"scenario": "synthetic"}, "config: scenario must be a mapping, got str"),
        ({"seed": -1}, "run config: seed must be >= 0, got -1"),
        ({"seed": "0"}, "run config: seed must be an integer"),
        ({"dispatch": 5}, "run config: dispatch must be a string"),
        ({"sim": {"cancellations": "no"}}, "sim config: cancellations must be true or false"),
        ({"sim": {"cancel_curve": "abc"}}, "sim config: cancel_curve must be a list of numbers"),
        ({"sim": {"k_nearest": 2.5}}, "sim config: k_nearest must be an integer"),
        ({"scenario": {"hours": "0.5"}}, "scenario config: hours must be a number"),
        ({"scenario": {"hours": None}}, "scenario config: hours must be a number, got None"),
        ({"scenario": {"zone_day_sd": 1e308}}, "zone_day_sd must be in \\[0, 2\\]"),
        (
            {"scenario": {"synthetic": {"speed_mps": float("nan")}}},
            "synthetic config: speed_mps must be a finite number",
        ),
        ({"scenario": {"synthetic": {"centre_lat": 200}}}, "synthetic.centre_lat"),
        # found by tests/test_bad_input_property.py: traceback deep in the run
        ({"scenario": {"synthetic": {"detour": 1e308}}}, r"detour in \[1, 10\]"),
        ({"sim": {"round_s": 1e-308}}, r"round_s must be in \[0.1, 3600\] seconds"),
        ({"scenario": {"synthetic": {"hotspot_sd_m": -5}}}, "hotspot_sd_m > 0"),
        ({"scenario": {"synthetic": {"rush_width_h": 0}}}, "rush_width_h > 0"),
    ],
)
def test_a_hand_edited_run_config_is_checked_field_by_field(doc: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RunConfig.from_dict(json.loads(json.dumps(doc)))


def test_a_saved_run_config_loads_back() -> None:
    cfg = RunConfig(dispatch="fare", seed=3)
    assert RunConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


@pytest.mark.parametrize(
    ("gamma", "unit", "needle"),
    [
        (1.5, 600.0, "gamma"),
        (0.0, 600.0, "gamma"),
        (0.9, 0.0, "time_unit_s"),
        (0.9, math.inf, "time_unit_s"),
    ],
)
def test_discount_is_checked(gamma: float, unit: float, needle: str) -> None:
    with pytest.raises(ConfigError, match=f"^{needle} must be"):
        Discount(gamma, unit)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: AgentConfig(time_budget_s=math.inf), "agent config: time_budget_s must be a fin"),
        (lambda: OfflineTrainConfig(lr=math.inf), "train config: lr must be a finite number"),
        (
            lambda: OfflineTrainConfig(lipschitz_weight=math.nan),
            "train config: lipschitz_weight must be a finite number",
        ),
        (lambda: CVNetConfig(hl_max=math.inf), "cvnet config: hl_max must be a finite number"),
        (
            lambda: CVNetConfig(time_periods_h=(24.0, math.inf)),
            "cvnet config: time_periods_h must be finite numbers",
        ),
        (
            lambda: StudyConfig(policies=("distance",), agent=AgentConfig(grace_factor=math.inf)),
            "agent config: grace_factor must be a finite number",
        ),
        (
            lambda: agent_run_config(RunConfig(), "agent", math.inf),
            "agent config: time_budget_s must be a finite number",
        ),
    ],
)
def test_float_fields_of_every_config_must_be_finite(make: Any, message: str) -> None:
    """These took inf (a budget of inf seconds was written into config.json as Infinity)."""
    with pytest.raises(ConfigError, match=re.escape(message)):
        make()
