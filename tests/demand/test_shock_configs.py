"""Shock configs: specs, scenario files and JSON read back to the same shocks; bad values name
the field."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from v1d3.demand.config import ScenarioConfig
from v1d3.demand.shocks import (
    ClosureShock,
    EventShock,
    SupplyShock,
    WeatherShock,
    load_shock_file,
    parse_shock_spec,
    shock_spec,
)
from v1d3.errors import ConfigError
from v1d3.eval.config import RunConfig

SHOCKS = (
    EventShock(start_h=22, end_h=23, trips=3000, zone="Midtown Center"),
    EventShock(start_h=1, end_h=2.5, lat=40.75, lng=-73.99, radius_m=150, direction="to"),
    WeatherShock(start_h=7, end_h=10, demand=1.3, speed=0.8, zones=("161", "Union Sq")),
    SupplyShock(start_h=17, end_h=20, drivers=0.75),
    ClosureShock(start_h=10, end_h=14, zones=("Times Sq/Theatre District",), slowdown=2.0),
)


@pytest.mark.parametrize("shock", SHOCKS, ids=lambda s: s.kind)
def test_spec_round_trips(shock: object) -> None:
    assert parse_shock_spec(shock_spec(shock)) == shock  # type: ignore[arg-type]


def test_config_json_rebuilds_the_shocks_and_old_files_still_load() -> None:
    cfg = RunConfig(scenario=ScenarioConfig(shocks=SHOCKS, random_shocks=True))
    doc = json.loads(json.dumps(cfg.to_dict()))
    assert [s["kind"] for s in doc["scenario"]["shocks"]] == [s.kind for s in SHOCKS]
    assert RunConfig.from_dict(doc) == cfg
    del doc["scenario"]["shocks"], doc["scenario"]["random_shocks"]
    old = RunConfig.from_dict(doc)
    assert old.scenario.shocks == () and old.scenario.random_shocks is False


def test_toml_file(tmp_path: Path) -> None:
    f = tmp_path / "day.toml"
    f.write_text(
        'random = true\n[[shocks]]\nkind = "event"\nzone = "Midtown Center"\ntrips = 3000\n'
        'start_h = 22\nend_h = 23\n[[shocks]]\nkind = "weather"\ndemand = 1.3\nspeed = 0.8\n'
        'start_h = 7\nend_h = 10\nzones = ["161", "Union Sq"]\n'
    )
    shocks, random = load_shock_file(f)
    assert random is True
    assert shocks == (SHOCKS[0], SHOCKS[2])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("weather:demand=-1", "shocks[0].demand: must be a number >= 0"),
        ("weather:speed=nan", "shocks[0].speed: must be a finite number"),
        ("supply:drivers=inf", "shocks[0].drivers: must be a finite number"),
        ("closure:zones=a,slowdown=0.5", "shocks[0].slowdown: must be a number >= 1"),
        ("storm:demand=2", "shocks[0].kind: unknown shock kind 'storm'"),
        ("event:trips=10", "shocks[0].zone: give either a zone or a point"),
        ("event:zone=a,trips=0", "shocks[0].trips: must be in 1..1,000,000"),
        ("event:zone=a,direction=up", "shocks[0].direction: must be 'from' or 'to'"),
        ("event:zone=a,start_h=9,end_h=8", "shocks[0].end_h: must be after start_h"),
        ("event:zone=a,start_h=-1", "shocks[0].start_h: must be in [0, 24)"),
        ("weather:gain=2", "shocks[0]: expected field=value"),
        ("supply:drivers=lots", "shocks[0].drivers: expected a number"),
    ],
)
def test_bad_spec_names_the_field(spec: str, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_shock_spec(spec, 0)
    assert str(e.value).startswith(message), str(e.value)


def test_window_outside_the_simulated_hours_names_the_field() -> None:
    with pytest.raises(ConfigError, match=r"^shocks\[1\]\.end_h: the window 7-10 h is outside"):
        ScenarioConfig(start_hour=6, hours=2, shocks=(SupplyShock(start_h=6, end_h=7), SHOCKS[2]))
    with pytest.raises(ConfigError, match=r"^shocks\[0\]\.start_h"):
        ScenarioConfig(start_hour=8, hours=2, shocks=(SupplyShock(start_h=7, end_h=9),))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[shocks]\nkind = 1", "is not valid TOML"),
        ('[[shocks]]\nkind = "hail"', "shocks[0].kind: unknown shock kind 'hail'"),
        ('[[shocks]]\nkind = "supply"\ndrivers = -2.0', "shocks[0].drivers: must be a number"),
        ('[[shocks]]\nkind = "supply"\ndriver = 2.0', "shocks[0].driver: not a field"),
        ("random = 1", "random must be true or false"),
        ("shock = 1", "unknown key 'shock'"),
    ],
)
def test_malformed_file_is_one_error(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_shock_file(f)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_multipliers_are_floats_and_checked_finite() -> None:
    assert isinstance(SupplyShock(drivers=1).drivers, float)
    with pytest.raises(ConfigError, match="demand: must be a finite number"):
        WeatherShock(demand=math.nan)


def test_unhashable_kind_is_one_error_naming_the_field(tmp_path: Path) -> None:
    f = tmp_path / "bad.toml"
    f.write_text("[[shocks]]\nkind = [1]\n")
    with pytest.raises(ConfigError, match=r"^shocks\[0\]\.kind: unknown shock kind \[1\]"):
        load_shock_file(f)


def test_file_not_utf8_is_one_error_naming_it(tmp_path: Path) -> None:
    f = tmp_path / "latin1.toml"
    f.write_bytes('[[shocks]]\nkind = "closure"\nzones = ["Caf\xe9"]\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin1\.toml is not UTF-8 text") as e:
        load_shock_file(f)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1: 2\nrandom: true\n", "unknown key '1'"),
        ("- 1\n", "must hold a table (random, shocks), got a list"),
        ("5\n", "must hold a table (random, shocks), got int"),
        ("shocks:\n- kind: supply\n  1: 2\n  x: 3\n", "shocks[0].1: not a field of a supply"),
    ],
)
def test_yaml_with_odd_keys_is_one_error(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_shock_file(f)
    assert message in str(e.value) and "\n" not in str(e.value), str(e.value)


def test_file_shocks_are_numbered_after_the_given_ones(tmp_path: Path) -> None:
    """``--shocks FILE`` adds its shocks after the ``--shock`` ones: its load errors number them
    as the window check of the combined list does."""
    f = tmp_path / "day.toml"
    f.write_text('[[shocks]]\nkind = "supply"\nstart_h = 1\nend_h = 2\n[[shocks]]\nkind = "x"\n')
    with pytest.raises(ConfigError, match=r"^shocks\[3\]\.kind: unknown shock kind 'x'") as e:
        load_shock_file(f, first=2)
    assert "day.toml" in str(e.value)
    f.write_text('[[shocks]]\nkind = "supply"\nstart_h = 1\nend_h = 2\n')
    (shock,), _ = load_shock_file(f, first=2)
    given = SupplyShock(start_h=8, end_h=9)
    with pytest.raises(ConfigError, match=r"^shocks\[2\]\.start_h: the window 1-2 h"):
        ScenarioConfig(start_hour=8, hours=2, shocks=(given, given, shock))
