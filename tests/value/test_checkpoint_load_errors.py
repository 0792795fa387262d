"""A corrupt checkpoint is one line naming the file, from the loader and from the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from cli_inprocess import run_v1d3
from v1d3.errors import ModelError
from v1d3.value.checkpoint import load_checkpoint, save_checkpoint


def _corrupt(path: Path, how: str) -> None:
    if how == "junk":
        path.write_bytes(np.random.default_rng(0).bytes(3000))
    elif how == "text":
        path.write_text("hello\nworld\n")
    else:  # truncated
        save_checkpoint(path, {"w": torch.zeros(1000)}, {"method": "cvnet"})
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("how", ["junk", "text", "truncated"])
def test_corrupt_checkpoint_is_one_line(tmp_path: Path, how: str) -> None:
    path = tmp_path / "cvnet.pt"
    _corrupt(path, how)
    with pytest.raises(ModelError) as exc:
        load_checkpoint(path, expect_method="cvnet")
    msg = str(exc.value)
    assert msg.startswith(f"{path}: not a readable v1d3 checkpoint (")
    assert "\n" not in msg and "weights_only" not in msg


def test_meta_that_is_not_a_dict(tmp_path: Path) -> None:
    path = tmp_path / "m.pt"
    torch.save({"meta": [1], "state": {}}, path)
    with pytest.raises(ModelError, match="not dictionaries"):
        load_checkpoint(path, expect_method="cvnet")


@pytest.mark.parametrize("name", ["cvnet", "tabular-td"])
def test_cli_simulate_with_corrupt_model_is_one_line(tmp_path, monkeypatch, capsys, name) -> None:
    models = tmp_path / "models"
    models.mkdir()
    _corrupt(models / f"{name}.pt", "junk")
    args = ["simulate", "--scenario", "synthetic", "--orders", "300", "--hours", "0.5"]
    args += ["--dispatch", name, "--models", str(models), "--out", str(tmp_path / "run")]
    code, _, err = run_v1d3(monkeypatch, capsys, *args)
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert f"{name}.pt: not a readable v1d3 checkpoint (" in err and "Traceback" not in err


class _Payload:
    """What a tampered model file holds: loading it with pickle would create ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (open, (str(self.marker), "w"))


def _tampered(path: Path, marker: Path) -> Path:
    torch.save({"meta": {"method": "cvnet"}, "state": {"w": _Payload(marker)}}, path)
    return path


def test_tampered_checkpoint_says_what_it_holds(tmp_path: Path) -> None:
    """torch's refusal advised re-running with weights_only=False (which runs the file) or
    allowlisting the global; the message now names the file and what is wrong with it."""
    path = _tampered(tmp_path / "cvnet.pt", tmp_path / "pwned")
    with pytest.raises(ModelError) as exc:
        load_checkpoint(path, expect_method="cvnet")
    msg = str(exc.value)
    assert msg.startswith(f"{path}: holds objects a model file must not hold (it refers to ")
    assert "\n" not in msg
    assert not any(w in msg for w in ("weights_only", "safe_globals", "allowlist", "trust"))
    assert not (tmp_path / "pwned").exists()


def test_cli_simulate_with_tampered_model_is_one_line(tmp_path, monkeypatch, capsys) -> None:
    models = tmp_path / "models"
    models.mkdir()
    _tampered(models / "cvnet.pt", tmp_path / "pwned")
    args = ["simulate", "--scenario", "synthetic", "--orders", "300", "--hours", "0.5"]
    args += ["--dispatch", "cvnet", "--models", str(models), "--out", str(tmp_path / "run")]
    code, _, err = run_v1d3(monkeypatch, capsys, *args)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "cvnet.pt: holds objects a model file must not hold" in err and "weights_only" not in err
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "run").exists()


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused(tmp_path: Path, value: float) -> None:
    """A model with a NaN in its table loaded and drove dispatch with NaN values; such a file
    is refused when read, and not written in the first place."""
    path = tmp_path / "tabular-td.pt"
    table = torch.zeros(2, 3, dtype=torch.float64)
    table[1, 2] = value
    for state, meta, where in (
        ({"table": table, "bucket_s": 600.0}, {"method": "tabular-td"}, r"state\.table"),
        ({"table": torch.zeros(2)}, {"method": "tabular-td", "gamma": value}, r"meta\.gamma"),
    ):
        with pytest.raises(ModelError, match=rf"not written: {where} holds NaN or infinite"):
            save_checkpoint(path, state, meta)
        assert not path.exists()
        torch.save({"meta": meta, "state": state}, path)  # written by something else
        with pytest.raises(ModelError, match=rf"tabular-td\.pt: {where} holds NaN or infinite"):
            load_checkpoint(path)
        path.unlink()
    # an epoch's NaN loss in the training history is a record, not a number the model uses
    history = [{"epoch": 1, "train_loss": value}]
    save_checkpoint(path, {"table": torch.zeros(2)}, {"method": "tabular-td", "history": history})
    assert load_checkpoint(path)[1]["history"][0]["epoch"] == 1
