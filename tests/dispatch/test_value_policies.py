"""The named value-based policies end to end on a small synthetic city, checked for invariants."""

from __future__ import annotations

import numpy as np
import pytest

from v1d3.demand.config import ScenarioConfig
from v1d3.errors import ConfigError, ModelError
from v1d3.eval.config import RunConfig
from v1d3.eval.run import run_simulation
from v1d3.learn.td import ChampionOnlineTD
from v1d3.learn.train import train_tabular
from v1d3.policies import DISPATCH, REPOSITION
from v1d3.policies.table_values import make_online_td, make_tabular_td, make_value_reposition
from v1d3.sim.config import SimConfig
from v1d3.value.tabular import TabularValue
from v1d3.value.tile import TileCodedValue

SC = ScenarioConfig(name="synthetic", orders=8000, start_hour=7.0, hours=1.0)
SIM = SimConfig(managed_share=0.5)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    out = tmp_path_factory.mktemp("models")
    train_tabular(SC, SIM, days=2, seed=100, out=out)
    return out


def test_the_registry_builds_them_lazily():
    assert DISPATCH["tabular-td"].load() is make_tabular_td  # type: ignore[attr-defined]
    assert DISPATCH["online-td"].load() is make_online_td  # type: ignore[attr-defined]
    assert REPOSITION["value"].load() is make_value_reposition  # type: ignore[attr-defined]


def test_online_td_end_to_end():
    d = make_online_td(models=None, scenario=SC)
    assert isinstance(d.value, TileCodedValue) and isinstance(d.learner, ChampionOnlineTD)
    assert d.config.top_k == 11 and d.config.cancel_factor and d.online.daily_reset == "zero"
    assert d.learner.per_round_decay and d.value.discount.gamma == 0.9
    r = make_value_reposition(models=None, scenario=SC, dispatch=d)
    assert r.value is d.value
    res = run_simulation(RunConfig(scenario=SC, sim=SIM, seed=5), dispatch=d, reposition=r)
    assert res.metrics["completed"] > 0 and res.metrics["total_income"] > 0
    assert np.abs(d.value.table).max() > 0  # learned during the day
    # a second day starts from zero again, and runs the same
    res2 = run_simulation(RunConfig(scenario=SC, sim=SIM, seed=5), dispatch=d, reposition=r)
    assert res2.metrics["total_income"] == res.metrics["total_income"]


def test_tabular_td_end_to_end(models):
    d = make_tabular_td(models=models, scenario=SC, top_k=5)
    assert isinstance(d.value, TabularValue) and d.learner is None and d.config.top_k == 5
    r = make_value_reposition(models=models, scenario=SC, dispatch=d, beta=0.5, cap=2)
    res = run_simulation(RunConfig(scenario=SC, sim=SIM, seed=7), dispatch=d, reposition=r)
    assert res.metrics["completed"] > 0
    assert (res.log.events["kind"] == 3).any()  # some drivers were repositioned


def test_missing_models_are_clear_errors(tmp_path):
    # without a models folder the packaged manhattan models are taken, and refused here
    with pytest.raises(ModelError, match="manhattan"):
        make_tabular_td(models=None, scenario=SC)
    with pytest.raises(
        ModelError, match=r"tabular-td: model file .*tabular-td\.pt not found.*--method tabular-td"
    ):
        make_tabular_td(models=tmp_path, scenario=SC)
    with pytest.raises(ModelError, match="manhattan"):
        make_value_reposition(models=None, scenario=SC, dispatch=None)
    with pytest.raises(ModelError, match="cvnet"):
        make_value_reposition(models=tmp_path, scenario=SC, dispatch=None)


def test_model_of_another_scenario_is_refused(models):
    with pytest.raises(ModelError, match="scenario 'synthetic'"):
        make_tabular_td(models=models, scenario=ScenarioConfig(name="manhattan"))


def test_an_unknown_parameter_is_a_config_error_naming_it():
    with pytest.raises(ConfigError, match=r"dispatch policy 'online-td': .*'nonsense'"):
        make_online_td(nonsense=1)
    with pytest.raises(ConfigError, match=r"reposition policy 'value': .*'betta'"):
        make_value_reposition(dispatch=make_online_td(), betta=1.0)
