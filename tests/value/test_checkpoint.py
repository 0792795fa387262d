"""Checkpoints: round trip, atomic writes, and a clear ModelError for every misfit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from v1d3 import __version__
from v1d3.demand.config import ScenarioConfig, SyntheticConfig
from v1d3.demand.synthetic import synthetic_city
from v1d3.errors import ModelError
from v1d3.value.base import Discount
from v1d3.value.checkpoint import city_digest, load_checkpoint, save_checkpoint
from v1d3.value.tabular import TabularValue


@pytest.fixture(scope="module")
def city():
    return synthetic_city(SyntheticConfig(rings=2), 8)


def test_save_load_round_trip(tmp_path):
    path = tmp_path / "sub" / "m.pt"
    state = {"w": torch.arange(3.0), "n": 4}
    save_checkpoint(path, state, {"method": "x", "scenario": "synthetic"})
    got, meta = load_checkpoint(path, expect_method="x", scenario="synthetic")
    assert torch.equal(got["w"], state["w"]) and got["n"] == 4
    assert meta["version"] == __version__ and meta["method"] == "x"
    assert [p.name for p in path.parent.iterdir()] == ["m.pt"]  # no temporary file left


def test_tabular_value_round_trip(tmp_path, city):
    v = TabularValue(city.n_cells, 900.0, Discount(0.95, 300.0), end_s=7200.0,
                     cells_digest=city_digest(city))  # fmt: skip
    v.table[:] = np.random.default_rng(0).normal(size=v.table.size)
    v.counts[:] = 3
    v.save(tmp_path / "tabular-td.pt", scenario="synthetic", h3_resolution=8, days=2)
    w = TabularValue.load(tmp_path / "tabular-td.pt", scenario=ScenarioConfig(name="synthetic"))
    np.testing.assert_array_equal(w.table, v.table)
    np.testing.assert_array_equal(w.counts, v.counts)
    assert (w.bucket_s, w.end_s, w.discount) == (900.0, 7200.0, Discount(0.95, 300.0))
    w.bind(city, 2)
    _, meta = load_checkpoint(tmp_path / "tabular-td.pt")
    assert meta["days"] == 2 and meta["bucket_s"] == 900.0 and meta["gamma"] == 0.95
    assert meta["time_unit_s"] == 300.0 and meta["h3_resolution"] == 8


def test_missing_file_says_how_to_train(tmp_path):
    with pytest.raises(ModelError) as e:
        load_checkpoint(tmp_path / "tabular-td.pt", expect_method="tabular-td")
    msg = str(e.value)
    assert "model file not found" in msg and "v1d3 train --method tabular-td" in msg
    assert str(tmp_path / "tabular-td.pt") in msg and "\n" not in msg


def test_wrong_method_scenario_resolution_or_garbage(tmp_path):
    path = tmp_path / "m.pt"
    save_checkpoint(path, {}, {"method": "cvnet", "scenario": "manhattan", "h3_resolution": 8})
    with pytest.raises(ModelError, match="'cvnet' model, expected 'tabular-td'"):
        load_checkpoint(path, expect_method="tabular-td")
    with pytest.raises(ModelError, match="scenario 'manhattan', not 'synthetic'"):
        load_checkpoint(path, scenario=ScenarioConfig(name="synthetic"))
    with pytest.raises(ModelError, match="H3 resolution 8"):
        load_checkpoint(path, scenario=ScenarioConfig(name="manhattan", h3_resolution=9))
    load_checkpoint(path, expect_method="cvnet", scenario=ScenarioConfig(name="manhattan"))
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="not a readable"):
        load_checkpoint(bad)
    torch.save({"x": 1}, bad)
    with pytest.raises(ModelError, match="no meta/state"):
        load_checkpoint(bad)


def test_tabular_load_refuses_malformed_state(tmp_path):
    save_checkpoint(tmp_path / "t.pt", {"table": torch.zeros(1, 1, 2)}, {"method": "tabular-td"})
    with pytest.raises(ModelError, match="malformed"):
        TabularValue.load(tmp_path / "t.pt")
