"""Every config field survives config → regenerate command → the real CLI parser → config.

The study's regenerate command (report.html) and the CLI's options are both derived from the
config fields; this round trip is what keeps them from drifting apart (an option one side did
not know was silently dropped from the command, and ``--resume`` then reran the study).
"""

from __future__ import annotations

import dataclasses
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli_inprocess import run_v1d3
from v1d3.cli.paths import absolute_fields
from v1d3.demand.config import (
    KddConfig,
    ManhattanConfig,
    ScenarioConfig,
    SyntheticConfig,
    TlcConfig,
)
from v1d3.demand.shocks import ClosureShock, EventShock, SupplyShock, WeatherShock
from v1d3.eval.evaluate import Evaluation
from v1d3.eval.study import StudyConfig, study_command
from v1d3.kddcup.submission import AgentConfig
from v1d3.sim.config import SimConfig

SCENARIO = ScenarioConfig(
    name="synthetic",
    weekday=5,
    orders=1234,
    drivers=77,
    fleet_scale=1.5,
    start_hour=6.5,
    hours=3.25,
    h3_resolution=9,
    date="2021-03-04",
    manhattan=ManhattanConfig(zone_day_sd=0.15),
    nyc_tlc=TlcConfig(trips="my trips.parquet"),
    kdd=KddConfig(grid="grid.csv", orders="orders.csv"),
    synthetic=SyntheticConfig(
        rings=4,
        centre_lat=40.5,
        centre_lng=-73.9,
        hotspots=2,
        hotspot_share=0.4,
        hotspot_sd_m=700.0,
        rush_hours=(7.5, 17.25, 20.0),
        rush_gain=1.5,
        rush_width_h=0.8,
        speed_mps=6.5,
        detour=1.2,
        default_orders=5000,
        commute=0.3,
    ),
    shocks=(
        EventShock(start_h=7.0, end_h=8.0, trips=500, zone="Times Sq/Theatre District"),
        EventShock(start_h=9, end_h=9.5, lat=40.75, lng=-73.99, radius_m=200, direction="to"),
        WeatherShock(
            start_h=6.5, end_h=9.75, demand=1.3, speed=0.8, zones=("Midtown Center", "163")
        ),
        SupplyShock(start_h=8.0, end_h=9.0, drivers=0.7),
        ClosureShock(start_h=7.5, end_h=9.0, zones=("Union Sq",), slowdown=2.0),
    ),
    random_shocks=True,
)
"""Every scenario field (nested sources included) away from its default, but the manhattan
source's real-day options, which apply to manhattan only and exclude each other
(:data:`SCENARIO_LIKE`, :data:`SCENARIO_REAL_DAYS`)."""
SCENARIO_LIKE = dataclasses.replace(
    SCENARIO, name="manhattan", manhattan=ManhattanConfig(zone_day_sd=0.15, like_date="2021-02-01")
)
"""The same on manhattan, like a real date (whose weekday, Monday, it takes)."""
SCENARIO_REAL_DAYS = dataclasses.replace(
    SCENARIO, name="manhattan", manhattan=ManhattanConfig(zone_day_sd=0.15, real_days=True)
)

SIM = SimConfig(
    round_s=3.0,
    patience_s=45.0,
    pickup_radius_m=1500.0,
    k_nearest=5,
    cancellations=False,
    cancel_curve=(0.1, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7),
    idle_stay_prob=0.75,
    idle_move_every_s=30.0,
    reposition_after_s=120.0,
    managed_share=0.5,
    shift_mean_h=8.0,
    shift_std_h=1.5,
    overnight_shifts=False,
)
"""Every simulation field away from its default, but ``managed_drivers``, which replaces
``managed_share`` and so cannot be set beside it (:data:`SIM_COUNT`)."""
SIM_COUNT = dataclasses.replace(SIM, managed_share=1.0, managed_drivers=7)
"""The same with a number of managed drivers instead of a share."""


