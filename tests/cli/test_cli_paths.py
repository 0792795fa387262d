"""Every path a command is given is made absolute when it starts: a change of the current folder
during the run moves nothing it reads or writes (:mod:`v1d3.cli.paths`)."""

from __future__ import annotations

import os
import typing
from pathlib import Path
from typing import Annotated, Any

import pytest

from cli_inprocess import SMALL_RUN, run_v1d3
from v1d3.cli.main import app
from v1d3.cli.paths import PathValue, path_parameters
from v1d3.eval.evaluate import Evaluation
from v1d3.eval.study import StudyConfig


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current folder (``here``), and a folder ``elsewhere`` beside it."""
    (tmp_path / "here").mkdir()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    return tmp_path / "here"


def test_simulate_writes_where_it_was_told_after_a_change_of_folder(
    here: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from v1d3.cli import simulate

    real = simulate.run_simulation

    def moving(*args: Any, **kwargs: Any) -> Any:
        os.chdir(here.parent / "elsewhere")  # what an agent's or a library's code may do
        return real(*args, **kwargs)

    monkeypatch.setattr(simulate, "run_simulation", moving)
    args = ["simulate", *SMALL_RUN, "--out", "runs/a", "--models", "m", "--trips", "t.parquet"]
    code, out, err = run_v1d3(monkeypatch, capsys, *args)
    assert code == 0, err
    assert (here / "runs" / "a" / "config.json").is_file()
    assert os.listdir(here.parent / "elsewhere") == []
    from v1d3.eval.config import load_config

    cfg = load_config(here / "runs" / "a" / "config.json")
    assert cfg.models == str(here / "m")
    assert cfg.scenario.nyc_tlc.trips == str(here / "t.parquet")
    assert f"run folder: {here / 'runs' / 'a'}" in out


def test_evaluate_hands_the_study_every_path_absolute(
    here: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    captured: list[tuple[StudyConfig, Path]] = []

    def fake_evaluate(study: StudyConfig, out: Path, **_: Any) -> Evaluation:
        captured.append((study, out))
        return Evaluation(study, Path(out), [], [], [], [])

    monkeypatch.setattr("v1d3.cli.evaluate.evaluate", fake_evaluate)
    args = ["evaluate", *SMALL_RUN, "--dispatch", "nearest", "--baseline", "nearest/stay"]
    args += ["--out", "study", "--models", "../m", "--agent", "a=agents/a", "--agent", "b"]
    args += ["--grid", "g.csv", "--kdd-orders", "o.csv", "--trips", "t.parquet"]
    code, _, err = run_v1d3(monkeypatch, capsys, *args)
    assert code == 0, err
    ((study, out),) = captured
    assert out == here / "study"
    assert study.models == str(here / ".." / "m")
    assert study.agents == {"a": str(here / "agents" / "a"), "b": str(here / "b")}
    kdd, tlc = study.scenario.kdd, study.scenario.nyc_tlc
    assert (kdd.grid, kdd.orders, tlc.trips) == tuple(
        str(here / n) for n in ("g.csv", "o.csv", "t.parquet")
    )


def test_a_config_files_relative_paths_are_made_absolute(
    here: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from v1d3.cli import simulate
    from v1d3.eval.config import RunConfig, save_config

    captured: list[RunConfig] = []
    monkeypatch.setattr(simulate, "run_simulation", lambda cfg, **_: captured.append(cfg) or 1 / 0)
    base = RunConfig(models="m", dispatch="kdd-agent", reposition="kdd-agent")
    cfg = RunConfig.from_dict(
        {**base.to_dict(), "dispatch_params": {"path": "ag"}, "reposition_params": {"path": "ag"}}
    )
    cfg = RunConfig.from_dict({**cfg.to_dict(), "scenario": {"kdd": {"grid": "g.csv"}}})
    save_config(cfg, here / "c.json")
    with pytest.raises(ZeroDivisionError):
        run_v1d3(monkeypatch, capsys, "simulate", "--config", "c.json", "--out", "x")
    (got,) = captured
    assert got.models == str(here / "m") and got.scenario.kdd.grid == str(here / "g.csv")
    assert got.dispatch_params["path"] == got.reposition_params["path"] == str(here / "ag")


def test_agent_specs_keep_their_names() -> None:
    spec = PathValue(after="=")
    assert spec.absolute(["a=x/y", "z", "b=/abs"]) == [
        f"a={os.getcwd()}/x/y",
        f"{os.getcwd()}/z",
        "b=/abs",
    ]


# options whose help speaks of a file or folder but are read before the command starts its work
READ_AT_ONCE = {"shocks"}  # --shocks FILE|random: parsed into the scenario by the option itself


def test_every_option_naming_a_file_or_folder_is_made_absolute() -> None:
    checked = 0
    for info in app.registered_commands:
        fn = info.callback
        assert fn is not None
        paths = set(path_parameters(fn))
        for name, tp in typing.get_type_hints(fn, include_extras=True).items():
            extras = typing.get_args(tp)[1:] if typing.get_origin(tp) is Annotated else ()
            text = " ".join(str(getattr(x, "help", "") or "") for x in extras).lower()
            said = text.split("(")[0]  # what the option is, before any note in brackets
            if name in READ_AT_ONCE or not any(w in said for w in ("file", "folder", ".json")):
                continue
            assert name in paths, f"{info.name or fn.__name__} --{name}: not made absolute"
            checked += 1
    assert checked >= 20
