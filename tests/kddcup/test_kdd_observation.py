"""The official observation formats both ways, and the checks on agents' answers."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from v1d3.demand.config import ScenarioConfig
from v1d3.dispatch.base import DispatchPolicy
from v1d3.eval.config import RunConfig
from v1d3.eval.run import run_simulation
from v1d3.geo.city import hex_grid_city
from v1d3.geo.travel import ConstantSpeed
from v1d3.kddcup.kdd_source import KDD_UTC_OFFSET_S
from v1d3.kddcup.observation import (
    DISPATCH_KEYS,
    REPOSITION_KEYS,
    batch_from_dispatch_observation,
    batch_from_reposition_observation,
    dispatch_answer,
    dispatch_observation,
    parse_dispatch_answer,
    parse_reposition_answer,
    reposition_answer,
    reposition_observation,
    split_timestamp,
)
from v1d3.reposition.base import RepositionBatch
from v1d3.rounds import CandidateBatch
from v1d3.sim.scenario import build_scenario

TS = 1478678400  # 2016-11-09 16:00 China Standard Time, a Wednesday
GRID_IDS = ("8f2a0ba14e0965b7", "ce76b98e88cc9213", "d8ce6475afb7dcf6", "8a1313c9a61cacb2")


def _city():
    # four cells in a row about 1 km apart, KDD-style ids
    lat = np.full(4, 30.66)
    lng = 104.05 + 0.0104 * np.arange(4)
    return hex_grid_city("t", GRID_IDS, lat, lng, ConstantSpeed(3.0))


def _pair(order: int, driver: int, dist: float, start, finish, drv, reward: float, fin_ts: int):
    return {
        "order_id": order,
        "driver_id": driver,
        "order_driver_distance": dist,
        "order_start_location": list(start),
        "order_finish_location": list(finish),
        "driver_location": list(drv),
        "timestamp": TS,
        "order_finish_timestamp": fin_ts,
        "day_of_week": 2,
        "reward_units": reward,
        "pick_up_eta": dist / 3.0,
    }


def _sample() -> list[dict]:
    """The official sample's shape: pairs sharing orders, ids as ints, [lng, lat] lists."""
    o0 = ((104.06, 30.66), (104.08, 30.661), 2.62, TS + 5000)
    o1 = ((104.05, 30.659), (104.07, 30.662), 3.25, TS + 1800)
    return [
        _pair(0, 36, 1126.22, o0[0], o0[1], (104.0605, 30.6499), o0[2], o0[3]),
        _pair(0, 208, 1053.75, o0[0], o0[1], (104.0511, 30.6628), o0[2], o0[3]),
        _pair(1, 36, 905.5, o1[0], o1[1], (104.0605, 30.6499), o1[2], o1[3]),
        _pair(1, 1015, 377.0, o1[0], o1[1], (104.0531, 30.6601), o1[2], o1[3]),
    ]


def test_sample_dispatch_observation_round_trips() -> None:
    sample = _sample()
    city = _city()
    batch = batch_from_dispatch_observation(sample, city, KDD_UTC_OFFSET_S)
    assert batch.t == 16 * 3600 and batch.weekday == 2 and len(batch) == 4
    epoch, _ = split_timestamp(TS, KDD_UTC_OFFSET_S)
    back = dispatch_observation(batch, epoch)
    assert back == sample
    assert all(tuple(p) == DISPATCH_KEYS for p in back)
    assert all(type(p["order_id"]) is int and type(p["timestamp"]) is int for p in back)
    np.testing.assert_array_equal(batch.trip_s, [5000, 5000, 1800, 1800])


def test_a_pair_lacking_a_key_or_of_another_day_is_refused() -> None:
    """Every pair's keys are read, not only the first pair's (``day_of_week`` too)."""
    for broken in ("day_of_week", "pick_up_eta"):
        sample = _sample()
        del sample[2][broken]
        with pytest.raises(KeyError, match=broken):
            batch_from_dispatch_observation(sample, _city(), KDD_UTC_OFFSET_S)
    sample = _sample()
    sample[3]["day_of_week"] = 3
    with pytest.raises(ValueError, match="one day"):
        batch_from_dispatch_observation(sample, _city(), KDD_UTC_OFFSET_S)


def test_sample_reposition_observation_round_trips() -> None:
    sample = {
        "timestamp": TS,
        "driver_info": [
            {"driver_id": d, "grid_id": g} for d, g in zip((0, 2, 6, 9), GRID_IDS, strict=True)
        ],
        "day_of_week": 2,
    }
    city = _city()
    batch = batch_from_reposition_observation(sample, city, KDD_UTC_OFFSET_S)
    np.testing.assert_array_equal(batch.cell, [0, 1, 2, 3])
    epoch, _ = split_timestamp(TS, KDD_UTC_OFFSET_S)
    back = reposition_observation(batch, city, epoch)
    assert back == sample and set(back) == set(REPOSITION_KEYS)
    answer = reposition_answer(batch, np.array([1, 1, 2, 0]), city)
    parsed = parse_reposition_answer(answer, batch, city)
    np.testing.assert_array_equal(parsed.value, [1, 1, 2, 0])
    assert not parsed.faults
    with pytest.raises(ValueError, match="not a cell"):
        bad = copy.deepcopy(sample)
        bad["driver_info"][0]["grid_id"] = "ffff"
        batch_from_reposition_observation(bad, city, KDD_UTC_OFFSET_S)


