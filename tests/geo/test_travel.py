"""Travel models on numbers: the rotated city-block distance and zone-to-zone speeds."""

from __future__ import annotations

import numpy as np
import pytest

from v1d3.geo.travel import ConstantSpeed, ZoneSpeedTable

# two slots of 900 s, two zones
SPEEDS = np.array([[[5.0, 10.0], [8.0, 0.1]], [[6.0, 6.0], [6.0, 6.0]]])


def test_zone_speeds_by_slot_with_unknown_zones_at_the_city_mean() -> None:
    table = ZoneSpeedTable(speed_mps=SPEEDS)
    z1 = np.array([0, 0, 1, 1, -1, 0, -1])
    z2 = np.array([0, 1, 0, 1, 1, -1, -1])
    mean = SPEEDS.mean()
    got = table.speed(z1, z2, 100.0)
    # the 0.1 m/s entry is clipped to 1 mph
    np.testing.assert_allclose(got, [5.0, 10.0, 8.0, 0.447, mean, mean, mean])
    np.testing.assert_allclose(table.speed(z1, z2, 900.0 + 5.0)[:4], 6.0)
    np.testing.assert_allclose(table.speed(z1, z2, 86_400.0 + 100.0), got)  # next day, slot 0


def test_city_block_distance_on_the_rotated_grid() -> None:
    table = ZoneSpeedTable(speed_mps=SPEEDS, grid_angle_deg=0.0)
    assert table.road_m(0.0, 0.0, 300.0, -400.0) == pytest.approx(700.0)
    rotated = ZoneSpeedTable(speed_mps=SPEEDS, grid_angle_deg=29.0)
    a = np.deg2rad(29.0)
    # a move along the rotated avenue is a straight line on the grid
    assert rotated.road_m(0.0, 0.0, 500.0 * np.sin(a), 500.0 * np.cos(a)) == pytest.approx(500.0)
    t = rotated.time_s(0.0, 0.0, 500.0 * np.sin(a), 500.0 * np.cos(a), 0, 1, 100.0)
    assert t == pytest.approx(50.0)


def test_constant_speed() -> None:
    m = ConstantSpeed(speed_mps=4.0, detour=1.5)
    assert m.time_s(0.0, 0.0, 300.0, 400.0, -1, -1, 0.0) == pytest.approx(500.0 * 1.5 / 4.0)
