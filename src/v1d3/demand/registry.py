"""The scenario sources by name: ``v1d3 scenarios`` lists them, a scenario config names one."""

from __future__ import annotations

from v1d3.demand.config import ScenarioConfig, scenario_names
from v1d3.demand.manhattan import ManhattanSource
from v1d3.demand.source import DemandSource
from v1d3.demand.synthetic import SyntheticSource
from v1d3.demand.tlc import TlcSource
from v1d3.kddcup.kdd_source import KddSource

__all__ = ["SCENARIOS", "source_of"]

SCENARIOS: dict[str, DemandSource] = {
    "manhattan": ManhattanSource(),
    "nyc-tlc": TlcSource(),
    "synthetic": SyntheticSource(),
    "kdd": KddSource(),
}
"""Every scenario source by name, in the order of :func:`~v1d3.demand.config.scenario_names`."""
if tuple(SCENARIOS) != scenario_names():
    raise TypeError(f"SCENARIOS {tuple(SCENARIOS)} != ScenarioConfig's sources {scenario_names()}")


def source_of(cfg: ScenarioConfig) -> DemandSource:
    """The source of a scenario config."""
    return SCENARIOS[cfg.name]
