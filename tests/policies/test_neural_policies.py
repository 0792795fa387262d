"""``cvnet`` and ``v1d3`` end to end on a small synthetic scenario, with a model trained on two
tiny days; missing models are named with the command that trains them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from v1d3.demand.config import SyntheticConfig
from v1d3.errors import ConfigError, ModelError
from v1d3.eval.config import RunConfig
from v1d3.eval.run import run_simulation
from v1d3.learn.config import OfflineTrainConfig
from v1d3.learn.train_neural import train_cvnet_from_scenario
from v1d3.policies import make_dispatch
from v1d3.policies.models import PACKAGED_MODELS
from v1d3.policies.neural import V1D3_SCHEDULE, make_cvnet, make_v1d3
from v1d3.policies.table_values import make_value_reposition
from v1d3.sim.checker import check_run
from v1d3.sim.config import SimConfig
from v1d3.value.cvnet import load_cvnet
from v1d3.value.online import OnlineCVNetValue, ResidualValue

SCENARIO = dict(
    name="synthetic", orders=6_000, start_hour=7.0, hours=1.5, synthetic=SyntheticConfig(rings=4)
)


def _scenario(**kw: object):
    from v1d3.demand.config import ScenarioConfig

    return ScenarioConfig(**{**SCENARIO, **kw})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("models")
    cfg = OfflineTrainConfig(epochs=3, batch_size=1024, device="cpu", seed=5)
    train_cvnet_from_scenario(_scenario(), SimConfig(), 2, 500, out=out, train_cfg=cfg)
    return out


def test_trained_model_records_how_it_was_made(models: Path):
    value = load_cvnet(models / "cvnet.pt", scenario=_scenario())
    meta = value.meta
    assert meta["method"] == "cvnet" and meta["scenario"] == "synthetic"
    assert meta["h3_resolution"] == 8 and meta["resolutions"] == [8, 7, 6]
    assert [d["seed"] for d in meta["days"]] == [500, 501]
    assert [d["weekday"] for d in meta["days"]] == [0, 1]
    assert meta["days"][-1]["held_out"] is True
    assert len(meta["history"]) >= 1 and meta["behaviour"] == "distance"
    assert meta["gamma"] == 0.9 and meta["time_unit_s"] == 600.0


@pytest.mark.parametrize(
    ("name", "params", "value_type", "hours"),
    [
        ("cvnet", {}, None, 1.5),
        ("v1d3", {}, ResidualValue, 1.5),
        # the neural online learner is slower: a quarter of an hour, an ensemble step in it
        ("v1d3", {"online": "neural", "ensemble_every_s": 600.0}, OnlineCVNetValue, 0.25),
    ],
)
def test_policies_run_and_pass_the_checker(models: Path, name, params, value_type, hours):
    sc = _scenario(hours=hours)
    policy = make_dispatch(name, models, sc, **params)
    if value_type is not None:
        assert isinstance(policy.value, value_type)  # type: ignore[attr-defined]
    cfg = RunConfig(scenario=sc, sim=SimConfig(), seed=11, models=str(models))
    result = run_simulation(cfg, dispatch=policy)  # checks the invariants itself
    assert check_run(result.log).ok
    assert result.metrics["total_income"] > 0


def test_v1d3_learns_and_shares_its_values_with_repositioning(models: Path):
    sc = _scenario()
    sim = SimConfig(managed_share=0.5)
    dispatch = make_v1d3(models, sc, ensemble_every_s=1800.0)
    reposition = make_value_reposition(models, sc, dispatch=dispatch)
    assert reposition.value is dispatch.value  # type: ignore[attr-defined]
    result = run_simulation(
        RunConfig(scenario=sc, sim=sim, seed=12), dispatch=dispatch, reposition=reposition
    )
    assert check_run(result.log).ok
    assert abs(dispatch.value.residual).sum() > 0  # type: ignore[attr-defined]
    # the constants the run resolved to, defaults included, with the values shared
    saved = result.policies
    assert saved["dispatch"]["online"]["omega"] == V1D3_SCHEDULE["omega"]  # the default schedule
    assert saved["dispatch"]["online"]["forget_s"] == saved["dispatch"]["learner"]["forget_s"]
    assert saved["dispatch"]["learner"]["forget_s"] == V1D3_SCHEDULE["forget_s"]
    assert saved["dispatch"]["online"]["ensemble_every_s"] == 1800.0
    assert saved["dispatch"]["learner"]["lr"] == saved["dispatch"]["online"]["lr"] == 0.005
    assert saved["dispatch"]["value"]["offline"]["discount"]["gamma"] == 0.9
    assert saved["dispatch"]["value"]["offline"]["net"]["cfg"]["embed_dim"] > 0
    assert saved["reposition"]["config"]["beta"] == 3.0
    assert saved["reposition"]["value"]["same_as"] == "dispatch.value"


def test_missing_model_names_the_file_and_the_command(tmp_path: Path):
    with pytest.raises(ModelError, match=r"cvnet\.pt.*v1d3 train --scenario synthetic"):
        make_cvnet(tmp_path, _scenario())
    if not (PACKAGED_MODELS / "cvnet.pt").is_file():
        with pytest.raises(ModelError, match=r"v1d3 needs cvnet\.pt.*--models"):
            make_v1d3(None, _scenario())
    else:  # the packaged manhattan model does not fit this scenario
        with pytest.raises(ModelError, match="trained on scenario 'manhattan'"):
            make_v1d3(None, _scenario())


def test_model_of_another_scenario_is_refused(models: Path):
    from v1d3.demand.config import ScenarioConfig

    with pytest.raises(ModelError, match="trained on scenario 'synthetic'"):
        make_cvnet(models, ScenarioConfig(name="manhattan"))


def test_bad_parameters(models: Path):
    with pytest.raises(ConfigError, match="online"):
        make_v1d3(models, _scenario(), online="tabular")
    with pytest.raises(ConfigError, match="omega"):
        make_v1d3(models, _scenario(), omega=2.0)
    with pytest.raises(ConfigError, match="start must be 'offline' or 'zero'"):
        make_v1d3(models, _scenario(), start="half")
    with pytest.raises(ConfigError, match="start='zero' needs online='residual'"):
        make_v1d3(models, _scenario(), start="zero", online="neural")
    with pytest.raises(ConfigError, match="model must be a file name"):
        make_cvnet(models, _scenario(), model="../cvnet.pt")


def test_ablation_variants_of_v1d3(models: Path, tmp_path: Path):
    import shutil

    from v1d3.value.base import ZeroValue

    # online only: a residual table over V = 0, never pulled back to anything
    zero = make_v1d3(models, _scenario(), start="zero")
    assert isinstance(zero.value.offline, ZeroValue)  # type: ignore[attr-defined]
    assert zero.offline is None  # type: ignore[attr-defined]
    sc = _scenario(hours=1.0)
    result = run_simulation(RunConfig(scenario=sc, seed=11), dispatch=zero)
    assert check_run(result.log).ok
    assert abs(zero.value.residual).sum() > 0  # type: ignore[attr-defined]
    # another model file of the same folder (e.g. one trained with the HL-Gauss loss)
    shutil.copy(models / "cvnet.pt", tmp_path / "cvnet-other.pt")
    other = make_cvnet(tmp_path, _scenario(), model="cvnet-other.pt")
    assert other.value.meta["scenario"] == "synthetic"  # type: ignore[attr-defined]
    with pytest.raises(ModelError, match="cvnet-missing.pt"):
        make_cvnet(tmp_path, _scenario(), model="cvnet-missing.pt")
    # corrections that fade into the future and over time, recorded with the run
    fading = make_v1d3(models, sc, horizon_s=900.0, forget_s=1800.0, omega=1.0)
    result = run_simulation(RunConfig(scenario=sc, seed=11), dispatch=fading)
    assert check_run(result.log).ok
    saved = result.policies["dispatch"]
    assert saved["value"]["horizon_s"] == 900.0 and saved["learner"]["forget_s"] == 1800.0
    assert fading.value.now_s > sc.start_hour * 3600.0  # type: ignore[attr-defined]


def test_the_prior_is_learned_from_v1d3_days_and_both_policies_start_from_it(models: Path):
    from v1d3.learn.prior import learn_prior
    from v1d3.value.prior import PRIOR_FILE, PriorCorrectedValue, file_sha256, save_prior

    sc = _scenario(hours=1.0)
    prior, labels, days = learn_prior(sc, SimConfig(), 2, 700, models)
    assert prior.shape == (24, len(labels)) and [d["seed"] for d in days] == [700, 701]
    assert np.abs(prior[7]).max() > 0  # the simulated hour, 7:00-8:00
    assert not prior[np.arange(24) != 7].any()  # hours no day simulated add nothing
    folder = models.parent / "with-prior"
    folder.mkdir(exist_ok=True)
    (folder / "cvnet.pt").write_bytes((models / "cvnet.pt").read_bytes())
    save_prior(folder / PRIOR_FILE, prior, labels, len(days), file_sha256(folder / "cvnet.pt"))
    v1d3 = make_v1d3(folder, sc, prior=PRIOR_FILE)
    assert isinstance(v1d3.value.offline, PriorCorrectedValue)  # type: ignore[attr-defined]
    assert v1d3.offline is v1d3.value.offline  # type: ignore[attr-defined]  # pulled back to it
    cvnet = make_cvnet(folder, sc, prior=PRIOR_FILE, prior_scale=0.5)
    assert isinstance(cvnet.value, PriorCorrectedValue)  # type: ignore[attr-defined]
    cfg = RunConfig(scenario=sc, sim=SimConfig(), seed=11, models=str(folder))
    assert check_run(run_simulation(cfg, dispatch=v1d3).log).ok
    with pytest.raises(ModelError, match="v1d3-prior.npz not found"):
        make_v1d3(models, sc, prior=PRIOR_FILE)
    with pytest.raises(ConfigError, match="prior must be an .npz file name"):
        make_cvnet(folder, sc, prior="cvnet.pt")
    with pytest.raises(ConfigError, match="prior must be an .npz file name"):
        make_cvnet(folder, sc, prior="../v1d3-prior.npz")
    with pytest.raises(ConfigError, match="prior_scale needs a prior"):
        make_v1d3(folder, sc, prior_scale=0.5)
    # a correction of one offline network is none of another's
    save_prior(folder / "other.npz", prior, labels, len(days), "0" * 64)
    with pytest.raises(ModelError, match="other.npz: learned over another offline model"):
        make_v1d3(folder, sc, prior="other.npz")
    with pytest.raises(ConfigError, match="dispatch policy 'v1d3': forget_s must be"):
        make_dispatch("v1d3", folder, sc, forget_s="soon")
