"""Shared fixtures: small, fast scenarios."""

from __future__ import annotations

import pytest

from scenario_fixtures import small_synthetic
from v1d3.eval.config import RunConfig
from v1d3.eval.run import run_simulation
from v1d3.sim.config import SimConfig


@pytest.fixture(scope="session")
def synthetic_run():
    """One finished distance/stay run on the small synthetic city (shared, read-only)."""
    cfg = RunConfig(scenario=small_synthetic(), sim=SimConfig(), seed=3)
    return run_simulation(cfg)
