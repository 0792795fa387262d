"""Shared fixtures: small, fast scenarios."""

from __future__ import annotations

import pytest

from v1d3.eval.run import RunConfig, run_simulation
from v1d3.sim.config import SimConfig
from v1d3.sim.scenario import ScenarioConfig


def small_synthetic(**kw: object) -> ScenarioConfig:
    """A synthetic city with a morning peak: 2 simulated hours, about 1,100 orders."""
    base: dict[str, object] = dict(
        name="synthetic", orders=12_000, drivers=None, start_hour=7.0, hours=2.0
    )
    base.update(kw)
    return ScenarioConfig(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def synthetic_run():
    """One finished distance/stay run on the small synthetic city (shared, read-only)."""
    cfg = RunConfig(scenario=small_synthetic(), sim=SimConfig(), seed=3)
    return run_simulation(cfg)
