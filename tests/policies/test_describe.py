"""The constants a run is saved with: read off policy instances by ``describe``."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from v1d3.policies.describe import describe


@dataclass(frozen=True)
class _Config:
    beta: float = 3.0
    """Sampling temperature."""
    cap: int | None = None
    rings: tuple[int, ...] = (7, 6)


class _Value:
    def __init__(self) -> None:
        self.gamma = np.float64(0.9)  # a numpy scalar
        self.k = np.int64(5)
        self.table = np.zeros((100, 10))  # data, not a constant
        self.horizon_s = float("inf")
        self._cache = {"x": 1}  # private


class _Policy:
    def __init__(self, value: _Value) -> None:
        self.config = _Config(beta=5.0)
        self.value = value
        self.label = "mine"
        self.weights = list(range(1000))  # too long to be a constant
        self.blend = _blend
        self.context = object()  # the day's state


def _blend() -> None:
    """A function plugged into a policy."""


def test_constants_are_kept_state_and_data_left_out() -> None:
    d = describe(policy=_Policy(_Value()))["policy"]
    assert d["class"].endswith("test_describe._Policy")
    assert d["config"] == {
        "class": f"{_Config.__module__}._Config",
        "beta": 5.0,
        "cap": None,
        "rings": [7, 6],
    }
    assert d["label"] == "mine" and d["blend"].endswith("test_describe._blend")
    v = d["value"]
    assert v["gamma"] == 0.9 and type(v["gamma"]) is float
    assert v["k"] == 5 and type(v["k"]) is int
    assert v["horizon_s"] == "inf"
    for gone in ("table", "_cache"):
        assert gone not in v
    for gone in ("weights", "context"):
        assert gone not in d
    json.dumps(d, allow_nan=False)  # plain JSON


def test_a_shared_component_is_described_once() -> None:
    value = _Value()
    d = describe(dispatch=_Policy(value), reposition=_Policy(value))
    assert d["dispatch"]["value"]["gamma"] == 0.9
    assert d["reposition"]["value"] == {
        "class": f"{_Value.__module__}._Value",
        "same_as": "dispatch.value",
    }


def test_cycles_end() -> None:
    a = _Value()
    a.other = _Value()  # type: ignore[attr-defined]
    a.other.back = a  # type: ignore[attr-defined]
    d = describe(v=a)["v"]
    assert d["other"]["back"]["same_as"] == "v"


def test_plugged_in_classes_and_methods_are_named() -> None:
    p = _Policy(_Value())
    p.config_type = _Config  # type: ignore[attr-defined]
    p.step = p.value.__init__  # type: ignore[attr-defined]
    d = describe(p=p)["p"]
    assert d["config_type"].endswith("test_describe._Config")
    assert d["step"].endswith("test_describe._Value.__init__")
