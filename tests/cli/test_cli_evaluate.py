"""``v1d3 evaluate`` from the command line: a tiny study, --resume, and every bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from v1d3.demand.config import ScenarioConfig
from v1d3.errors import ConfigError
from v1d3.eval.evaluate import BASELINE_DISPATCH, default_policies, evaluate
from v1d3.eval.study import StudyConfig
from v1d3.policies.models import packaged_models

TINY = ["--scenario", "synthetic", "--orders", "3000", "--hours", "1", "--start-hour", "8"]
TINY_CONFIG = ScenarioConfig(name="synthetic", orders=3000, hours=1.0, start_hour=8.0)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    """``v1d3 evaluate ARGS`` in a fresh process, as a user runs it."""
    cmd = [sys.executable, "-m", "v1d3.cli.main", "evaluate", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)


def test_parse_int_list() -> None:
    from v1d3.cli.evaluate import parse_int_list

    assert parse_int_list("0-4", "weekdays") == (0, 1, 2, 3, 4)
    assert parse_int_list("1,3,5", "weekdays") == (1, 3, 5)
    assert parse_int_list("0-2,6, 1", "weekdays") == (0, 1, 2, 6)
    with pytest.raises(ConfigError, match="weekdays: expected numbers like 0-4"):
        parse_int_list("mon-fri", "weekdays")
    with pytest.raises(ConfigError, match="weekdays: expected numbers like 0-4"):
        parse_int_list("", "weekdays")
    with pytest.raises(ConfigError, match="weekdays: the range '4-2' is empty"):
        parse_int_list("1,4-2", "weekdays")


def test_default_policies_are_the_baselines_plus_found_models(tmp_path: Path) -> None:
    assert default_policies(None) == BASELINE_DISPATCH
    assert default_policies(tmp_path / "missing") == BASELINE_DISPATCH
    found = default_policies(tmp_path)  # an empty models folder: no trained model in it
    assert found[: len(BASELINE_DISPATCH)] == BASELINE_DISPATCH
    assert "tabular-td" not in found and "cvnet" not in found


def test_evaluate_command_and_resume(tmp_path: Path) -> None:
    out = tmp_path / "study"
    run = _run(*TINY, "--workers", "2", "--out", str(out))
    assert run.returncode == 0, run.stderr
    for name in ("results.parquet", "summary.csv", "report.html", "study.json"):
        assert (out / name).is_file()
    # the default study: the dispatch baselines (plus any value-based policy the packaged
    # models can build) with stay, weekday 2, one seed, baseline distance/stay
    expected = default_policies(packaged_models(), TINY_CONFIG)
    assert expected[: len(BASELINE_DISPATCH)] == BASELINE_DISPATCH
    res = pq.read_table(out / "results.parquet").to_pydict()
    assert res["policy"] == [f"{d}/stay" for d in expected]
    assert set(res["weekday"]) == {2} and set(res["seed"]) == {0}
    assert json.loads((out / "study.json").read_text())["study"]["baseline"] == "distance/stay"
    assert "fare/stay" in run.stdout and "wrote" in run.stdout  # the summary table
    assert f"[{len(expected)}/{len(expected)}]" in run.stderr  # one line per run without a tty

    code, stdout, stderr = _invoke([*TINY, "--out", str(out), "--resume"])
    assert code == 0, stderr
    assert f"{len(expected)} run(s) reused" in stdout


def test_variants_in_brackets_on_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "study"
    variants = "distance,fare[pickup_cost_per_km=0.5],fare[pickup_cost_per_km=2.0]"
    code, stdout, stderr = _invoke([*TINY, "--dispatch", variants, "--out", str(out)])
    assert code == 0, stderr
    res = pq.read_table(out / "results.parquet").to_pydict()
    assert res["policy"] == [
        "distance/stay", "fare[pickup_cost_per_km=0.5]/stay", "fare[pickup_cost_per_km=2.0]/stay"
    ]  # fmt: skip
    assert res["dispatch"] == ["distance", "fare", "fare"]


BAD_INPUTS = {
    "unknown dispatch": (["--dispatch", "nope"], "dispatch: unknown policy 'nope'"),
    "unknown reposition": (["--reposition", "stay,nope"], "reposition: unknown policy 'nope'"),
    "no seeds": (["--seeds", "0"], "seeds: expected at least 1 seed per weekday, got 0"),
    "negative seed": (["--first-seed", "-5"], "seeds: expected seeds >= 0, got -5"),
    "reversed range": (["--weekdays", "3-1"], "weekdays: the range '3-1' is empty"),
    "no weekdays": (["--weekdays", ","], "weekdays: expected numbers like 0-4"),
    "no dispatch": (["--dispatch", ","], "policies: empty; a study needs at least one"),
    "baseline not a policy": (["--dispatch", "nearest,fare"], "baseline: 'distance/stay'"),
    "bad weekdays": (["--weekdays", "mon-fri"], "weekdays: expected numbers"),
    "weekday out of range": (["--weekdays", "3-8"], "weekdays: expected days 0 (Monday) .. 6"),
    "unreachable ray": (
        ["--backend", "ray", "--address", "127.0.0.1:1"],
        "cannot reach a Ray cluster at 127.0.0.1:1",
    ),
    "bad ray address": (["--backend", "ray", "--address", "cluster"], "expected 'auto', host:port"),
    "unknown backend": (["--backend", "spark"], "backend: expected one of local, ray"),
    "bad report hour": (["--report-hour", "24"], "report_hour: expected an hour 0..23"),
    "zero workers": (["--workers", "0"], "workers must be >= 1"),
    "unknown parameter": (["--dispatch", "distance,fare[nope=1]"], "unexpected keyword argument"),
    "unclosed bracket": (["--dispatch", "distance,fare[pickup_cost_per_km=1"], "not closed"),
    "too many managed": (["--managed-drivers", "100000"], "managed_drivers must be at most"),
}


def _invoke(args: list[str]) -> tuple[int, str, str]:
    """Run the command in this process (exit code, stdout, stderr)."""
    from typer.testing import CliRunner

    from v1d3.cli.main import app

    result = CliRunner().invoke(app, ["evaluate", *args])
    return result.exit_code, result.stdout, result.stderr


def _check_one_line(name: str, code: int, stdout: str, stderr: str, message: str) -> None:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert code == 2, f"{name}: exit {code}: {stderr}"
    assert len(lines) == 1, f"{name}: {stderr!r}"
    assert lines[0].startswith("error: ") and message in lines[0], f"{name}: {lines[0]}"
    assert stdout == "", f"{name}: {stdout!r}"


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_is_one_line_exit_2_and_nothing_written(name: str, tmp_path: Path) -> None:
    args, message = BAD_INPUTS[name]
    out = tmp_path / "study"
    code, stdout, stderr = _invoke([*TINY, *args, "--out", str(out)])
    _check_one_line(name, code, stdout, stderr, message)
    assert not out.exists()


def test_bad_input_from_the_installed_command(tmp_path: Path) -> None:
    out = tmp_path / "study"
    run = _run(*TINY, "--dispatch", "nope", "--out", str(out))
    _check_one_line("console script", run.returncode, run.stdout, run.stderr, "unknown policy")
    assert not out.exists()


def test_an_existing_study_or_foreign_folder_is_left_alone(tmp_path: Path) -> None:
    existing = tmp_path / "existing"
    study = StudyConfig(policies=("distance/stay",), scenario=TINY_CONFIG)
    evaluate(study, existing, report=False)
    before = sorted((p, p.stat().st_mtime_ns) for p in existing.rglob("*"))
    code, stdout, stderr = _invoke([*TINY, "--dispatch", "distance,fare", "--out", str(existing)])
    _check_one_line("different study", code, stdout, stderr, "holds a different study")
    assert sorted((p, p.stat().st_mtime_ns) for p in existing.rglob("*")) == before

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("mine")
    code, stdout, stderr = _invoke([*TINY, "--out", str(foreign), "--resume"])
    _check_one_line("not a study", code, stdout, stderr, "holds no v1d3 evaluate study")
    assert [p.name for p in foreign.iterdir()] == ["thesis.tex"]


@pytest.mark.parametrize("budget", ["inf", "nan"])
def test_an_infinite_agent_budget_is_one_line_before_any_run(
    tmp_path: Path, monkeypatch, capsys, budget: str
) -> None:
    """``--agent-budget-s inf`` ran the study and wrote ``Infinity`` (not JSON) into study.json."""
    from cli_inprocess import SMALL_RUN, assert_one_line_error, run_v1d3

    out = tmp_path / "study"
    code, _, err = run_v1d3(
        monkeypatch, capsys, "evaluate", *SMALL_RUN, "--policies", "distance",
        "--agent-budget-s", budget, "--out", str(out),
    )  # fmt: skip
    assert_one_line_error(code, err, f"time_budget_s must be a finite number, got {budget}")
    assert not out.exists()