def _leaves(config: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            yield from _leaves(value, f"{path}{f.name}.")
        else:
            yield f"{path}{f.name}", value


@pytest.mark.parametrize(
    "configs",
    [(SCENARIO, SCENARIO_LIKE, SCENARIO_REAL_DAYS), (SIM, SIM_COUNT)],
    ids=["scenario", "sim"],
)
def test_every_field_is_set_away_from_its_default(configs: tuple[Any, ...]) -> None:
    """The round trip below covers every field: a new field must be added here."""
    defaults = dict(_leaves(type(configs[0])()))
    same = [
        name for name in defaults if all(dict(_leaves(c))[name] == defaults[name] for c in configs)
    ]
    assert not same, f"set these fields to a non-default value: {same}"


def _study(
    tmp_path: Path, scenario: ScenarioConfig = SCENARIO, sim: SimConfig = SIM
) -> StudyConfig:
    """A study with every field away from its default (a KDD agent among its policies)."""
    agent = tmp_path / "my agent"
    agent.mkdir(exist_ok=True)
    (agent / "agent.py").write_text(
        "class Agent:\n"
        "    def dispatch(self, observ):\n        return []\n"
        "    def reposition(self, observ):\n        return []\n"
    )
    return StudyConfig(
        policies=(
            "distance/stay",
            "fare/stay",
            "kdd-agent:mine/kdd-agent:mine",
            "kdd-agent:theirs/kdd-agent:theirs",
        ),  # fmt: skip
        # like a date: its weekday only
        weekdays=(0,) if scenario.manhattan.like_date else (5, 6),
        seeds=(3, 4),
        baseline="fare/stay",
        scenario=scenario,
        sim=sim,
        models=str(tmp_path / "models"),
        agents={"mine": str(agent), "theirs": str(agent)},
        agent=AgentConfig(
            time_budget_s=0.75,
            grace_factor=3.0,
            memory_mb=4096,
            max_restarts=2,
            start_timeout_s=30.0,
            max_records=7,
            extras=False,
            python=sys.executable,
        ),  # fmt: skip
        agent_python={"theirs": sys.executable},
    )


def test_every_study_field_is_set_away_from_its_default(tmp_path: Path) -> None:
    """The round trip below covers every study field: a new field must be set in _study."""
    study = _study(tmp_path)
    default = StudyConfig(policies=("distance/stay",))  # the one field without a default
    same = [
        f.name
        for f in dataclasses.fields(study)
        if getattr(study, f.name) == getattr(default, f.name)
    ]
    assert not same, f"set these study fields to a non-default value: {same}"


@pytest.mark.parametrize(
    ("scenario", "sim"),
    [
        (SCENARIO, SIM),
        (SCENARIO_LIKE, SIM),
        (SCENARIO_REAL_DAYS, SIM),
        (SCENARIO, SIM_COUNT),
    ],
    ids=["synthetic", "like", "real", "count"],
)
def test_study_command_round_trips_every_field_through_the_cli(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    scenario: ScenarioConfig,
    sim: SimConfig,
) -> None:
    scenario = absolute_fields(scenario)  # the CLI hands a study its paths absolute
    study = _study(tmp_path, scenario, sim)
    out = tmp_path / "study"
    captured: list[StudyConfig] = []

    def fake_evaluate(got: StudyConfig, where: Path, **_: Any) -> Evaluation:
        captured.append(got)
        return Evaluation(got, Path(where), [], [], [], [])

    monkeypatch.setattr("v1d3.cli.evaluate.evaluate", fake_evaluate)
    words = shlex.split(study_command(study, out))
    assert words[:2] == ["v1d3", "evaluate"]
    code, _, err = run_v1d3(monkeypatch, capsys, *words[1:])
    assert code == 0, err
    (parsed,) = captured
    assert parsed.sim == sim
    # the study's weekdays replace the scenario's weekday in every run
    assert parsed.scenario == dataclasses.replace(scenario, weekday=parsed.scenario.weekday)
    assert parsed.runs() == study.runs()
    assert dataclasses.replace(parsed, scenario=scenario) == study
    assert parsed.agents == study.agents and parsed.agent == study.agent
    assert parsed.agent_python == study.agent_python
