"""CVNet: coarse coding, time features, HL-Gauss, Lipschitz bound, value table, checkpoints."""

from __future__ import annotations

from pathlib import Path

import h3
import numpy as np
import pytest
import torch

from v1d3.errors import ConfigError, ModelError
from v1d3.geo.city import h3_city, hex_grid_city
from v1d3.value.checkpoint import save_checkpoint
from v1d3.value.cvnet import (
    OOV,
    PAD,
    CVNet,
    CVNetConfig,
    CVNetValue,
    build_vocabulary,
    city_tokens,
    hl_gauss_target,
    load_cvnet,
    save_cvnet,
    time_features,
)

CENTRE = h3.latlng_to_cell(45.0, 7.0, 7)


@pytest.fixture(scope="module")
def city():
    """All 7 resolution-8 children of one resolution-7 cell plus a few cells around them."""
    cells = set(h3.cell_to_children(CENTRE, 8))
    for c in list(cells):
        cells.update(h3.grid_disk(c, 1))
    return h3_city("t", sorted(cells))


def _net(city, **kw) -> CVNet:
    cfg = CVNetConfig(**kw)
    return CVNet(cfg, build_vocabulary(city, cfg), 8, value_scale=10.0)


def test_coarse_code_shares_parents_between_neighbours(city):
    net = _net(city)
    bags = net.bags_for_city(city)
    assert bags.shape == (city.n_cells, 3)
    kids = sorted(h3.cell_to_children(CENTRE, 8))
    a, b = city.index_of_labels(kids[:2])
    assert h3.are_neighbor_cells(kids[0], kids[1])
    # own cell differs, the resolution-7 parent and resolution-6 grandparent are shared
    assert bags[a, 0] != bags[b, 0]
    assert bags[a, 1] == bags[b, 1]
    assert bags[a, 2] == bags[b, 2]
    assert net.vocabulary[bags[a, 1] - 2] == CENTRE
    assert net.vocabulary[bags[a, 2] - 2] == h3.cell_to_parent(CENTRE, 6)
    assert net.resolutions == [8, 7, 6]
    assert (bags >= 2).all()  # every id of the training city is in the vocabulary


def test_coarse_code_rings_and_unknown_ids(city):
    net = _net(city, rings=True)
    toks = city_tokens(city, net.cfg)
    own = city.labels[0]
    assert toks[0][0] == own and set(toks[0][1:7]) == set(h3.grid_ring(own, 1))
    assert net.bags_for_city(city).shape == (city.n_cells, 21)
    # a city elsewhere: every id falls into the shared out-of-vocabulary row
    far = h3_city("far", h3.grid_disk(h3.latlng_to_cell(10.0, 10.0, 8), 1))
    plain = _net(city)
    assert (plain.bags_for_city(far) == OOV).all()
    assert plain.vocabulary_coverage(far) == 0.0
    assert plain.vocabulary_coverage(city) == 1.0


def test_non_h3_grid_codes_its_own_ids():
    lat = np.array([45.0, 45.005])
    lng = np.array([7.0, 7.0])
    grid = hex_grid_city("grid", ["g1", "g2"], lat, lng)
    toks = city_tokens(grid, CVNetConfig())
    assert toks[0][0] == "grid:g1"
    assert toks[0][1] == h3.latlng_to_cell(45.0, 7.0, 8)
    net = CVNet(CVNetConfig(), build_vocabulary(grid, CVNetConfig()), 8)
    assert (net.bags_for_city(grid) != PAD).all()


def test_time_features():
    cfg = CVNetConfig()
    t = torch.tensor([0.0, 6 * 3600.0, 86_400.0])
    f = time_features(t, torch.tensor([0, 3, 6]), cfg)
    assert f.shape == (3, cfg.n_time_features) == (3, 8 + 1 + 7)
    assert f[0, 0] == pytest.approx(0.0) and f[0, 1] == pytest.approx(1.0)  # 24 h period
    assert f[1, 0] == pytest.approx(1.0, abs=1e-6)  # sin at a quarter day
    assert f[1, 8] == pytest.approx(0.25) and f[2, 8] == pytest.approx(1.0)  # linear time
    assert f[1, 9 + 3] == 1.0 and f[1, 9:].sum() == 1.0  # weekday one-hot


def test_hl_gauss_target_sums_to_one_and_keeps_the_mean():
    edges = torch.linspace(0.0, 10.0, 51)
    centres = 0.5 * (edges[1:] + edges[:-1])
    width = 10.0 / 50
    y = torch.tensor([1.0, 3.33, 5.0, 7.77, 9.0])
    p = hl_gauss_target(y, edges, 0.75 * width)
    assert p.shape == (5, 50)
    assert torch.allclose(p.sum(dim=1), torch.ones(5), atol=1e-6)
    assert (p >= 0).all()
    assert torch.allclose(p @ centres, y, atol=0.01 * width)
    # targets outside the support are clipped into it
    q = hl_gauss_target(torch.tensor([-5.0, 50.0]), edges, 0.75 * width)
    assert torch.allclose(q.sum(dim=1), torch.ones(2), atol=1e-6)
    assert q[0, 0] > 0.5 and q[1, -1] > 0.5


