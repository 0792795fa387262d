"""kdd-grid reports its dropped rows; an exported agent refuses a scenario it does not fit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli_inprocess import assert_one_line_error, run_v1d3
from v1d3.demand.config import KddConfig, ScenarioConfig, SyntheticConfig
from v1d3.demand.synthetic import synthetic_city
from v1d3.errors import ConfigError
from v1d3.kddcup.export import export_agent
from v1d3.kddcup.grid import write_grid
from v1d3.kddcup.submission import check_agent_scenario


def _kdd_grid(*args: str) -> str:
    from v1d3.cli.main import app

    r = CliRunner().invoke(app, ["kdd-grid", *args])
    assert r.exit_code == 0, r.output
    return " ".join(r.output.split())


def test_kdd_grid_counts_dropped_grid_rows(kdd_files, tmp_path: Path) -> None:
    grid = ["--scenario", "kdd", "--grid", str(kdd_files.grid), "--orders", "200"]
    out = _kdd_grid(str(tmp_path / "g.csv"), *grid)
    assert "91 cells" in out
    assert "dropped rows: 3 (grid_fields: 1, grid_number: 1, grid_stray: 1)" in out


def test_kdd_grid_counts_dropped_order_rows(kdd_files, tmp_path: Path) -> None:
    out = _kdd_grid(
        str(tmp_path / "g.csv"),
        "--scenario",
        "kdd",
        "--grid",
        str(kdd_files.grid),
        "--kdd-orders",
        str(kdd_files.orders),
        "--weekday",
        "1",
        "--orders-out",
        str(tmp_path / "o.csv"),
    )
    bad = {**kdd_files.orders_bad_rows}
    bad.update({f"grid_{k}": v for k, v in kdd_files.grid_bad_rows.items()})
    m = re.search(r"dropped rows: (\d+) \(([^)]*)\)", out)
    assert m is not None, out
    reported = dict(kv.split(": ") for kv in m.group(2).split(", "))
    assert int(m.group(1)) == sum(bad.values())
    assert reported == {k: str(v) for k, v in bad.items() if v}


def test_kdd_grid_says_when_nothing_was_dropped(tmp_path: Path) -> None:
    out = _kdd_grid(str(tmp_path / "g.csv"), "--scenario", "synthetic", "--orders", "200")
    assert "dropped rows: 0" in out


@pytest.fixture(scope="module")
def synthetic_agent(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sc = ScenarioConfig(name="synthetic", orders=2000, start_hour=7.0, hours=0.5)
    return export_agent("distance", "stay", None, tmp_path_factory.mktemp("ag") / "sub", sc)


def test_exported_agent_must_fit_the_scenario(synthetic_agent: Path) -> None:
    check_agent_scenario(synthetic_agent, ScenarioConfig(name="synthetic", hours=2.0))
    check_agent_scenario(synthetic_agent, "synthetic")
    with pytest.raises(ConfigError, match="exported for scenario 'synthetic', not 'manhattan'"):
        check_agent_scenario(synthetic_agent, ScenarioConfig(name="manhattan"))
    with pytest.raises(ConfigError, match="H3 resolution 8, the scenario uses 7"):
        check_agent_scenario(synthetic_agent, ScenarioConfig(name="synthetic", h3_resolution=7))


def test_cli_agent_on_another_scenario_is_one_line(
    synthetic_agent: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    out = tmp_path / "run"
    args = ["simulate", "--scenario", "manhattan", "--hours", "0.25", "--start-hour", "8"]
    code, _, err = run_v1d3(
        monkeypatch, capsys, *args, "--agent", str(synthetic_agent), "--out", str(out)
    )
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and str(synthetic_agent) in err and "manhattan" in err
    assert not out.exists()


def test_exported_kdd_agent_must_fit_the_grid(kdd_files, tmp_path: Path) -> None:
    sc = ScenarioConfig(name="kdd", kdd=KddConfig(grid=str(kdd_files.grid)), orders=200, hours=0.5)
    folder = export_agent("distance", "stay", None, tmp_path / "sub", sc)
    check_agent_scenario(folder, sc)
    other = tmp_path / "other.csv"
    write_grid(synthetic_city(SyntheticConfig(rings=2), 8), other)
    with pytest.raises(ConfigError, match="another grid"):
        check_agent_scenario(folder, ScenarioConfig(name="kdd", kdd=KddConfig(grid=str(other))))


def test_kdd_grid_refuses_to_write_over_its_input(kdd_files, tmp_path: Path, monkeypatch, capsys):
    grid = tmp_path / "grid.csv"
    grid.write_bytes(kdd_files.grid.read_bytes())
    orders = tmp_path / "orders.csv"
    orders.write_bytes(kdd_files.orders.read_bytes())
    before = (grid.read_bytes(), orders.read_bytes())
    kdd = ["--scenario", "kdd", "--grid", str(grid), "--kdd-orders", str(orders)]
    for args, needle in (
        ([str(grid), *kdd], f"out: {grid} is the input file"),
        ([str(tmp_path / "g.csv"), "--orders-out", str(orders), *kdd], "orders_out:"),
    ):
        code, _, err = run_v1d3(monkeypatch, capsys, "kdd-grid", *args)
        assert_one_line_error(code, err, needle)
    assert (grid.read_bytes(), orders.read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.csv", "orders.csv"]
