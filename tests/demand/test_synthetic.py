"""The synthetic city's demand: commuters flow into the hotspots in the morning, out at night."""

from __future__ import annotations

import numpy as np
import pytest

from v1d3.demand.config import SyntheticConfig
from v1d3.demand.synthetic import synthetic_city, synthetic_orders
from v1d3.errors import ConfigError


def _hub_share(commute: float) -> tuple[float, float, float, float]:
    """Share of morning / evening rush trips starting and ending within 1.5 km of a hotspot."""
    cfg = SyntheticConfig(hotspots=2, commute=commute)
    city = synthetic_city(cfg, 8)
    o = synthetic_orders(cfg, city, 40_000, np.random.default_rng(3))
    hs = np.random.default_rng(cfg.rings * 7919 + cfg.hotspots).choice(
        city.n_cells, size=cfg.hotspots, replace=False
    )
    hx, hy = city.cell_x[hs], city.cell_y[hs]

    def near(lat: np.ndarray, lng: np.ndarray) -> np.ndarray:
        x, y = city.proj.to_xy(lat, lng)
        return (np.hypot(x[:, None] - hx, y[:, None] - hy) < 1500).any(axis=1)

    h = o.t_request / 3600
    am = np.abs(h - cfg.rush_hours[0]) < 0.5
    pm = np.abs(h - cfg.rush_hours[-1]) < 0.5
    start, end = near(o.o_lat, o.o_lng), near(o.d_lat, o.d_lng)
    return start[am].mean(), end[am].mean(), start[pm].mean(), end[pm].mean()


def test_commuters_flow_in_at_the_morning_rush_and_out_at_the_evening_rush() -> None:
    s_am, e_am, s_pm, e_pm = _hub_share(0.9)
    assert e_am > s_am + 0.3  # mornings end at the hotspots
    assert s_pm > e_pm + 0.3  # evenings start there
    # without commuters both ends are alike
    s_am, e_am, s_pm, e_pm = _hub_share(0.0)
    assert abs(e_am - s_am) < 0.05 and abs(s_pm - e_pm) < 0.05


def test_commute_share_is_checked() -> None:
    with pytest.raises(ConfigError, match="commute"):
        SyntheticConfig(commute=1.5)
