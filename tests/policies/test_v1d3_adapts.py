"""V1D3 adapts to the day: on a synthetic city with one staged event, its online correction
around the event rises during the event and relaxes after it, against the same day without it.

Measured (``pytest -s`` prints it) on seed 21, 300 extra trips from one cell two rings off the
centre between 8:30 and 9:30: the mean correction of the event's cell and its neighbours, the
event day's minus the plain day's, is 0 at the start (common random numbers), +0.95 at the
event's end and −0.13 on average one to two hours later, with ``v1d3``'s default schedule (the
correction fading with a one-hour time constant); docs/method.md §9.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h3
import numpy as np
import pytest

from v1d3.demand.shocks import EventShock
from v1d3.eval.config import RunConfig
from v1d3.eval.run import run_simulation
from v1d3.policies.neural import make_v1d3
from v1d3.sim.config import SimConfig
from v1d3.value.corrections import correction_matrix
from value_fixtures import small_cvnet_models, small_cvnet_scenario

SEED = 21
START_H, END_H = 8.5, 9.5
"""The event's window, hours: not on an hour (the change points of the paper's ensemble)."""
TRIPS = 300
"""Extra trips (the plain day has about 500 orders an hour)."""
CENTRE = h3.latlng_to_cell(45.0, 7.0, 8)
PLACE = sorted(h3.grid_ring(CENTRE, 2))[0]
"""The event's cell: two rings off the synthetic city's centre."""


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_cvnet_models(tmp_path_factory.mktemp("models"))


def _near_correction(models: Path, shocks: tuple[Any, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Clock times of the day's recordings (hours) and the mean correction of the event's cell
    and its six neighbours at each."""
    sc = small_cvnet_scenario(hours=5.0, shocks=shocks)
    policy = make_v1d3(models, sc)
    result = run_simulation(
        RunConfig(scenario=sc, sim=SimConfig(), seed=SEED, models=str(models)), dispatch=policy
    )
    labels = [str(c) for c in policy.value.offline.city.labels]  # type: ignore[attr-defined]
    near = [labels.index(c) for c in h3.grid_disk(PLACE, 1)]
    t, pre, corr = correction_matrix(result.tables["corrections"], len(labels))
    return t[~pre] / 3600.0, corr[~pre][:, near].mean(axis=1)


def test_online_values_rise_during_an_event_and_relax_after_it(models: Path) -> None:
    lat, lng = h3.cell_to_latlng(PLACE)
    event = EventShock(start_h=START_H, end_h=END_H, trips=TRIPS, lat=lat, lng=lng)
    hours, plain = _near_correction(models, ())
    hours_e, with_event = _near_correction(models, (event,))
    np.testing.assert_array_equal(hours, hours_e)
    diff = with_event - plain
    at = {h: int(np.flatnonzero(np.isclose(hours, h))[0]) for h in (START_H, END_H)}
    later = (hours >= END_H + 1.0) & (hours <= END_H + 2.0)
    before, end, after = diff[at[START_H]], diff[at[END_H]], float(diff[later].mean())
    print(
        f"\nnear-event correction, event day − plain day: start {before:+.3f}, end {end:+.3f}, "
        f"1–2 h after {after:+.3f}; event day itself: start {with_event[at[START_H]]:+.3f}, "
        f"end {with_event[at[END_H]]:+.3f}; by recording: "
        + " ".join(f"{h:.2f}:{d:+.2f}" for h, d in zip(hours, diff, strict=True))
    )
    assert before == 0.0  # the same day up to the event (common random numbers)
    # rises during it: above the plain day's and above its own value at the start
    assert end > 0.5
    assert with_event[at[END_H]] > with_event[at[START_H]] + 0.5
    # relaxes after it: one to two hours later, at most half of what it was at the end
    assert after < 0.5 * end