def test_midnight_belongs_to_the_day_it_ends() -> None:
    epoch, t = split_timestamp(1478534400 + 86400, KDD_UTC_OFFSET_S)
    assert (epoch, t) == (1478534400, 86400)
    epoch, t = split_timestamp(1478534400 + 2, KDD_UTC_OFFSET_S)
    assert (epoch, t) == (1478534400, 2)


class _Record(DispatchPolicy):
    """Nearest-first matching that keeps the batches it saw."""

    def __init__(self) -> None:
        self.batches: list[CandidateBatch] = []

    def dispatch(self, batch: CandidateBatch) -> np.ndarray:
        from v1d3.dispatch.matching import greedy_matching

        self.batches.append(batch)
        return greedy_matching(batch.order, batch.driver, np.argsort(batch.pickup_m))


def test_simulated_batches_survive_the_official_format() -> None:
    sc = ScenarioConfig(name="synthetic", orders=12000, start_hour=7.0, hours=0.25)
    rec = _Record()
    run_simulation(RunConfig(scenario=sc, seed=1), dispatch=rec)
    city = build_scenario(sc, RunConfig().sim, 1).city
    assert rec.batches
    epoch = 1478448000.0  # any midnight in UTC+8
    for b in rec.batches[::10]:
        obs = dispatch_observation(b, epoch)
        assert [tuple(p) for p in obs] == [DISPATCH_KEYS] * len(b)
        back = batch_from_dispatch_observation(obs, city, KDD_UTC_OFFSET_S)
        assert back.t == b.t and back.weekday == b.weekday
        for name in (
            "order",
            "driver",
            "pickup_m",
            "pickup_s",
            "driver_lat",
            "driver_lng",
            "fare",
            "origin_lat",
            "origin_lng",
            "dest_lat",
            "dest_lng",
            "origin_cell",
            "dest_cell",
            "driver_cell",
        ):
            np.testing.assert_array_equal(getattr(back, name), getattr(b, name), err_msg=name)
        np.testing.assert_allclose(back.trip_s, b.trip_s, atol=1e-6)
        sel = rec.dispatch(b)
        assert np.array_equal(parse_dispatch_answer(dispatch_answer(b, sel), b).value, sel)


def _batch() -> CandidateBatch:
    return batch_from_dispatch_observation(_sample(), _city(), KDD_UTC_OFFSET_S)


@pytest.mark.parametrize(
    ("answer", "selected", "faults"),
    [
        ([{"order_id": 0, "driver_id": 208}, {"order_id": 1, "driver_id": 36}], [1, 2], {}),
        ([{"order_id": 1.0, "driver_id": np.int64(1015)}], [3], {}),
        (None, [], {"malformed": 1}),
        ({"order_id": 0, "driver_id": 36}, [], {"malformed": 1}),
        ([{"order_id": 0}, "x", {"order_id": "0", "driver_id": 36}], [], {"malformed": 3}),
        (
            [{"order_id": True, "driver_id": 36}, {"order_id": 0, "driver_id": 36.5}],
            [],
            {"malformed": 2},
        ),
        (
            [{"order_id": 0, "driver_id": 1015}, {"order_id": 7, "driver_id": 36}],
            [],
            {"non_candidate": 2},
        ),
        (
            [
                {"order_id": 0, "driver_id": 36},
                {"order_id": 1, "driver_id": 36},
                {"order_id": 0, "driver_id": 208},
                {"order_id": 1, "driver_id": 1015},
            ],
            [0, 3],
            {"duplicate": 2},
        ),
        (
            [{"order_id": 1, "driver_id": 1015}, {"order_id": 1, "driver_id": 1015}],
            [3],
            {"duplicate": 1},
        ),
    ],
)
def test_dispatch_answers_are_checked_entry_by_entry(answer, selected, faults) -> None:
    parsed = parse_dispatch_answer(answer, _batch())
    assert parsed.value.tolist() == selected
    assert dict(parsed.faults) == faults
    assert len(parsed.messages) == min(sum(faults.values()), 5)


def test_reposition_answers_are_checked_entry_by_entry() -> None:
    city = _city()
    batch = RepositionBatch(
        t=100.0,
        weekday=2,
        driver=np.array([5, 6, 7]),
        lat=city.cell_lat[:3],
        lng=city.cell_lng[:3],
        cell=np.array([0, 1, 2]),
        idle_s=np.full(3, 300.0),
        unserved_by_cell=np.zeros(4),
        idle_by_cell=np.zeros(4),
    )
    answer = [
        {"driver_id": 5, "destination": GRID_IDS[3]},
        {"driver_id": 5, "destination": GRID_IDS[1]},  # twice
        {"driver_id": 6, "destination": "nowhere"},  # not a grid id
        {"driver_id": 9, "destination": GRID_IDS[0]},  # not due
        {"driver_id": 7, "destination": 3},  # not a str
        {"destination": GRID_IDS[0]},
    ]
    parsed = parse_reposition_answer(answer, batch, city)
    assert parsed.value.tolist() == [3, 1, 2]  # drivers 6 and 7 stay
    assert dict(parsed.faults) == {
        "duplicate": 1,
        "unknown_cell": 1,
        "non_candidate": 1,
        "malformed": 2,
    }
    assert parse_reposition_answer("go", batch, city).faults == {"malformed": 1}
