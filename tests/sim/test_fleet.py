"""Driver shifts: fitted to the workload, carried over midnight on whole-day runs or cut."""

from __future__ import annotations

import numpy as np
import pytest

from v1d3.demand.config import ScenarioConfig
from v1d3.demand.orders import Orders
from v1d3.errors import ConfigError
from v1d3.eval.config import RunConfig
from v1d3.eval.metrics import metrics_by_hour
from v1d3.eval.run import run_simulation
from v1d3.sim.config import DAY_S, SimConfig
from v1d3.sim.fleet import Fleet, anchor_weights, make_fleet


def _orders(n: int = 4000, seed: int = 0) -> Orders:
    """Orders spread over the whole day, a third of them late in the evening."""
    rng = np.random.default_rng(seed)
    t = np.sort(np.r_[rng.uniform(0, DAY_S, n - n // 3), rng.uniform(20 * 3600, DAY_S, n // 3)])
    lat = 40.75 + rng.normal(0, 0.01, n)
    lng = -73.98 + rng.normal(0, 0.01, n)
    return Orders(
        t_request=t,
        o_lat=lat,
        o_lng=lng,
        d_lat=lat,
        d_lng=lng,
        trip_s=np.full(n, 600.0),
        trip_m=np.full(n, 3000.0),
        fare=np.full(n, 10.0),
        o_zone=np.full(n, -1),
        d_zone=np.full(n, -1),
        source_id=np.arange(n),
    )


def _fleet(overnight: bool, start_s: float = 0.0, end_s: float = DAY_S, n: int = 3000) -> Fleet:
    cfg = SimConfig(overnight_shifts=overnight, managed_share=0.1)
    return make_fleet(n, _orders(), start_s, end_s, cfg, np.random.default_rng(5))


def _online_at(fleet: Fleet, t: float) -> int:
    return int(((fleet.t_on <= t) & (fleet.t_off > t)).sum())


def test_on_by_default_and_off_shifts_are_cut_at_the_horizon() -> None:
    assert SimConfig().overnight_shifts is True
    f = _fleet(False)
    assert len(f) == 3000
    assert f.t_on.min() >= 0 and f.t_off.max() <= DAY_S


def test_the_online_fleet_follows_the_workload_hour_by_hour() -> None:
    # _orders(): 111 orders an hour all day, 444 an hour from 8 p.m.: four times the work
    f = make_fleet(
        20_000, _orders(), 0.0, DAY_S, SimConfig(managed_share=0.1), np.random.default_rng(5)
    )
    online = np.array([_online_at(f, (h + 0.5) * 3600) for h in range(24)])
    # the evening's drivers come online with its demand (anchors drawn uniformly from the
    # orders would spread them over the shifts: 1.3× midday at 8:30 p.m., the most at 1:30 a.m.)
    assert online[20] > 2.5 * online[8:20].mean()
    assert online[1] < 0.6 * online[21]
    assert online[8:20].std() < 0.15 * online[8:20].mean()  # flat where the demand is
    w = anchor_weights(_orders().t_request, _orders().trip_s, 0.0, DAY_S, SimConfig(), True)
    assert w.sum() == pytest.approx(1.0) and np.all(w >= 0)


def test_overnight_shifts_carry_the_cut_parts_to_the_other_end_of_the_day() -> None:
    cut, carried = _fleet(False), _fleet(True)
    n = len(cut)
    extra = slice(n, None)
    assert len(carried) > n
    assert np.all((carried.t_on[extra] == 0.0) | (carried.t_off[extra] == DAY_S))
    assert np.all(carried.t_off[extra] > carried.t_on[extra])
    # no online time is lost: with 9-hour shifts exactly, the fleet works n × 9 hours
    cfg = SimConfig(overnight_shifts=True, shift_mean_h=9.0, shift_std_h=0.0)
    exact = make_fleet(n, _orders(), 0.0, DAY_S, cfg, np.random.default_rng(5))
    assert (exact.t_off - exact.t_on).sum() == pytest.approx(n * 9 * 3600.0, rel=1e-12)
    cfg = SimConfig(overnight_shifts=False, shift_mean_h=9.0, shift_std_h=0.0)
    cut_exact = make_fleet(n, _orders(), 0.0, DAY_S, cfg, np.random.default_rng(5))
    assert (cut_exact.t_off - cut_exact.t_on).sum() < 0.97 * n * 9 * 3600.0
    # and the first hour has the previous evening's drivers
    assert _online_at(carried, 0.5 * 3600) > _online_at(cut, 0.5 * 3600) + 100
    assert 0.09 < carried.managed.mean() < 0.11


def test_overnight_shifts_leave_a_partial_day_alone() -> None:
    a = _fleet(True, start_s=6 * 3600, end_s=18 * 3600)
    b = _fleet(False, start_s=6 * 3600, end_s=18 * 3600)
    assert len(a) == len(b) == 3000
    np.testing.assert_array_equal(a.t_on, b.t_on)
    np.testing.assert_array_equal(a.t_off, b.t_off)


def test_a_whole_day_with_overnight_shifts_passes_the_checker() -> None:
    sc = ScenarioConfig(name="synthetic", orders=3000, drivers=120, start_hour=0.0, hours=24.0)
    first_hour = {}
    for overnight in (False, True):
        cfg = RunConfig(
            scenario=sc, sim=SimConfig(overnight_shifts=overnight), dispatch="distance", seed=3
        )
        res = run_simulation(cfg, check=True)  # raises on a broken invariant
        first_hour[overnight] = metrics_by_hour(res.log)["drivers_online"][0]
    assert first_hour[True] > first_hour[False]


def test_a_count_of_managed_drivers_takes_the_share_s_random_order() -> None:
    share = _fleet(True)  # managed_share = 0.1
    n = len(share)
    cfg = SimConfig(managed_drivers=int(round(0.1 * n)))
    count = make_fleet(3000, _orders(), 0.0, DAY_S, cfg, np.random.default_rng(5))
    # the same stream: the same shifts, and the count that the share rounds to is the same set
    np.testing.assert_array_equal(count.t_on, share.t_on)
    np.testing.assert_array_equal(count.lat, share.lat)
    np.testing.assert_array_equal(count.managed, share.managed)
    five = make_fleet(
        3000, _orders(), 0.0, DAY_S, SimConfig(managed_drivers=5), np.random.default_rng(5)
    )
    assert five.managed.sum() == 5
    assert np.all(share.managed[five.managed])  # nested: the 5 are among the share's
    none = make_fleet(
        3000, _orders(), 0.0, DAY_S, SimConfig(managed_drivers=0), np.random.default_rng(5)
    )
    assert not none.managed.any()


def test_more_managed_drivers_than_drivers_names_the_field() -> None:
    cfg = SimConfig(managed_drivers=3001, overnight_shifts=False)
    with pytest.raises(ConfigError, match=r"managed_drivers must be at most the run's 3000"):
        make_fleet(3000, _orders(), 0.0, DAY_S, cfg, np.random.default_rng(5))


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"managed_drivers": -1}, "managed_drivers must be >= 0"),
        ({"managed_drivers": 5, "managed_share": 0.5}, "managed_drivers replaces managed_share"),
        ({"managed_drivers": 2.5}, "managed_drivers must be"),
        ({"managed_drivers": True}, "managed_drivers must be"),
    ],
)
def test_managed_drivers_is_validated(kwargs: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        SimConfig(**kwargs)  # type: ignore[arg-type]
