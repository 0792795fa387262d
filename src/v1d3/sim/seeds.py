"""Every random stream of a run, derived from (seed, weekday) in one place.

A run's randomness comes from four roots, each a ``numpy.random.SeedSequence`` of
``[seed, weekday, tag]`` with its own :class:`Stream` tag; children are spawned from a root in a
fixed order. The tags and the spawn orders are the values the published numbers were drawn
with: changing any of them changes every result, so they are named here and nowhere else.

- :func:`scenario_streams` — the day's orders and the fleet's shifts (``Stream.SCENARIO``);
- :func:`sim_streams` — cancellations, idle drift and the two policies' own generators
  (``Stream.SIM``);
- :func:`real_day_rng` — which real date a ``--real-days`` day is like, and the average day its
  fleet is planned for: children spawned from the day's demand generator (spawning leaves that
  generator's own draws as they were);
- :func:`pickup_sample_rng` — the subsample of pickup distances a study keeps
  (``Stream.PICKUP_SAMPLE``);
- :func:`kdd_day_streams` — the policies' generators of a day run outside V1D3, by the KDD Cup
  submission, seeded by the day's clock instead of a run seed (``Stream.KDD_DAY``);
- :func:`history_rng` — the historical days a forecast averages (``Stream.HISTORY``): days of
  their own, so that no run's day, whatever its seed, is among them;
- :func:`shock_rng` — the shocks' draws (``Stream.SHOCK``): one generator per staged shock, the
  random draw of a day's shocks, one per drawn shock, and the simulator's draws for the orders
  and drivers shocks add. A day without shocks never touches this stream, and a shock never
  touches the others, so what lies outside its window and place is drawn as without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

__all__ = [
    "Stream",
    "SimStreams",
    "root",
    "scenario_streams",
    "sim_streams",
    "real_day_rng",
    "pickup_sample_rng",
    "kdd_day_streams",
    "ShockBranch",
    "shock_rng",
    "history_rng",
]


class Stream(IntEnum):
    """The tag of each root ``SeedSequence`` (its last entropy word)."""

    SCENARIO = 0x5CE
    SIM = 0xD15
    PICKUP_SAMPLE = 0x91C
    KDD_DAY = 0xE4A
    SHOCK = 0x5A0C
    HISTORY = 0x415


class ShockBranch(IntEnum):
    """The branches of ``Stream.SHOCK`` (the first word of a generator's spawn key)."""

    GIVEN = 0
    """A staged shock of ``ScenarioConfig.shocks``, keyed by what it is (not its place in the
    list, :func:`v1d3.sim.shocks.stage_shocks`): its orders, thinning or drivers."""
    DRAW = 1
    """The random draw of the day's shocks (``ScenarioConfig.random_shocks``)."""
    DRAWN = 2
    """Drawn shock ``i``, applied as a staged one."""
    CANCEL = 3
    """Cancellation uniforms of the orders shocks add (one per added order)."""
    DRIFT = 4
    """Idle-drift draws of the drivers shocks add (a fixed number per tick)."""


def root(seed: int, weekday: int, stream: Stream) -> np.random.SeedSequence:
    """The root ``SeedSequence`` of one stream of a run."""
    return np.random.SeedSequence([seed, weekday, int(stream)])


def scenario_streams(seed: int, weekday: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Generators of the day's demand and of its fleet, in that order."""
    demand, fleet = (
        np.random.default_rng(s) for s in root(seed, weekday, Stream.SCENARIO).spawn(2)
    )
    return demand, fleet


def history_rng(day: int, weekday: int) -> np.random.Generator:
    """The demand generator of historical day ``day`` (0, 1, ...) of ``weekday``: the days a
    forecast averages (:mod:`v1d3.demand.forecast`), drawn like a run's demand but from their own
    root, so that they are never the day of any run."""
    return np.random.default_rng(root(day, weekday, Stream.HISTORY))


def real_day_rng(demand: np.random.Generator) -> tuple[np.random.Generator, np.random.Generator]:
    """The generators of a real-like day (``ManhattanConfig.real_days``, ``like_date``): the
    first two children of the demand generator's ``SeedSequence``, one that draws the real date
    the day is like, one that draws the average day its fleet is planned for. Spawning does not
    advance the demand generator, so the day's other draws, and every run without the option,
    are as before; both depend on (seed, weekday) only, the same for every policy."""
    date, plan = demand.spawn(2)
    return date, plan


@dataclass(frozen=True, eq=False)
class SimStreams:
    """The simulator's generators for one run."""

    cancel: np.random.Generator
    """One uniform per order, drawn once at the start (the same draws whatever the policy)."""
    drift: np.random.Generator
    """Idle drift and repositioning jitter, a fixed number of draws per tick."""
    dispatch: np.random.Generator
    """The dispatch policy's own generator (``DayContext.rng``)."""
    reposition: np.random.Generator
    """The repositioning policy's own generator (``DayContext.rng``)."""


def sim_streams(seed: int, weekday: int) -> SimStreams:
    """The simulator's generators for a run of ``seed`` on ``weekday``."""
    cancel, drift, dispatch, reposition = (
        np.random.default_rng(s) for s in root(seed, weekday, Stream.SIM).spawn(4)
    )
    return SimStreams(cancel, drift, dispatch, reposition)


def pickup_sample_rng(seed: int, weekday: int) -> np.random.Generator:
    """The generator that picks the pickup distances a study record keeps."""
    return np.random.default_rng(root(seed, weekday, Stream.PICKUP_SAMPLE))


def kdd_day_streams(
    epoch_s: float, weekday: int
) -> tuple[np.random.Generator, np.random.Generator]:
    """Dispatch and repositioning generators of a KDD day, from its Unix midnight ``epoch_s``."""
    ss = root(int(epoch_s) & 0xFFFFFFFF, weekday, Stream.KDD_DAY)
    rng_d, rng_r = (np.random.default_rng(s) for s in ss.spawn(2))
    return rng_d, rng_r


def shock_rng(seed: int, weekday: int, branch: ShockBranch, i: int = 0) -> np.random.Generator:
    """The generator of branch ``branch`` (and shock ``i``) of a run's shocks."""
    ss = np.random.SeedSequence([seed, weekday, int(Stream.SHOCK)], spawn_key=(int(branch), i))
    return np.random.default_rng(ss)
