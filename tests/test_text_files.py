"""Text files in and out: strict JSON written, UTF-8 and strict JSON read, one line naming the
file (:mod:`v1d3.text_files` and the writers and readers that go through it)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from cli_inprocess import assert_one_line_error, run_v1d3
from v1d3.errors import ConfigError, DataError
from v1d3.eval.run import write_run
from v1d3.text_files import json_text, read_json, read_text


def test_json_text_refuses_non_finite_naming_the_file_and_key() -> None:
    assert json_text({"a": [1, np.float64(2.5), np.int64(3)]}) == '{"a": [1, 2.5, 3]}'
    for bad in (float("nan"), float("inf"), np.float64("-inf")):
        with pytest.raises(DataError, match=r"^metrics\.json: m\.x\[1\] is .*not a finite"):
            json_text({"m": {"x": [0.0, bad]}}, "metrics.json")


def test_a_run_with_a_non_finite_metric_writes_nothing(synthetic_run, tmp_path: Path) -> None:
    """metrics.json used to get ``Infinity`` (not JSON); now the run folder is refused whole."""
    result = dataclasses.replace(
        synthetic_run, metrics={**synthetic_run.metrics, "total_income": float("inf")}
    )
    with pytest.raises(DataError, match=r"metrics\.json: total_income is inf"):
        write_run(result, tmp_path / "run")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b'{"seed": 1, "name": "caf\xe9"}', r"not UTF-8 text \(b'\\xe9' at byte 24\)"),
        (b'{"seed": NaN}', r"not valid JSON \(NaN is not a JSON value\)"),
        (b'{"seed": -Infinity}', r"not valid JSON \(-Infinity is not a JSON value\)"),
        (b'{"seed": 1e999}', r"not valid JSON \(1e999 is beyond the range of a float\)"),
        (b'{"seed": ', r"not valid JSON \(Expecting value"),
    ],
)
def test_read_json_is_strict_and_one_line(tmp_path: Path, data: bytes, needle: str) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(data)
    with pytest.raises(DataError, match=rf"^{path}: {needle}") as e:
        read_json(path, "run config")
    assert "\n" not in str(e.value)


def test_read_text_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=rf"^{tmp_path / 'none'}: file not found"):
        read_text(tmp_path / "none", "grid", ConfigError)
    with pytest.raises(DataError, match=rf"^{tmp_path}: a folder, not a grid"):
        read_text(tmp_path, "grid")


def test_simulate_config_not_utf8_is_one_line(tmp_path: Path, monkeypatch, capsys) -> None:
    """A config.json with a non-UTF-8 byte was a UnicodeDecodeError traceback."""
    cfg = tmp_path / "config.json"
    cfg.write_bytes(json.dumps({"scenario": {"name": "synthetic"}}).encode()[:-1] + b'"\xff"}')
    code, _, err = run_v1d3(
        monkeypatch, capsys, "simulate", "--config", str(cfg), "--out", str(tmp_path / "run")
    )
    assert_one_line_error(code, err, f"{cfg}: not UTF-8 text")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]