def _hand_built(norm: str) -> CVNet:
    cfg = CVNetConfig(
        embed_dim=2,
        hidden=(3,),
        time_periods_h=(),
        linear_time=False,
        weekday_onehot=False,
        lipschitz_norm=norm,
    )
    net = CVNet(cfg, ["a", "b"], 8)
    with torch.no_grad():
        net.embedding.weight.copy_(torch.tensor([[0, 0], [0.1, 0.2], [0.5, -0.3], [0.2, 0.1]]))
        net.head[0].weight.copy_(torch.tensor([[1.0, -2.0], [0.5, 0.5], [-3.0, 1.0]]))
        net.head[2].weight.copy_(torch.tensor([[1.0, 2.0, -1.0]]))
    return net


def _bound(net: CVNet) -> float:
    return float(net.lipschitz_bound().detach())


def test_lipschitz_bound_inf_norm_by_hand():
    net = _hand_built("inf")
    # row sums 3, 1, 4 → 4; then |1| + |2| + |−1| = 4; embedding entries ≤ 1 → factor 1
    assert _bound(net) == pytest.approx(16.0)
    with torch.no_grad():
        net.embedding.weight[2, 0] = -2.5
    assert _bound(net) == pytest.approx(40.0)
    net.lipschitz_bound().backward()
    assert net.head[0].weight.grad is not None


def test_lipschitz_bound_spectral_by_hand():
    net = _hand_built("spectral")
    w1 = np.array([[1.0, -2.0], [0.5, 0.5], [-3.0, 1.0]])
    w2 = np.array([[1.0, 2.0, -1.0]])
    expected = np.linalg.norm(w1, 2) * np.linalg.norm(w2, 2)
    assert _bound(net) == pytest.approx(expected, rel=1e-5)


def test_bound_really_bounds_the_head():
    torch.manual_seed(0)
    net = _hand_built("inf")
    x = torch.randn(500, 2)
    dx = torch.rand(500, 2) * 0.01
    gap = (net.head(x + dx) - net.head(x)).abs()[:, 0]
    assert (gap <= _bound(net) * dx.abs().max(dim=1).values + 1e-6).all()


def test_config_errors():
    with pytest.raises(ConfigError, match="loss"):
        CVNetConfig(loss="huber")
    with pytest.raises(ConfigError, match="coarse_levels"):
        CVNetConfig(coarse_levels=())
    with pytest.raises(ConfigError, match="value_scale"):
        CVNet(CVNetConfig(), [], 8, value_scale=0.0)


def test_value_table_matches_the_net(city):
    torch.manual_seed(1)
    value = CVNetValue(_net(city))
    value.bind(city, 2)
    assert value.table.shape == (city.n_cells, 1441)
    rng = np.random.default_rng(0)
    cell = rng.integers(0, city.n_cells, 400)
    t = rng.uniform(0, 86_399, 400)
    fast = value.value(cell, np.zeros(400), np.zeros(400), t)
    exact = value.value_exact(cell, t)
    assert np.allclose(fast, exact, atol=1e-3 * np.abs(exact).max())
    # on the minute knots the table is exact; at and after midnight values are 0
    knots = np.array([0.0, 60.0, 43_200.0])
    on_knots = value.value(cell[:3], 0, 0, knots)
    assert np.allclose(on_knots, value.value_exact(cell[:3], knots), rtol=1e-5, atol=1e-6)
    assert (value.value(cell[:2], 0, 0, np.array([86_400.0, 90_000.0])) == 0).all()
    # rebinding the same city and weekday reuses the table
    table = value.table
    value.bind(city, 2)
    assert value.table is table


def test_checkpoint_round_trip(city, tmp_path: Path):
    torch.manual_seed(2)
    net = _net(city, loss="hl-gauss", rings=True)
    path = save_cvnet(net, tmp_path / "cvnet.pt", {"scenario": "synthetic", "h3_resolution": 8})
    loaded = load_cvnet(path, city=city, scenario="synthetic")
    assert loaded.meta["method"] == "cvnet"
    assert loaded.meta["resolutions"] == [8, 7, 6]
    assert loaded.meta["vocabulary"] == list(net.vocabulary)
    assert loaded.meta["version"]
    assert loaded.net.cfg == net.cfg
    loaded.bind(city, 4)
    ref = CVNetValue(net)
    ref.bind(city, 4)
    assert np.allclose(loaded.table, ref.table)


def test_checkpoint_mismatch_errors(city, tmp_path: Path):
    net = _net(city)
    path = save_cvnet(net, tmp_path / "cvnet.pt", {"scenario": "synthetic", "h3_resolution": 8})
    with pytest.raises(ModelError, match="not found"):
        load_cvnet(tmp_path / "missing.pt")
    with pytest.raises(ModelError, match="scenario 'synthetic'"):
        load_cvnet(path, scenario="manhattan")
    far = h3_city("far", h3.grid_disk(h3.latlng_to_cell(10.0, 10.0, 8), 1))
    with pytest.raises(ModelError, match="train one for this city"):
        load_cvnet(path, city=far)
    other = tmp_path / "tabular.pt"
    save_checkpoint(other, {"table": torch.zeros(3)}, {"method": "tabular-td"})
    with pytest.raises(ModelError, match="expected 'cvnet'"):
        load_cvnet(other)
    broken = tmp_path / "broken.pt"
    save_checkpoint(broken, {"x": torch.zeros(1)}, {**net.meta(), "config": {"bogus": 1}})
    with pytest.raises(ModelError, match="config"):
        load_cvnet(broken)
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="not a readable"):
        load_cvnet(tmp_path / "junk.pt")
