"""Drawing Manhattan days: the order volume, and days that differ zone by zone."""

from __future__ import annotations

import numpy as np
import pytest

from v1d3.demand.manhattan import load_manhattan, manhattan_orders
from v1d3.errors import ConfigError

N = 20_000


def _zone_shares(zone_day_sd: float, seed: int) -> np.ndarray:
    o = manhattan_orders(2, N, np.random.default_rng(seed), zone_day_sd=zone_day_sd)
    assert len(o) == N
    return np.bincount(o.o_zone, minlength=len(load_manhattan().zones)) / N


def test_average_day_by_default() -> None:
    a = manhattan_orders(2, N, np.random.default_rng(4))
    b = manhattan_orders(2, N, np.random.default_rng(4), zone_day_sd=0.0)
    np.testing.assert_array_equal(a.t_request, b.t_request)
    np.testing.assert_array_equal(a.o_zone, b.o_zone)


def test_zone_day_variation_moves_zone_shares_beyond_sampling_noise() -> None:
    table = load_manhattan().trips[2].sum(axis=(0, 2)).astype(np.float64)
    expected = table / table.sum()
    big = expected > 0.01  # zones with hundreds of the N orders: sampling noise ~ 1/sqrt(200)

    def spread(shares: np.ndarray) -> float:
        return float(np.std(np.log(shares[big] / expected[big])))

    plain = np.mean([spread(_zone_shares(0.0, s)) for s in range(3)])
    varied = np.mean([spread(_zone_shares(0.3, s)) for s in range(3)])
    assert plain < 0.1
    assert 0.2 < varied < 0.45  # about the 0.3 asked for
    # same seed, same day
    np.testing.assert_array_equal(_zone_shares(0.3, 7), _zone_shares(0.3, 7))


def test_negative_variation_is_refused() -> None:
    with pytest.raises(ConfigError, match="zone_day_sd"):
        manhattan_orders(2, N, np.random.default_rng(0), zone_day_sd=-0.1)
