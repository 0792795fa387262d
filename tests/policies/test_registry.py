"""The policy registry: parameters are checked against the factory, a factory's own TypeError
is not mistaken for a user's bad parameter, and value policies find models in one place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from v1d3 import policies
from v1d3.dispatch.baselines import NearestDriver
from v1d3.errors import ConfigError, ModelError
from v1d3.policies import make_dispatch, make_reposition
from v1d3.policies.models import PACKAGED_MODELS, find_model, model_path, packaged_models
from v1d3.reposition.baselines import Stay


def _needs_size(models: Any = None, scenario: Any = None, *, size: int) -> NearestDriver:
    return NearestDriver()


def _broken(models: Any = None, scenario: Any = None, dispatch: Any = None) -> Any:
    return len(3)  # type: ignore[arg-type]  # a bug inside the factory: TypeError


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("fare", {"pickup_cost": 1.0}, r"dispatch policy 'fare': .*'pickup_cost'"),
        ("fcfs", {"k": 1}, r"dispatch policy 'fcfs': .*'k'"),
        ("online-td", {"topk": 3}, r"dispatch policy 'online-td': .*'topk'"),
        ("kdd-agent:champ", {"paht": "x"}, r"dispatch policy 'kdd-agent:champ': .*'paht'"),
    ],
)
def test_an_unknown_parameter_names_the_policy_and_the_parameter(name, params, match) -> None:
    with pytest.raises(ConfigError, match=match):
        make_dispatch(name, **params)


def test_known_parameters_reach_the_policy() -> None:
    assert make_dispatch("fare", pickup_cost_per_km=0.5).pickup_cost_per_km == 0.5  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match=r"reposition policy 'demand': .*'radius'"):
        make_reposition("demand", radius=3)
    with pytest.raises(ConfigError, match=r"reposition policy 'value': .*'betta'"):
        make_reposition("value", dispatch=make_dispatch("online-td"), betta=1.0)


def test_a_missing_parameter_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(policies.DISPATCH, "sized", _needs_size)
    with pytest.raises(ConfigError, match=r"dispatch policy 'sized': .*missing.*'size'"):
        make_dispatch("sized")
    assert isinstance(make_dispatch("sized", size=2), NearestDriver)


def test_a_type_error_inside_a_factory_is_not_reported_as_bad_parameters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(policies.DISPATCH, "broken", _broken)
    monkeypatch.setitem(policies.REPOSITION, "broken", _broken)
    with pytest.raises(TypeError, match="has no len"):
        make_dispatch("broken")
    with pytest.raises(TypeError, match="has no len"):
        make_reposition("broken", dispatch=NearestDriver())
    assert isinstance(make_reposition("stay"), Stay)


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("v1d3", {"parents": 5}, r"^dispatch policy 'v1d3': parents must be a list of integers"),
        ("v1d3", {"online": "lstm"}, r"^dispatch policy 'v1d3': online must be one of 'residual'"),
        ("fare", {"pickup_cost_per_km": "1"}, r"^dispatch policy 'fare': pickup_cost_per_km must"),
        ("online-td", {"alpha": float("nan")}, r"^dispatch policy 'online-td': alpha must be"),
    ],
)
def test_a_mistyped_parameter_is_a_one_line_error(
    name: str, params: dict[str, Any], match: str
) -> None:
    # from a hand-edited config.json: caught before the factory runs, not a traceback inside it
    with pytest.raises(ConfigError, match=match):
        make_dispatch(name, **params)


def test_a_json_list_is_a_tuple_parameter() -> None:
    policy = make_dispatch("v1d3", parents=[7])
    assert policy.value.parents == (7,)  # type: ignore[attr-defined]


def test_one_model_finder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a given folder is used as given, even without the file (the loader names what is missing)
    assert find_model(tmp_path, "cvnet.pt") == tmp_path / "cvnet.pt"
    assert find_model(str(tmp_path), "x.pt") == tmp_path / "x.pt"
    for f in ("cvnet.pt", "tabular-td.pt"):
        expected = PACKAGED_MODELS / f if (PACKAGED_MODELS / f).is_file() else None
        assert find_model(None, f) == expected
    assert find_model(None, "no-such-model.pt") is None
    monkeypatch.setattr("v1d3.policies.models.PACKAGED_MODELS", tmp_path / "none")
    assert packaged_models() is None and find_model(None, "cvnet.pt") is None


def test_numpy_values_are_their_python_numbers() -> None:
    import numpy as np

    policy = make_dispatch("fare", pickup_cost_per_km=np.float32(2.0))
    assert policy.pickup_cost_per_km == 2.0  # type: ignore[attr-defined]
    assert make_dispatch("v1d3", parents=np.array([7])).value.parents == (7,)  # type: ignore[attr-defined]


def test_model_path_refuses_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for bad in ("", ".", "..", "sub/cvnet.pt", "/abs/cvnet.pt"):
        with pytest.raises(ConfigError, match="must be a file name in the models folder"):
            model_path(tmp_path, bad, "cvnet", "manhattan")
    with pytest.raises(ModelError, match=r"ospo: model file .*ospo\.pt not found.*--method ospo"):
        model_path(tmp_path, "ospo.pt", "ospo", "manhattan")
    with pytest.raises(ModelError, match=r"v1d3: .*--method cvnet --out DIR \(see\)$"):
        model_path(tmp_path, "cvnet.pt", "v1d3", None, "cvnet", " (see)")
    (tmp_path / "ospo.pt").write_bytes(b"")
    assert model_path(tmp_path, "ospo.pt", "ospo", None) == tmp_path / "ospo.pt"
    monkeypatch.setattr("v1d3.policies.models.PACKAGED_MODELS", tmp_path / "none")
    with pytest.raises(ModelError, match=r"^grpo needs grpo\.pt in a models folder"):
        model_path(None, "grpo.pt", "grpo", "manhattan")


def test_value_policies_share_their_edge_weights_and_each_can_be_set_apart() -> None:
    from v1d3.policies.models import VALUE_DISPATCH_DEFAULTS

    for name in ("tabular-td", "cvnet", "v1d3"):
        cfg = make_dispatch(name).config  # type: ignore[attr-defined]
        assert cfg.pair_bonus == VALUE_DISPATCH_DEFAULTS["pair_bonus"] > 0
        assert cfg.pickup_penalty_per_km == VALUE_DISPATCH_DEFAULTS["pickup_penalty_per_km"]
    # drop_negative is another rule for when a pair is worth serving: the bonus steps aside
    cfg = make_dispatch("cvnet", drop_negative=True).config  # type: ignore[attr-defined]
    assert cfg.drop_negative and cfg.pair_bonus is None
    with pytest.raises(ConfigError, match="pair_bonus and drop_negative"):
        make_dispatch("cvnet", drop_negative=True, pair_bonus=5.0)
    # none: every order served that can be (the lexicographic lift)
    cfg = make_dispatch("v1d3", pair_bonus=None).config  # type: ignore[attr-defined]
    assert cfg.pair_bonus is None and not cfg.drop_negative
    # the supply-following rule is a parameter of each, off by default
    assert make_dispatch("v1d3").config.slack_drivers_per_order is None  # type: ignore[attr-defined]
    cfg = make_dispatch("cvnet", slack_drivers_per_order=1.0).config  # type: ignore[attr-defined]
    assert cfg.slack_drivers_per_order == 1.0 and cfg.pair_bonus is not None
