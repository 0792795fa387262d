"""The 2-second loop.

State lives in numpy arrays (one entry per driver, one per order); every round is a handful of
vectorised operations over the drivers and orders that changed:

1. arrivals, expiries, trips ending, shifts starting and ending;
2. candidate pairs from a KD-tree over the available drivers (never a dense matrix);
3. ``dispatch.dispatch(batch)`` → selected pairs, checked one-to-one;
4. apply: cancellation draws, trips start, events logged;
5. every ``idle_move_every_s``: idle drift, repositioning of drivers idle for long enough;
6. ``dispatch.observe(outcome)`` for policies that learn online.

Randomness: one ``SeedSequence`` per run gives child generators for cancellations and idle drift
(demand and fleet are drawn with their own children when the scenario is built). Every round draws
the same number of values whatever the policy does, so policies compared on one seed see the same
orders, shifts, cancellation draws and idle moves (common random numbers).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from v1d3.demand.orders import cancel_probability
from v1d3.dispatch.base import CandidateBatch, DayContext, DispatchPolicy, RoundOutcome
from v1d3.sim.candidates import DriverIndex
from v1d3.errors import PolicyError
from v1d3.reposition.base import RepositionBatch, RepositionPolicy
from v1d3.sim.log import (
    CANCEL,
    IDLE_MOVE,
    REPOSITION,
    SHIFT_END,
    SHIFT_START,
    TRIP,
    EventLog,
    RunLog,
)
from v1d3.sim.scenario import Scenario

__all__ = ["Simulator", "run_day"]

# driver status
OFFLINE, IDLE, BUSY, CRUISE, DONE = 0, 1, 2, 3, 4
# order status (see v1d3.sim.log.ORDER_STATUS)
OPEN, COMPLETED, CANCELLED, EXPIRED = 0, 1, 2, 3

UNSERVED_WINDOW_S = 1800.0


@dataclass
class _Drivers:
    x: np.ndarray
    y: np.ndarray
    lat: np.ndarray
    lng: np.ndarray
    cell: np.ndarray
    status: np.ndarray
    avail: np.ndarray
    free_at: np.ndarray
    idle_since: np.ndarray
    leaving: np.ndarray
    # repositioning trips under way
    c_t0: np.ndarray
    c_t1: np.ndarray
    c_x0: np.ndarray
    c_y0: np.ndarray
    c_x1: np.ndarray
    c_y1: np.ndarray
    c_cell1: np.ndarray
    c_lat0: np.ndarray
    c_lng0: np.ndarray
    c_cell0: np.ndarray


class Simulator:
    """Runs one simulated day of a :class:`~v1d3.sim.scenario.Scenario` under two policies."""

    def __init__(self, scenario: Scenario, seed: int) -> None:
        self.scenario = scenario
        self.seed = seed

    def run(
        self,
        dispatch: DispatchPolicy,
        reposition: RepositionPolicy,
        progress: Callable[[float, int], None] | None = None,
    ) -> RunLog:
        """Simulate the scenario's horizon; ``progress(clock_s, orders_so_far)`` is called each
        simulated minute."""
        sc = self.scenario
        cfg = sc.sim
        city = sc.city
        orders = sc.orders
        fleet = sc.fleet
        n_drv = len(fleet)
        n_ord = len(orders)
        start_s, end_s = sc.start_s, sc.end_s
        wall0 = time.perf_counter()

        ss = np.random.SeedSequence([self.seed, sc.weekday, 0xD15])
        rng_cancel, rng_drift, rng_policy_d, rng_policy_r = (
            np.random.default_rng(s) for s in ss.spawn(4)
        )
        u_cancel = rng_cancel.random(n_ord)  # one uniform per order: CRN across policies

        # static order columns
        ox, oy = city.proj.to_xy(orders.o_lat, orders.o_lng)
        dxy = city.proj.to_xy(orders.d_lat, orders.d_lng)
        d_x, d_y = dxy
        o_cell = sc.o_cell
        d_cell = sc.d_cell
        o_zone = orders.o_zone
        t_req = orders.t_request
        fare = orders.fare
        trip_s = orders.trip_s
        patience = cfg.patience_s
        cell_zone = (
            city.cell_zone if city.cell_zone is not None else np.full(city.n_cells, -1, np.int32)
        )

        # order outcome columns
        o_status = np.zeros(n_ord, dtype=np.int8)
        o_driver = np.full(n_ord, -1, dtype=np.int32)
        o_t_assign = np.full(n_ord, np.nan)
        o_pickup_m = np.full(n_ord, np.nan)
        o_pickup_s = np.full(n_ord, np.nan)
        o_t_end = np.full(n_ord, np.nan)

        # driver state
        fx, fy = city.proj.to_xy(fleet.lat, fleet.lng)
        st = _Drivers(
            x=np.asarray(fx, dtype=np.float64).copy(),
            y=np.asarray(fy, dtype=np.float64).copy(),
            lat=fleet.lat.astype(np.float64).copy(),
            lng=fleet.lng.astype(np.float64).copy(),
            cell=city.cell_of(fleet.lat, fleet.lng),
            status=np.zeros(n_drv, dtype=np.int8),
            avail=np.zeros(n_drv, dtype=bool),
            free_at=np.full(n_drv, np.inf),
            idle_since=np.full(n_drv, np.nan),
            leaving=np.zeros(n_drv, dtype=bool),
            c_t0=np.full(n_drv, np.nan),
            c_t1=np.full(n_drv, np.inf),
            c_x0=np.zeros(n_drv),
            c_y0=np.zeros(n_drv),
            c_x1=np.zeros(n_drv),
            c_y1=np.zeros(n_drv),
            c_cell1=np.zeros(n_drv, dtype=np.int32),
            c_lat0=np.zeros(n_drv),
            c_lng0=np.zeros(n_drv),
            c_cell0=np.zeros(n_drv, dtype=np.int32),
        )
        managed = fleet.managed
        valid_shift = fleet.t_off > fleet.t_on
        on_order = np.argsort(fleet.t_on, kind="stable")
        on_order = on_order[valid_shift[on_order]]
        t_on_sorted = fleet.t_on[on_order]
        off_order = np.argsort(fleet.t_off, kind="stable")
        off_order = off_order[valid_shift[off_order]]
        t_off_sorted = fleet.t_off[off_order]
        on_ptr = off_ptr = 0

        log = EventLog()
        axis, length_m = city.long_axis()
        index = DriverIndex(n_drv, axis=axis, length_m=length_m)
        touch = index.touch
        ctx_d = DayContext(city, sc.weekday, start_s, end_s, cfg, rng_policy_d, sc.epoch_s, managed)
        ctx_r = DayContext(city, sc.weekday, start_s, end_s, cfg, rng_policy_r, sc.epoch_s, managed)
        dispatch.reset(ctx_d)
        reposition.reset(ctx_r)
        learns = dispatch.learns_online
        t_observed = start_s

        n_rounds = int(np.ceil((end_s - start_s) / cfg.round_s - 1e-9))
        round_t = start_s + cfg.round_s * np.arange(1, n_rounds + 1)
        round_t[-1] = min(round_t[-1], end_s)
        arr_hi = np.searchsorted(t_req, round_t, side="right")
        ptr = 0
        waiting = np.zeros(0, dtype=np.int64)

        r_t: list[float] = []
        r_orders: list[int] = []
        r_drivers: list[int] = []
        r_pairs: list[int] = []
        r_matched: list[int] = []
        r_ms: list[float] = []

        radius = cfg.pickup_radius_m
        k_near = cfg.k_nearest
        curve = np.asarray(cfg.cancel_curve, dtype=np.float64)
        tick = cfg.idle_move_every_s
        next_tick = start_s + tick
        edge = city.edge_m
        neighbours = city.neighbours
        travel = city.travel
        n_cruise = 0

        def end_cruise(ids: np.ndarray, t_end: np.ndarray | float, arrived: bool) -> None:
            nonlocal n_cruise
            if ids.size == 0:
                return
            if arrived:
                st.x[ids] = st.c_x1[ids]
                st.y[ids] = st.c_y1[ids]
                st.cell[ids] = st.c_cell1[ids]
                lat, lng = city.proj.to_latlng(st.x[ids], st.y[ids])
                st.lat[ids] = lat
                st.lng[ids] = lng
            log.add(
                REPOSITION,
                ids,
                t_start_s=st.c_t0[ids],
                t_end_s=t_end,
                start_lat=st.c_lat0[ids],
                start_lng=st.c_lng0[ids],
                end_lat=st.lat[ids],
                end_lng=st.lng[ids],
                start_cell=st.c_cell0[ids],
                end_cell=st.cell[ids],
            )
            st.c_t1[ids] = np.inf
            n_cruise -= ids.size

        for r in range(n_rounds):
            t = float(round_t[r])

            # -- arrivals
            hi = int(arr_hi[r])
            if hi > ptr:
                waiting = np.concatenate((waiting, np.arange(ptr, hi)))
                ptr = hi

            # -- shifts starting
            k = int(np.searchsorted(t_on_sorted, t, side="right"))
            if k > on_ptr:
                ids = on_order[on_ptr:k]
                on_ptr = k
                st.status[ids] = IDLE
                st.avail[ids] = True
                touch(ids)
                st.idle_since[ids] = fleet.t_on[ids]
                log.add(
                    SHIFT_START,
                    ids,
                    t_start_s=fleet.t_on[ids],
                    t_end_s=fleet.t_on[ids],
                    start_lat=st.lat[ids],
                    start_lng=st.lng[ids],
                    end_lat=st.lat[ids],
                    end_lng=st.lng[ids],
                    start_cell=st.cell[ids],
                    end_cell=st.cell[ids],
                )

            # -- trips ending (drop-off reached)
            ending = np.flatnonzero(st.free_at <= t)
            if ending.size:
                t_free = st.free_at[ending]
                st.free_at[ending] = np.inf
                leave = st.leaving[ending]
                gone = ending[leave]
                stay = ending[~leave]
                st.status[stay] = IDLE
                st.avail[stay] = True
                touch(stay)
                st.idle_since[stay] = t_free[~leave]
                if gone.size:
                    st.status[gone] = DONE
                    st.leaving[gone] = False
                    self._log_shift_end(log, st, gone, t_free[leave])

            # -- repositioning trips arriving
            if n_cruise:
                arrived = np.flatnonzero(st.c_t1 <= t)
                if arrived.size:
                    t_arr = st.c_t1[arrived].copy()
                    end_cruise(arrived, t_arr, True)
                    touch(arrived)
                    st.status[arrived] = IDLE
                    st.idle_since[arrived] = t_arr

            # -- shifts ending
            k = int(np.searchsorted(t_off_sorted, t, side="right"))
            if k > off_ptr:
                ids = off_order[off_ptr:k]
                off_ptr = k
                busy = st.status[ids] == BUSY
                st.leaving[ids[busy]] = True
                now_off = ids[~busy & (st.status[ids] != OFFLINE) & (st.status[ids] != DONE)]
                if now_off.size:
                    cruising = st.status[now_off] == CRUISE
                    if cruising.any():
                        touch(self._advance_cruise(st, t, city))
                        end_cruise(now_off[cruising], t, False)
                    st.status[now_off] = DONE
                    st.avail[now_off] = False
                    touch(now_off)
                    # a repositioning trip cut short ends now, so the shift ends now too
                    t_end_shift = np.where(
                        cruising, t, np.maximum(fleet.t_off[now_off], st.idle_since[now_off])
                    )
                    self._log_shift_end(log, st, now_off, t_end_shift)

            # -- expiries
            if waiting.size:
                expired = (t - t_req[waiting]) > patience
                if expired.any():
                    o_status[waiting[expired]] = EXPIRED
                    o_t_end[waiting[expired]] = t_req[waiting[expired]] + patience
                    waiting = waiting[~expired]

            # -- idle drift and repositioning, once per tick
            if t >= next_tick:
                next_tick += tick
                if n_cruise:
                    touch(self._advance_cruise(st, t, city))
                u = rng_drift.random(n_drv)
                direction = rng_drift.integers(0, 6, size=n_drv)
                jit = rng_drift.random((n_drv, 2))
                movers = np.flatnonzero((st.status == IDLE) & (u >= cfg.idle_stay_prob))
                if movers.size:
                    nb = neighbours[st.cell[movers], direction[movers]]
                    ok = nb >= 0
                    movers = movers[ok]
                    nb = nb[ok]
                    if movers.size:
                        lat0 = st.lat[movers]
                        lng0 = st.lng[movers]
                        c0 = st.cell[movers]
                        nx, ny = self._point_in_cell(city, nb, jit[movers], edge)
                        self._place(st, city, movers, nx, ny, nb)
                        touch(movers)
                        log.add(
                            IDLE_MOVE,
                            movers,
                            t_start_s=t,
                            t_end_s=t,
                            start_lat=lat0,
                            start_lng=lng0,
                            end_lat=st.lat[movers],
                            end_lng=st.lng[movers],
                            start_cell=c0,
                            end_cell=nb,
                        )
                due = np.flatnonzero(
                    managed & (st.status == IDLE) & (t - st.idle_since >= cfg.reposition_after_s)
                )
                if due.size:
                    n_cruise += self._reposition(
                        reposition,
                        st,
                        city,
                        due,
                        t,
                        sc.weekday,
                        o_status,
                        o_cell,
                        t_req,
                        jit,
                        patience,
                    )
                if progress is not None:
                    progress(t, ptr)

            # -- dispatch
            if waiting.size == 0:
                continue
            aidx = np.flatnonzero(st.avail)
            if aidx.size == 0:
                continue
            tic = time.perf_counter()
            wx = ox[waiting]
            wy = oy[waiting]
            rows, p_drv, p_m = index.query(
                st.avail, st.x, st.y, wx, wy, k_near, radius, keys=waiting, avail_ids=aidx
            )
            n_pairs = p_drv.size
            sel = np.zeros(0, dtype=np.int64)
            served = np.zeros(0, dtype=bool)
            batch = None
            if n_pairs:
                p_ord = waiting[rows]
                p_s = travel.time_s(
                    st.x[p_drv],
                    st.y[p_drv],
                    ox[p_ord],
                    oy[p_ord],
                    cell_zone[st.cell[p_drv]],
                    o_zone[p_ord],
                    t,
                )
                batch = CandidateBatch(
                    t,
                    sc.weekday,
                    p_drv,
                    p_ord,
                    p_m,
                    p_s,
                    st.lat[p_drv],
                    st.lng[p_drv],
                    st.cell[p_drv],
                    orders,
                    o_cell,
                    d_cell,
                )
                sel = self._check_matching(dispatch.dispatch(batch), p_drv, p_ord)

                # -- apply: cancellations, trips
                if sel.size:
                    sd = p_drv[sel]
                    so = p_ord[sel]
                    pm = p_m[sel]
                    ps = p_s[sel]
                    if cfg.cancellations:
                        # the order's own curve when the data carries one, else the sim's
                        rows = curve if orders.cancel_prob is None else orders.cancel_prob[so]
                        pc = cancel_probability(pm, rows)
                        cancelled = u_cancel[so] < pc
                    else:
                        cancelled = np.zeros(sel.size, dtype=bool)
                    served = ~cancelled
                    o_t_assign[so] = t
                    o_driver[so] = sd
                    o_pickup_m[so] = pm
                    o_pickup_s[so] = ps
                    if cancelled.any():
                        cd, co = sd[cancelled], so[cancelled]
                        o_status[co] = CANCELLED
                        o_t_end[co] = t
                        log.add(
                            CANCEL,
                            cd,
                            order_id=co,
                            t_start_s=t,
                            t_end_s=t,
                            start_lat=st.lat[cd],
                            start_lng=st.lng[cd],
                            end_lat=st.lat[cd],
                            end_lng=st.lng[cd],
                            start_cell=st.cell[cd],
                            end_cell=st.cell[cd],
                            pickup_m=pm[cancelled],
                            pickup_s=ps[cancelled],
                        )
                    d = sd[served]
                    o = so[served]
                    if d.size:
                        cr = d[st.status[d] == CRUISE]
                        if cr.size:
                            end_cruise(cr, t, False)
                        t_drop = t + ps[served] + trip_s[o]
                        o_status[o] = COMPLETED
                        o_t_end[o] = t_drop
                        log.add(
                            TRIP,
                            d,
                            order_id=o,
                            t_start_s=t,
                            t_end_s=t_drop,
                            start_lat=st.lat[d],
                            start_lng=st.lng[d],
                            end_lat=orders.d_lat[o],
                            end_lng=orders.d_lng[o],
                            start_cell=st.cell[d],
                            end_cell=d_cell[o],
                            reward=fare[o],
                            pickup_m=pm[served],
                            pickup_s=ps[served],
                        )
                        st.x[d] = d_x[o]
                        st.y[d] = d_y[o]
                        st.lat[d] = orders.d_lat[o]
                        st.lng[d] = orders.d_lng[o]
                        st.cell[d] = d_cell[o]
                        st.status[d] = BUSY
                        st.avail[d] = False
                        touch(d)
                        st.free_at[d] = t_drop
                    waiting = waiting[o_status[waiting] == OPEN]
            elapsed = (time.perf_counter() - tic) * 1000.0
            r_t.append(t)
            r_orders.append(int(wx.size))  # waiting at the start of the round
            r_drivers.append(int(aidx.size))
            r_pairs.append(int(n_pairs))
            r_matched.append(int(served.sum()))
            r_ms.append(elapsed)

            # -- learn
            if learns and batch is not None:
                started = np.zeros(n_drv, dtype=bool)
                started[p_drv[sel][served]] = True
                idle = aidx[~started[aidx]]
                dispatch.observe(
                    RoundOutcome(
                        batch,
                        sel,
                        ~served,
                        idle,
                        st.cell[idle],
                        st.lat[idle],
                        st.lng[idle],
                        dt_s=t - t_observed,
                    )
                )
                t_observed = t

        # -- end of horizon: close what is still open
        o_status[waiting] = EXPIRED
        o_t_end[waiting] = end_s
        cr = np.flatnonzero(st.status == CRUISE)
        if cr.size:
            self._advance_cruise(st, end_s, city)
            end_cruise(cr, end_s, False)
            st.status[cr] = IDLE
        online = np.flatnonzero(st.status == IDLE)
        self._log_shift_end(log, st, online, np.full(online.size, end_s))
        busy = np.flatnonzero(st.status == BUSY)
        self._log_shift_end(log, st, busy, np.maximum(st.free_at[busy], end_s))

        wall_s = time.perf_counter() - wall0
        return RunLog(
            events=log.finish(),
            orders={
                "order_id": np.arange(n_ord, dtype=np.int64),
                "source_id": orders.source_id.astype(np.int64),
                "t_request_s": t_req,
                "status": o_status,
                "driver_id": o_driver,
                "t_assign_s": o_t_assign,
                "t_end_s": o_t_end,
                "pickup_m": o_pickup_m,
                "pickup_s": o_pickup_s,
                "fare": fare,
                "trip_s": trip_s,
                "trip_m": orders.trip_m,
                "origin_lat": orders.o_lat,
                "origin_lng": orders.o_lng,
                "dest_lat": orders.d_lat,
                "dest_lng": orders.d_lng,
                "origin_cell": o_cell,
                "dest_cell": d_cell,
            },
            drivers={
                "driver_id": np.arange(n_drv, dtype=np.int32),
                "t_on_s": fleet.t_on,
                "t_off_s": fleet.t_off,
                "managed": managed,
            },
            rounds={
                "t_s": np.asarray(r_t, dtype=np.float64),
                "orders": np.asarray(r_orders, dtype=np.int32),
                "drivers": np.asarray(r_drivers, dtype=np.int32),
                "pairs": np.asarray(r_pairs, dtype=np.int32),
                "matched": np.asarray(r_matched, dtype=np.int32),
                "ms": np.asarray(r_ms, dtype=np.float64),
            },
            meta={
                "weekday": sc.weekday,
                "start_s": start_s,
                "end_s": end_s,
                "round_s": cfg.round_s,
                "pickup_radius_m": radius,
                "dropped_rows": int(orders.dropped_rows),
                "drop_reasons": dict(orders.drop_reasons),
                "wall_s": wall_s,
                "seed": self.seed,
                "n_cells": city.n_cells,
            },
        )

    # -- helpers (not on the per-round path unless noted)

    @staticmethod
    def _check_matching(sel: object, p_drv: np.ndarray, p_ord: np.ndarray) -> np.ndarray:
        sel = np.asarray(sel, dtype=np.int64).ravel()
        if sel.size == 0:
            return sel
        if sel.min() < 0 or sel.max() >= p_drv.size:
            raise PolicyError("dispatch returned a pair index outside the candidate batch")
        if len(set(p_drv[sel].tolist())) < sel.size or len(set(p_ord[sel].tolist())) < sel.size:
            raise PolicyError("dispatch returned a matching that uses a driver or order twice")
        return sel

    @staticmethod
    def _log_shift_end(log: EventLog, st: _Drivers, ids: np.ndarray, t: np.ndarray) -> None:
        log.add(
            SHIFT_END,
            ids,
            t_start_s=t,
            t_end_s=t,
            start_lat=st.lat[ids],
            start_lng=st.lng[ids],
            end_lat=st.lat[ids],
            end_lng=st.lng[ids],
            start_cell=st.cell[ids],
            end_cell=st.cell[ids],
        )

    @staticmethod
    def _point_in_cell(city, cells: np.ndarray, u: np.ndarray, edge: float):  # type: ignore[no-untyped-def]
        """A point near the centre of each cell (uniform in a disk of half the edge length)."""
        rad = 0.5 * edge * np.sqrt(u[:, 0])
        ang = 2 * np.pi * u[:, 1]
        return city.cell_x[cells] + rad * np.cos(ang), city.cell_y[cells] + rad * np.sin(ang)

    @staticmethod
    def _place(st: _Drivers, city, ids, x, y, cells) -> None:  # type: ignore[no-untyped-def]
        st.x[ids] = x
        st.y[ids] = y
        lat, lng = city.proj.to_latlng(x, y)
        st.lat[ids] = lat
        st.lng[ids] = lng
        st.cell[ids] = cells

    @staticmethod
    def _advance_cruise(st: _Drivers, t: float, city) -> np.ndarray:  # type: ignore[no-untyped-def]
        """Move repositioning drivers along their way; returns their ids."""
        ids = np.flatnonzero(st.status == CRUISE)
        if ids.size == 0:
            return ids
        frac = np.clip((t - st.c_t0[ids]) / np.maximum(st.c_t1[ids] - st.c_t0[ids], 1e-9), 0, 1)
        x = st.c_x0[ids] + frac * (st.c_x1[ids] - st.c_x0[ids])
        y = st.c_y0[ids] + frac * (st.c_y1[ids] - st.c_y0[ids])
        Simulator._place(st, city, ids, x, y, city.cell_of_xy(x, y))
        return ids

    def _reposition(  # type: ignore[no-untyped-def]
        self, policy, st, city, due, t, weekday, o_status, o_cell, t_req, jit, patience
    ) -> int:
        lo = int(np.searchsorted(t_req, t - UNSERVED_WINDOW_S - patience))
        hi = int(np.searchsorted(t_req, t - patience, side="right"))
        lost = np.arange(lo, hi)
        lost = lost[o_status[lost] == EXPIRED]
        batch = RepositionBatch(
            t=t,
            weekday=weekday,
            driver=due,
            lat=st.lat[due].copy(),
            lng=st.lng[due].copy(),
            cell=st.cell[due].copy(),
            idle_s=t - st.idle_since[due],
            unserved_by_cell=np.bincount(o_cell[lost], minlength=city.n_cells),
            idle_by_cell=np.bincount(st.cell[st.avail], minlength=city.n_cells),
        )
        dest = np.asarray(policy.reposition(batch)).astype(np.int64).ravel()
        if dest.shape != due.shape:
            raise PolicyError(
                f"reposition returned {dest.size} destinations for {due.size} drivers"
            )
        if dest.size and (dest.min() < 0 or dest.max() >= city.n_cells):
            raise PolicyError("reposition returned a destination outside the city's cells")
        stay = dest == st.cell[due]
        st.idle_since[due[stay]] = t
        go = due[~stay]
        if go.size == 0:
            return 0
        dst = dest[~stay].astype(np.int32)
        x1, y1 = self._point_in_cell(city, dst, jit[go], city.edge_m)
        zone = city.cell_zone if city.cell_zone is not None else np.full(city.n_cells, -1)
        dur = city.travel.time_s(st.x[go], st.y[go], x1, y1, zone[st.cell[go]], zone[dst], t)
        st.c_t0[go] = t
        st.c_t1[go] = t + np.maximum(dur, 1.0)
        st.c_x0[go] = st.x[go]
        st.c_y0[go] = st.y[go]
        st.c_x1[go] = x1
        st.c_y1[go] = y1
        st.c_cell1[go] = dst
        st.c_lat0[go] = st.lat[go]
        st.c_lng0[go] = st.lng[go]
        st.c_cell0[go] = st.cell[go]
        st.status[go] = CRUISE
        return int(go.size)


def run_day(
    scenario: Scenario,
    dispatch: DispatchPolicy,
    reposition: RepositionPolicy,
    seed: int,
    progress: Callable[[float, int], None] | None = None,
) -> RunLog:
    """Simulate one day: a convenience wrapper around :class:`Simulator`."""
    return Simulator(scenario, seed).run(dispatch, reposition, progress)
