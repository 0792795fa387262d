"""The online learner settings: checked on construction, read by every learner the same way."""

from __future__ import annotations

import dataclasses

import pytest

from v1d3.errors import ConfigError
from v1d3.learn.config import SCHEDULE_FIELDS, OfflineTrainConfig, OnlineTrainConfig
from v1d3.learn.online_neural import NeuralOnline, ResidualOnline
from v1d3.learn.td import ChampionOnlineTD, PopulationOnlineTD


def test_online_defaults_are_the_published_ones() -> None:
    cfg = OnlineTrainConfig()
    assert (cfg.daily_reset, cfg.ensemble_every_s, cfg.omega) == ("none", 3600.0, 0.2)
    assert cfg.lr is None and cfg.centred and cfg.per_round_decay


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ({"omega": 1.5}, "omega must be in"),
        ({"ensemble_every_s": 0.0}, "ensemble_every_s must be > 0"),
        ({"daily_reset": "weekly"}, "^online learning: daily_reset must be one of "),
        ({"lr": "fast"}, "^online learning: lr must be "),
        ({"centred": "no"}, "^online learning: centred must be "),
    ],
)
def test_online_config_refuses_bad_fields(bad: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        OnlineTrainConfig(**bad)


def test_learners_take_the_rate_or_their_own_default() -> None:
    none = OnlineTrainConfig()
    assert ChampionOnlineTD.from_config(none).alpha == 0.025
    assert PopulationOnlineTD.from_config(none).lr == 0.025
    assert ResidualOnline.from_config(none).lr == 0.005
    assert NeuralOnline.from_config(none).lr == 1e-4
    cfg = OnlineTrainConfig(lr=0.5, centred=False, per_round_decay=False)
    champ = ChampionOnlineTD.from_config(cfg, duration="exact")
    assert (champ.alpha, champ.per_round_decay, champ.duration) == (0.5, False, "exact")
    assert PopulationOnlineTD.from_config(cfg).lr == 0.5
    res = ResidualOnline.from_config(cfg)
    assert (res.lr, res.centred) == (0.5, False)
    assert NeuralOnline.from_config(cfg).lr == 0.5
    with pytest.raises(ConfigError, match="alpha must be in"):
        ChampionOnlineTD.from_config(OnlineTrainConfig(lr=2.0))


def test_split_takes_the_schedule_fields_only() -> None:
    params = {"omega": 0.3, "top_k": 5, "lr": 0.1, "daily_reset": "zero"}
    mine, rest = OnlineTrainConfig.split(params)
    assert mine == {"omega": 0.3, "daily_reset": "zero"}
    assert rest == {"top_k": 5, "lr": 0.1}  # a learner's rate is the policy's own parameter
    names = {f.name for f in dataclasses.fields(OnlineTrainConfig)}
    assert set(SCHEDULE_FIELDS) <= names


def test_offline_and_online_configs_are_siblings() -> None:
    for cls in (OfflineTrainConfig, OnlineTrainConfig):
        assert dataclasses.is_dataclass(cls)
        with pytest.raises(dataclasses.FrozenInstanceError):
            cls().lr = 1.0  # type: ignore[misc]
