"""The named random streams draw exactly what the published numbers were drawn with."""

from __future__ import annotations

import numpy as np

from v1d3.sim.seeds import (
    kdd_day_streams,
    pickup_sample_rng,
    real_day_rng,
    scenario_streams,
    sim_streams,
)


def _children(entropy: list[int], n: int) -> list[np.ndarray]:
    """The first draws of the children of the literal ``SeedSequence(entropy)``."""
    return [np.random.default_rng(s).random(4) for s in np.random.SeedSequence(entropy).spawn(n)]


def test_streams_match_the_literal_seed_sequences() -> None:
    demand, fleet = scenario_streams(7, 2)
    np.testing.assert_array_equal(
        np.stack([demand.random(4), fleet.random(4)]), _children([7, 2, 0x5CE], 2)
    )
    s = sim_streams(7, 2)
    got = [g.random(4) for g in (s.cancel, s.drift, s.dispatch, s.reposition)]
    np.testing.assert_array_equal(np.stack(got), _children([7, 2, 0xD15], 4))
    np.testing.assert_array_equal(
        pickup_sample_rng(7, 2).random(4), np.random.default_rng([7, 2, 0x91C]).random(4)
    )
    epoch = 1_588_262_400.0 + 2**32  # the epoch is folded into 32 bits
    d, r = kdd_day_streams(epoch, 4)
    np.testing.assert_array_equal(
        np.stack([d.random(4), r.random(4)]), _children([1_588_262_400, 4, 0xE4A], 2)
    )


def test_streams_differ_by_seed_and_weekday() -> None:
    a = sim_streams(1, 0).cancel.random(8)
    assert not np.array_equal(a, sim_streams(2, 0).cancel.random(8))
    assert not np.array_equal(a, sim_streams(1, 1).cancel.random(8))
    assert not np.array_equal(a, sim_streams(1, 0).drift.random(8))


def test_real_day_stream_is_a_child_of_the_demand_stream_and_leaves_it_alone() -> None:
    demand, _ = scenario_streams(7, 2)
    date, plan = real_day_rng(demand)
    children = np.random.SeedSequence([7, 2, 0x5CE]).spawn(2)[0].spawn(2)
    np.testing.assert_array_equal(date.random(4), np.random.default_rng(children[0]).random(4))
    np.testing.assert_array_equal(plan.random(4), np.random.default_rng(children[1]).random(4))
    # the demand generator draws what it draws without the real-day stream
    np.testing.assert_array_equal(demand.random(4), _children([7, 2, 0x5CE], 2)[0])
