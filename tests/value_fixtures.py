"""Small value functions and cities that the value and learner tests share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h3
import numpy as np

from v1d3.demand.config import ScenarioConfig, SyntheticConfig
from v1d3.geo.city import City, h3_city
from v1d3.value.base import Discount, ValueFunction

GAMMA = 0.9
"""Discount per 600 s of the test values."""


class CellValue(ValueFunction):
    """V_off(cell, t) = base[cell] at every time of day, 0 from midnight on."""

    def __init__(self, base: list[float]) -> None:
        self.base = np.asarray(base, dtype=np.float64)
        self.discount = Discount(GAMMA, 600.0)

    def value(self, cell, lat, lng, t_s):  # type: ignore[no-untyped-def]
        c, t = np.broadcast_arrays(np.asarray(cell), np.asarray(t_s, dtype=np.float64))
        return np.where(t >= 86_400.0, 0.0, self.base[c])


def three_cell_city() -> City:
    """An H3 cell at resolution 8 and two of its neighbours."""
    c = h3.latlng_to_cell(45.0, 7.0, 8)
    return h3_city("three", [c, *sorted(h3.grid_ring(c, 1))[:2]])


def small_cvnet_models(out: Path) -> Path:
    """A CVNet trained in a few seconds on two 1.5-hour days of :func:`small_cvnet_scenario`'s
    city (seeds 500, 501), written to ``out/cvnet.pt``; returns ``out``."""
    from v1d3.learn.config import OfflineTrainConfig
    from v1d3.learn.train_neural import train_cvnet_from_scenario
    from v1d3.sim.config import SimConfig

    cfg = OfflineTrainConfig(epochs=3, batch_size=1024, device="cpu", seed=5)
    train_cvnet_from_scenario(small_cvnet_scenario(), SimConfig(), 2, 500, out=out, train_cfg=cfg)
    return out


def small_cvnet_scenario(**kw: Any) -> ScenarioConfig:
    """The synthetic city of radius 4 (61 cells), 6,000 orders a day, 7:00 for 1.5 hours."""
    base: dict[str, Any] = dict(
        name="synthetic",
        orders=6_000,
        start_hour=7.0,
        hours=1.5,
        synthetic=SyntheticConfig(rings=4),
    )
    return ScenarioConfig(**{**base, **kw})
