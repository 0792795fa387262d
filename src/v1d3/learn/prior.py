"""Learning V1D3's prior correction (:mod:`v1d3.value.prior`) from simulated historical days.

:func:`learn_prior` runs ``v1d3`` (without a prior) on the scenario's historical days — seeds
``seed, seed + 1, …``, the days its source gives (weekdays cycling Monday–Friday) — and averages
the hour-end corrections it recorded (:func:`~v1d3.value.corrections.hour_end_corrections`)
over the days, an hour no day recorded counting 0. ``v1d3 train --method prior`` calls it and
writes :data:`~v1d3.value.prior.PRIOR_FILE`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from v1d3.demand.config import ScenarioConfig
from v1d3.demand.registry import source_of
from v1d3.errors import ConfigError
from v1d3.sim.config import SimConfig
from v1d3.sim.scenario import build_scenario
from v1d3.value.corrections import CORRECTIONS_TABLE, correction_matrix, hour_end_corrections

__all__ = ["learn_prior"]


def learn_prior(
    scenario_cfg: ScenarioConfig,
    sim_cfg: SimConfig,
    days: int,
    seed: int,
    models: Path | None,
    on_day: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, tuple[str, ...], list[dict[str, Any]]]:
    """``(prior, cell_labels, days)``: the mean hour-end correction of ``v1d3`` (offline model
    from ``models``, the packaged one when None) over ``days`` simulated historical days, shape
    (24, cells), and each day's ``{"seed", "weekday", "date"}``; ``on_day(done, days)`` after
    each. ``v1d3`` is the package's, with its defaults (its schedule: ``V1D3_SCHEDULE``)."""
    from v1d3.eval.config import RunConfig
    from v1d3.eval.run import run_simulation  # the evaluation layer sits above

    if days < 1:
        raise ConfigError(f"days must be >= 1, got {days}")
    per_day: list[np.ndarray] = []
    meta: list[dict[str, Any]] = []
    labels: tuple[str, ...] = ()
    for d, sc in enumerate(source_of(scenario_cfg).history(scenario_cfg, days)):
        scenario = build_scenario(sc, sim_cfg, seed + d)
        cfg = RunConfig(
            scenario=sc,
            sim=sim_cfg,
            dispatch="v1d3",
            seed=seed + d,
            models=None if models is None else str(models),
        )
        res = run_simulation(cfg, scenario=scenario, check=False)
        labels = tuple(scenario.city.labels)
        t, _, corr = correction_matrix(res.tables[CORRECTIONS_TABLE], scenario.city.n_cells)
        per_day.append(hour_end_corrections(t, corr))
        meta.append({"seed": seed + d, "weekday": scenario.weekday, "date": scenario.date})
        if on_day is not None:
            on_day(d + 1, days)
    with warnings.catch_warnings():  # an hour no day recorded (outside the horizon) stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        prior = np.nan_to_num(np.nanmean(per_day, axis=0))
    return prior, labels, meta
