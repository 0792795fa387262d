"""Measuring real days' departures: the noise model, the shrinkage, and the shipped table's
counts against the shipped March records."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from v1d3.demand.departures import (
    Pickups,
    log_count_moments,
    measure_departures,
    read_pickups,
    shrink,
)
from v1d3.demand.manhattan import load_manhattan
from v1d3.demand.real_days import TABLE_PATH, table_text
from v1d3.demand.tlc import default_trips_path


def test_log_count_moments_are_the_poisson_sums() -> None:
    for mu in (0.0, 1.0, 4.0):
        p = [math.exp(-mu) * mu**k / math.factorial(k) for k in range(60)]
        x = [math.log((k + 0.5) / (mu + 0.5)) for k in range(60)]
        mean = sum(a * b for a, b in zip(p, x, strict=True))
        var = sum(a * b * b for a, b in zip(p, x, strict=True)) - mean**2
        got_mean, got_var = log_count_moments(np.array([mu]))
        assert got_mean[0] == pytest.approx(mean, abs=1e-9)
        assert got_var[0] == pytest.approx(var, abs=1e-9)
    # many expected trips: the delta method's 1/mu
    assert log_count_moments(np.array([400.0]))[1][0] == pytest.approx(1 / 400, rel=0.02)


def test_shrink_by_hand() -> None:
    est, sd, tau2 = shrink(np.array([[1.0], [-1.0]]), np.array([[0.5], [0.5]]))
    assert tau2[0] == pytest.approx(0.5)  # mean x² 1 less mean noise 0.5
    np.testing.assert_allclose(est[:, 0], [0.5, -0.5])  # weight τ²/(τ²+σ²) = ½
    np.testing.assert_allclose(sd[:, 0], [0.5, 0.5])  # sqrt(½ · 0.5)
    est, sd, tau2 = shrink(np.array([[0.1], [-0.1]]), np.array([[0.5], [0.5]]))
    assert tau2[0] == 0 and np.all(est == 0)  # no more spread than noise: all to 0


def test_shrinkage_finds_the_true_spread_and_beats_the_raw_counts() -> None:
    rng = np.random.default_rng(0)
    mu = np.tile([5.0, 20.0, 80.0], (400, 1))
    true = rng.normal(0.0, 0.3, mu.shape)
    counts = rng.poisson(mu * np.exp(true))
    bias, var = log_count_moments(mu)
    x = np.log((counts + 0.5) / (mu + 0.5)) - bias
    est, _, tau2 = shrink(x, var)
    np.testing.assert_allclose(np.sqrt(tau2), 0.3, atol=0.06)
    assert np.mean((est - true) ** 2) < 0.8 * np.mean((x - true) ** 2)


def _synthetic_pickups(storm_factor: float) -> Pickups:
    """13 weeks of Poisson days (40 pick-ups an hour in 2 zones); 2021-02-01 thinned."""
    rng = np.random.default_rng(3)
    dates = np.arange(np.datetime64("2021-01-01"), np.datetime64("2021-04-01"))
    mu = np.full((dates.size, 24, 2), 20.0)
    mu[dates == np.datetime64("2021-02-01")] *= storm_factor
    return Pickups(dates, rng.poisson(mu).astype(float), np.array([74, 75]), {})


def test_a_known_departure_is_measured_within_its_noise() -> None:
    rows = {r["date"]: r for r in measure_departures(_synthetic_pickups(0.25))["dates"]}
    storm = rows["2021-02-01"]
    # 11 Mondays in the baseline (the two holiday Mondays are not), the storm among them
    assert abs(storm["volume"] - math.log(0.25 / (10.25 / 11))) < 3 * storm["volume_sd"]
    # the profile and mix were not changed: shrunk to (nearly) 0
    assert np.max(np.abs(storm["hour"])) < 0.1 and np.max(np.abs(storm["zone"])) < 0.1
    assert rows["2021-01-18"]["holiday"] == "Martin Luther King Jr. Day"
    assert len(rows) == 64


def test_the_table_counts_the_shipped_march_records() -> None:
    table = json.loads(TABLE_PATH.read_text())
    march = read_pickups([default_trips_path()], load_manhattan().zone_ids)
    per_date = march.counts.sum(axis=(1, 2))
    for row in table["dates"]:
        if row["date"].startswith("2021-03"):
            i = int((np.datetime64(row["date"]) - march.dates[0]).astype(int))
            assert row["orders"] == per_date[i], row["date"]
    assert table_text(table) == TABLE_PATH.read_text()  # the file is in its written form
