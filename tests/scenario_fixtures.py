"""Small, fast scenarios shared by the tests (imported as a plain module from tests/)."""

from __future__ import annotations

from v1d3.demand.config import ScenarioConfig


def small_synthetic(**kw: object) -> ScenarioConfig:
    """A synthetic city with a morning peak: 2 simulated hours, about 1,100 orders."""
    base: dict[str, object] = dict(
        name="synthetic", orders=12_000, drivers=None, start_hour=7.0, hours=2.0
    )
    base.update(kw)
    return ScenarioConfig(**base)  # type: ignore[arg-type]
