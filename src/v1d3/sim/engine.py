"""The 2-second loop, one round at a time.

State lives in numpy arrays (:mod:`v1d3.sim.state`: one row per driver, one per order); every
round is a handful of vectorised operations over the drivers and orders that changed:

1. arrivals, trips ending, repositioning trips arriving, shifts starting and ending, expiries;
2. every ``idle_move_every_s``: idle drift, repositioning of drivers idle for long enough;
3. candidate pairs from :class:`~v1d3.sim.candidates.DriverIndex` (never a dense matrix);
4. a matching of the pairs (``dispatch.dispatch(batch)``), checked one-to-one;
5. apply: cancellation draws, trips start, events logged;
6. ``dispatch.observe(outcome)`` for policies that learn online.

Driving it. ``Simulator(scenario, seed).run(dispatch, reposition, progress)`` simulates the
whole horizon and returns its :class:`~v1d3.sim.log.RunLog`; it is this loop::

    sim = Simulator(scenario, seed)
    sim.reset(dispatch, reposition, progress)
    while sim.step():  # one round: begin_round(), dispatch.dispatch(batch), end_round(selected)
        pass
    log = sim.finish()

A caller that makes the matching itself (a Gymnasium environment, a live service, a trainer)
passes ``dispatch=None`` to :meth:`Simulator.reset` and splits each round in two:
:meth:`Simulator.begin_round` runs phases 1–3 and returns the round's
:class:`~v1d3.rounds.CandidateBatch` (``None`` when the round has no pair: end it with
no selection); :meth:`Simulator.end_round` takes the selected pair indices, runs phases 5–6 and
returns the round's :class:`~v1d3.rounds.RoundOutcome` (whenever the round had pairs
and the matching came from outside, or from a policy that learns online). ``done`` turns true
after the last round; :meth:`Simulator.finish` then closes the day and returns the log.
Between rounds the state is readable as ``sim.drivers`` and ``sim.orders``; a round's
``ms`` in the log counts the caller's time between the two calls.

Randomness: :func:`v1d3.sim.seeds.sim_streams` gives the generators for cancellations and idle
drift (demand and fleet are drawn from their own streams when the scenario is built). Every
round draws the same number of values whatever the policy does, so policies compared on one
seed see the same orders, shifts, cancellation draws and idle moves (common random numbers).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from v1d3.demand.orders import cancel_probability
from v1d3.dispatch.base import DispatchPolicy
from v1d3.errors import PolicyError
from v1d3.reposition.base import RepositionBatch, RepositionPolicy
from v1d3.rounds import CandidateBatch, DayContext, RoundOutcome
from v1d3.sim.candidates import DriverIndex
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
from v1d3.sim.seeds import ShockBranch, shock_rng, sim_streams
from v1d3.sim.state import (
    BUSY,
    CANCELLED,
    COMPLETED,
    CRUISE,
    DONE,
    EXPIRED,
    IDLE,
    OFFLINE,
    OPEN,
    DriverState,
    OrderState,
    RoundStats,
    ShiftSchedule,
    point_in_cell,
)

__all__ = ["Simulator", "run_day", "UNSERVED_WINDOW_S"]

UNSERVED_WINDOW_S = 1800.0
"""How far back (seconds) the orders lost to expiry count in a repositioning batch."""

_NONE = np.zeros(0, dtype=np.int64)

_Positions = tuple[np.ndarray, np.ndarray, np.ndarray]
"""Latitudes, longitudes and cells of an event's drivers."""


@dataclass(slots=True, eq=False)
class _Round:
    """A round begun and not yet ended."""

    t: float
    """Clock, seconds after midnight."""
    avail: np.ndarray | None = None
    """Drivers available at the candidate search; None when the round had nothing to match."""
    batch: CandidateBatch | None = None
    n_orders: int = 0
    """Orders waiting at the candidate search."""
    tic: float = 0.0
    """``perf_counter()`` at the candidate search."""


class Simulator:
    """Simulates one day of a :class:`~v1d3.sim.scenario.Scenario` round by round (see the
    module docstring for the step API)."""

    def __init__(self, scenario: Scenario, seed: int) -> None:
        self.scenario = scenario
        self.seed = seed
        self._open: _Round | None = None
        self._r = 0
        self._n_rounds = -1  # no day reset yet

    # -- the step API

    def reset(
        self,
        dispatch: DispatchPolicy | None,
        reposition: RepositionPolicy,
        progress: Callable[[float, int], None] | None = None,
    ) -> None:
        """Start the day: state at the horizon's start, policies reset with their contexts.

        ``dispatch`` None: the caller matches each round (:meth:`begin_round`,
        :meth:`end_round`). ``progress(clock_s, orders_so_far)`` is called at every idle-move
        tick (``SimConfig.idle_move_every_s``, a simulated minute by default).
        """
        sc = self.scenario
        cfg, city = sc.sim, sc.city
        self._wall0 = time.perf_counter()
        rng = sim_streams(self.seed, sc.weekday)
        shocked = sc.shocked
        if shocked is None:
            self._u_cancel = rng.cancel.random(len(sc.orders))  # one per order: CRN across policies
            self._rng_drift_added: np.random.Generator | None = None
        else:  # the day's own orders and drivers draw what they draw without the shocks
            seed, w = self.seed, sc.config.weekday
            self._u_cancel = shocked.cancel_uniforms(
                rng.cancel.random(shocked.n_base_orders),
                shock_rng(seed, w, ShockBranch.CANCEL),
            )
            self._rng_drift_added = shock_rng(seed, w, ShockBranch.DRIFT)
        self._rng_drift = rng.drift
        self.drivers = DriverState.start(city, sc.fleet)
        """Every driver's position and status, readable between rounds."""
        self.orders = OrderState.start(city, sc.orders)
        """Every order's queue state and outcome, readable between rounds."""
        self._shifts = ShiftSchedule.of(sc.fleet)
        self._events = EventLog()
        self._stats = RoundStats()
        axis, length_m = city.long_axis()
        self._index = DriverIndex(len(sc.fleet), axis=axis, length_m=length_m)
        self._cell_zone = (
            city.cell_zone if city.cell_zone is not None else np.full(city.n_cells, -1, np.int32)
        )
        self._curve = np.asarray(cfg.cancel_curve, dtype=np.float64)
        self._dispatch, self._reposition_policy, self._progress = dispatch, reposition, progress
        if dispatch is not None:
            dispatch.reset(self._context(rng.dispatch))
        reposition.reset(self._context(rng.reposition))
        self._observes = dispatch is None or dispatch.learns_online
        self._t_observed = sc.start_s
        self._n_rounds = int(np.ceil((sc.end_s - sc.start_s) / cfg.round_s - 1e-9))
        self._round_t = sc.start_s + cfg.round_s * np.arange(1, self._n_rounds + 1)
        self._round_t[-1] = min(self._round_t[-1], sc.end_s)
        self._arr_hi = np.searchsorted(sc.orders.t_request, self._round_t, side="right")
        self._r = 0
        self._open = None
        self._next_tick = sc.start_s + cfg.idle_move_every_s
        self._n_cruise = 0

    @property
    def done(self) -> bool:
        """True once the horizon's last round has ended (before any :meth:`reset` too)."""
        return self._r >= self._n_rounds and self._open is None

    @property
    def t(self) -> float:
        """Clock of the round begun last, seconds after midnight (the start before any)."""
        return float(self._round_t[self._r - 1]) if self._r else self.scenario.start_s

    def step(self) -> bool:
        """One round with the policy given to :meth:`reset`; False once the day is done."""
        if self._dispatch is None:
            raise RuntimeError("step() needs a dispatch policy: reset(dispatch, ...) first")
        batch = self.begin_round()
        # match
        self.end_round(_NONE if batch is None else self._dispatch.dispatch(batch))
        return not self.done

    def begin_round(self) -> CandidateBatch | None:
        """Advance the clock one round and return its candidate pairs (None when there are none;
        :meth:`end_round` must follow either way)."""
        if self._open is not None:
            raise RuntimeError("begin_round() twice: end_round() the open round first")
        if self.done:
            raise RuntimeError("begin_round() after the day ended: reset() first")
        t = float(self._round_t[self._r])
        self._r += 1
        # clock: arrivals, drop-offs, shifts, expiries
        self._advance(t)
        # move: idle drift and repositioning, once a tick
        if t >= self._next_tick:
            self._next_tick += self.scenario.sim.idle_move_every_s
            self._tick(t)
        # candidates
        self._open = self._candidates(t)
        return self._open.batch

    def end_round(self, selected: object = _NONE) -> RoundOutcome | None:
        """Apply ``selected`` (indices into the round's batch, each driver and order once) and
        return the round's outcome when one is built (see the module docstring)."""
        rnd = self._open
        if rnd is None:
            raise RuntimeError("end_round() without begin_round()")
        self._open = None
        batch = rnd.batch
        if batch is None:
            sel = _NONE if selected is _NONE else _check_matching(selected, _NONE, _NONE)
            if rnd.avail is None:
                return None  # nothing to match: the round is not logged
            served = np.zeros(0, dtype=bool)
        else:
            # apply
            sel = _check_matching(selected, batch.driver, batch.order)
            served = self._apply(rnd.t, batch, sel) if sel.size else np.zeros(0, dtype=bool)
        assert rnd.avail is not None
        ms = (time.perf_counter() - rnd.tic) * 1000.0
        pairs = 0 if batch is None else len(batch)
        self._stats.add(rnd.t, rnd.n_orders, int(rnd.avail.size), pairs, int(served.sum()), ms)
        if batch is None or not self._observes:
            return None
        # learn
        outcome = self._outcome(rnd, batch, sel, served)
        if self._dispatch is not None:
            self._dispatch.observe(outcome)
        return outcome

    def finish(self) -> RunLog:
        """Close the day (what is still open ends at the horizon) and return its log."""
        if not self.done or self._n_rounds < 0:
            raise RuntimeError("finish() before the day's last round ended")
        self._n_rounds = -1  # once per reset
        self._close_day()
        return self._run_log(time.perf_counter() - self._wall0)

    def run(
        self,
        dispatch: DispatchPolicy,
        reposition: RepositionPolicy,
        progress: Callable[[float, int], None] | None = None,
    ) -> RunLog:
        """Simulate the scenario's horizon; ``progress`` as in :meth:`reset`."""
        self.reset(dispatch, reposition, progress)
        while self.step():
            pass
        return self.finish()

    # -- phases of a round

    def _advance(self, t: float) -> None:
        """Arrivals, shifts starting, trips ending, repositioning arriving, shifts ending,
        expiries."""
        self.orders.arrive(int(self._arr_hi[self._r - 1]))
        ids = self._shifts.starting(t)
        if ids is not None:
            self._shifts_start(ids)
        self._trips_end(t)
        if self._n_cruise:
            self._cruises_arrive(t)
        ids = self._shifts.ending(t)
        if ids is not None:
            self._shifts_end(t, ids)
        if self.orders.waiting.size:
            self._expire(t)

    def _shifts_start(self, ids: np.ndarray) -> None:
        st = self.drivers
        st.status[ids] = IDLE
        st.avail[ids] = True
        self._index.touch(ids)
        t_on = self.scenario.fleet.t_on[ids]
        st.idle_since[ids] = t_on
        self._log(SHIFT_START, ids, t_on, t_on)

    def _trips_end(self, t: float) -> None:
        """Drop-offs reached: the driver is idle again, or goes offline if its shift ended."""
        st = self.drivers
        ending = np.flatnonzero(st.free_at <= t)
        if ending.size == 0:
            return
        t_free = st.free_at[ending]
        st.free_at[ending] = np.inf
        leave = st.leaving[ending]
        gone = ending[leave]
        stay = ending[~leave]
        st.status[stay] = IDLE
        st.avail[stay] = True
        self._index.touch(stay)
        st.idle_since[stay] = t_free[~leave]
        if gone.size:
            st.status[gone] = DONE
            st.leaving[gone] = False
            t_gone = t_free[leave]
            self._log(SHIFT_END, gone, t_gone, t_gone)

    def _cruises_arrive(self, t: float) -> None:
        st = self.drivers
        arrived = np.flatnonzero(st.cruise.t1 <= t)
        if arrived.size == 0:
            return
        t_arr = st.cruise.t1[arrived].copy()
        self._end_cruise(arrived, t_arr, arrived=True)
        self._index.touch(arrived)
        st.status[arrived] = IDLE
        st.idle_since[arrived] = t_arr

    def _shifts_end(self, t: float, ids: np.ndarray) -> None:
        """Shifts ending: drivers on a trip finish it first, the others go offline now."""
        st = self.drivers
        busy = st.status[ids] == BUSY
        st.leaving[ids[busy]] = True
        now_off = ids[~busy & (st.status[ids] != OFFLINE) & (st.status[ids] != DONE)]
        if now_off.size == 0:
            return
        cruising = st.status[now_off] == CRUISE
        if cruising.any():
            self._index.touch(st.advance_cruise(self.scenario.city, t))
            self._end_cruise(now_off[cruising], t, arrived=False)
        st.status[now_off] = DONE
        st.avail[now_off] = False
        self._index.touch(now_off)
        # a repositioning trip cut short ends now, so the shift ends now too
        t_off = self.scenario.fleet.t_off[now_off]
        t_end = np.where(cruising, t, np.maximum(t_off, st.idle_since[now_off]))
        self._log(SHIFT_END, now_off, t_end, t_end)

    def _expire(self, t: float) -> None:
        o = self.orders
        t_req = self.scenario.orders.t_request
        patience = self.scenario.sim.patience_s
        expired = (t - t_req[o.waiting]) > patience
        if expired.any():
            lost = o.waiting[expired]
            o.status[lost] = EXPIRED
            o.t_end[lost] = t_req[lost] + patience
            o.waiting = o.waiting[~expired]

    def _tick(self, t: float) -> None:
        """Once a tick: idle drift, then repositioning of the managed drivers idle long enough."""
        st, cfg = self.drivers, self.scenario.sim
        if self._n_cruise:
            self._index.touch(st.advance_cruise(self.scenario.city, t))
        u, direction, jit = self._drift_draws(st.x.size)
        # move
        self._drift(t, u, direction, jit)
        managed = self.scenario.fleet.managed
        due = np.flatnonzero(
            managed & (st.status == IDLE) & (t - st.idle_since >= cfg.reposition_after_s)
        )
        if due.size:
            self._n_cruise += self._reposition(t, due, jit)
        if self._progress is not None:
            self._progress(t, self.orders.arrived)

    def _drift_draws(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A tick's draws for ``n`` drivers: a uniform, a direction and two uniforms each. The
        drivers a shock added draw theirs from the shocks' stream, after the day's own."""
        shocked = self.scenario.shocked
        n0 = n if shocked is None else shocked.n_base_drivers
        rngs = [(self._rng_drift, n0)]
        if self._rng_drift_added is not None and n > n0:
            rngs.append((self._rng_drift_added, n - n0))
        parts = [(r.random(k), r.integers(0, 6, size=k), r.random((k, 2))) for r, k in rngs]
        if len(parts) == 1:
            return parts[0]
        u, direction, jit = (np.concatenate(cols) for cols in zip(*parts, strict=True))
        return u, direction, jit

    def _drift(self, t: float, u: np.ndarray, direction: np.ndarray, jit: np.ndarray) -> None:
        """Idle drivers that do not stay move to a random neighbouring cell."""
        st, city = self.drivers, self.scenario.city
        movers = np.flatnonzero((st.status == IDLE) & (u >= self.scenario.sim.idle_stay_prob))
        if movers.size == 0:
            return
        nb = city.neighbours[st.cell[movers], direction[movers]]
        ok = nb >= 0
        movers = movers[ok]
        nb = nb[ok]
        if movers.size == 0:
            return
        start = (st.lat[movers], st.lng[movers], st.cell[movers])
        nx, ny = point_in_cell(city, nb, jit[movers])
        st.place(city, movers, nx, ny, nb)
        self._index.touch(movers)
        self._log(IDLE_MOVE, movers, t, t, start=start)

    def _reposition(self, t: float, due: np.ndarray, jit: np.ndarray) -> int:
        """Ask the repositioning policy where ``due`` go; returns how many set off."""
        st, sc = self.drivers, self.scenario
        city = sc.city
        dest = np.asarray(self._reposition_policy.reposition(self._reposition_batch(t, due)))
        dest = dest.astype(np.int64).ravel()
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
        x1, y1 = point_in_cell(city, dst, jit[go])
        zone = self._cell_zone
        dur = city.travel.time_s(st.x[go], st.y[go], x1, y1, zone[st.cell[go]], zone[dst], t)
        st.depart(go, t, x1, y1, dst, dur)
        return int(go.size)

    def _reposition_batch(self, t: float, due: np.ndarray) -> RepositionBatch:
        st, sc = self.drivers, self.scenario
        t_req, patience = sc.orders.t_request, sc.sim.patience_s
        lo = int(np.searchsorted(t_req, t - UNSERVED_WINDOW_S - patience))
        hi = int(np.searchsorted(t_req, t - patience, side="right"))
        lost = np.arange(lo, hi)
        lost = lost[self.orders.status[lost] == EXPIRED]
        n_cells = sc.city.n_cells
        settle = np.where(st.status == CRUISE, st.cruise.cell1, st.cell)
        return RepositionBatch(
            t=t,
            weekday=sc.weekday,
            driver=due,
            lat=st.lat[due].copy(),
            lng=st.lng[due].copy(),
            cell=st.cell[due].copy(),
            idle_s=t - st.idle_since[due],
            unserved_by_cell=np.bincount(sc.o_cell[lost], minlength=n_cells),
            idle_by_cell=np.bincount(st.cell[st.avail], minlength=n_cells),
            waiting_by_cell=np.bincount(sc.o_cell[self.orders.waiting], minlength=n_cells),
            supply_by_cell=np.bincount(settle[st.avail], minlength=n_cells),
        )

    def _candidates(self, t: float) -> _Round:
        """The round's candidate pairs: K nearest available drivers of each waiting order."""
        st, sc, waiting = self.drivers, self.scenario, self.orders.waiting
        if waiting.size == 0:
            return _Round(t)
        avail = np.flatnonzero(st.avail)
        if avail.size == 0:
            return _Round(t)
        tic = time.perf_counter()
        cfg = sc.sim
        ox, oy = self.orders.x, self.orders.y
        rows, p_drv, p_m = self._index.query(
            st.avail,
            st.x,
            st.y,
            ox[waiting],
            oy[waiting],
            cfg.k_nearest,
            cfg.pickup_radius_m,
            keys=waiting,
            avail_ids=avail,
        )
        rnd = _Round(t, avail, None, int(waiting.size), tic)
        if p_drv.size:
            p_ord = waiting[rows]
            zone = self._cell_zone
            p_s = sc.city.travel.time_s(
                st.x[p_drv],
                st.y[p_drv],
                ox[p_ord],
                oy[p_ord],
                zone[st.cell[p_drv]],
                sc.orders.o_zone[p_ord],
                t,
            )
            rnd.batch = CandidateBatch(
                t,
                sc.weekday,
                p_drv,
                p_ord,
                p_m,
                p_s,
                st.lat[p_drv],
                st.lng[p_drv],
                st.cell[p_drv],
                sc.orders,
                sc.o_cell,
                sc.d_cell,
            )
        return rnd

    def _apply(self, t: float, batch: CandidateBatch, sel: np.ndarray) -> np.ndarray:
        """Assign the selected pairs: cancellations drawn, the others' trips start; returns
        which selected pairs were served."""
        sd, so = batch.driver[sel], batch.order[sel]
        pm, ps = batch.pickup_m[sel], batch.pickup_s[sel]
        # cancel
        cancelled = self._cancelled(so, pm)
        served = ~cancelled
        o = self.orders
        o.t_assign[so] = t
        o.driver[so] = sd
        o.pickup_m[so] = pm
        o.pickup_s[so] = ps
        if cancelled.any():
            cd, co = sd[cancelled], so[cancelled]
            o.status[co] = CANCELLED
            o.t_end[co] = t
            self._log(CANCEL, cd, t, t, order_id=co, pickup_m=pm[cancelled], pickup_s=ps[cancelled])
        d = sd[served]
        if d.size:
            self._start_trips(t, d, so[served], pm[served], ps[served])
        o.waiting = o.waiting[o.status[o.waiting] == OPEN]
        return served

    def _cancelled(self, so: np.ndarray, pm: np.ndarray) -> np.ndarray:
        """Whether each assigned order's passenger cancels (the run's one draw per order)."""
        orders = self.scenario.orders
        if not self.scenario.sim.cancellations:
            return np.zeros(so.size, dtype=bool)
        # the order's own curve when the data carries one, else the sim's
        rows = self._curve if orders.cancel_prob is None else orders.cancel_prob[so]
        return self._u_cancel[so] < cancel_probability(pm, rows)

    def _start_trips(
        self, t: float, d: np.ndarray, o: np.ndarray, pm: np.ndarray, ps: np.ndarray
    ) -> None:
        st, sc = self.drivers, self.scenario
        cr = d[st.status[d] == CRUISE]
        if cr.size:
            self._end_cruise(cr, t, arrived=False)
        orders = sc.orders
        t_drop = t + ps + orders.trip_s[o]
        self.orders.status[o] = COMPLETED
        self.orders.t_end[o] = t_drop
        end = (orders.d_lat[o], orders.d_lng[o], sc.d_cell[o])
        self._log(
            TRIP, d, t, t_drop, end=end, order_id=o, reward=orders.fare[o], pickup_m=pm, pickup_s=ps
        )
        # move
        st.x[d] = self.orders.dest_x[o]
        st.y[d] = self.orders.dest_y[o]
        st.lat[d] = orders.d_lat[o]
        st.lng[d] = orders.d_lng[o]
        st.cell[d] = sc.d_cell[o]
        st.status[d] = BUSY
        st.avail[d] = False
        self._index.touch(d)
        st.free_at[d] = t_drop

    def _outcome(
        self, rnd: _Round, batch: CandidateBatch, sel: np.ndarray, served: np.ndarray
    ) -> RoundOutcome:
        st = self.drivers
        assert rnd.avail is not None
        started = np.zeros(st.x.size, dtype=bool)
        started[batch.driver[sel][served]] = True
        idle = rnd.avail[~started[rnd.avail]]
        outcome = RoundOutcome(
            batch,
            sel,
            ~served,
            idle,
            st.cell[idle],
            st.lat[idle],
            st.lng[idle],
            dt_s=rnd.t - self._t_observed,
        )
        self._t_observed = rnd.t
        return outcome

    # -- helpers

    def _context(self, rng: np.random.Generator) -> DayContext:
        sc = self.scenario
        return DayContext(
            sc.city, sc.weekday, sc.start_s, sc.end_s, sc.sim, rng, sc.epoch_s, sc.fleet.managed
        )

    def _log(
        self,
        kind: int,
        ids: np.ndarray,
        t0: np.ndarray | float,
        t1: np.ndarray | float,
        start: _Positions | None = None,
        end: _Positions | None = None,
        **cols: np.ndarray,
    ) -> None:
        """Log one event per driver of ``ids``; ``start`` and ``end`` default to where the
        drivers are now. ``cols``: further event columns (``order_id``, ``reward``, ...)."""
        if ids.size == 0:
            return
        st = self.drivers
        if start is None or end is None:
            here = (st.lat[ids], st.lng[ids], st.cell[ids])
            start = here if start is None else start
            end = here if end is None else end
        self._events.add(
            kind,
            ids,
            t_start_s=t0,
            t_end_s=t1,
            start_lat=start[0],
            start_lng=start[1],
            start_cell=start[2],
            end_lat=end[0],
            end_lng=end[1],
            end_cell=end[2],
            **cols,
        )

    def _end_cruise(self, ids: np.ndarray, t_end: np.ndarray | float, arrived: bool) -> None:
        """Repositioning trips end, at their destination when ``arrived``; logged."""
        if ids.size == 0:
            return
        st, c = self.drivers, self.drivers.cruise
        if arrived:
            st.x[ids] = c.x1[ids]
            st.y[ids] = c.y1[ids]
            st.cell[ids] = c.cell1[ids]
            lat, lng = self.scenario.city.proj.to_latlng(st.x[ids], st.y[ids])
            st.lat[ids] = lat
            st.lng[ids] = lng
        start = (c.lat0[ids], c.lng0[ids], c.cell0[ids])
        self._log(REPOSITION, ids, c.t0[ids], t_end, start=start)
        c.t1[ids] = np.inf
        self._n_cruise -= ids.size

    def _close_day(self) -> None:
        """End of horizon: waiting orders expire, every driver still online ends its shift."""
        sc, st, o = self.scenario, self.drivers, self.orders
        o.status[o.waiting] = EXPIRED
        o.t_end[o.waiting] = sc.end_s
        cr = np.flatnonzero(st.status == CRUISE)
        if cr.size:
            st.advance_cruise(sc.city, sc.end_s)
            self._end_cruise(cr, sc.end_s, arrived=False)
            st.status[cr] = IDLE
        online = np.flatnonzero(st.status == IDLE)
        t_online = np.full(online.size, sc.end_s)
        self._log(SHIFT_END, online, t_online, t_online)
        busy = np.flatnonzero(st.status == BUSY)
        t_busy = np.maximum(st.free_at[busy], sc.end_s)
        self._log(SHIFT_END, busy, t_busy, t_busy)

    def _run_log(self, wall_s: float) -> RunLog:
        """The finished day's tables."""
        sc, o = self.scenario, self.orders
        orders, fleet = sc.orders, sc.fleet
        return RunLog(
            events=self._events.finish(),
            orders={
                "order_id": np.arange(len(orders), dtype=np.int64),
                "source_id": orders.source_id.astype(np.int64),
                "t_request_s": orders.t_request,
                "status": o.status,
                "driver_id": o.driver,
                "t_assign_s": o.t_assign,
                "t_end_s": o.t_end,
                "pickup_m": o.pickup_m,
                "pickup_s": o.pickup_s,
                "fare": orders.fare,
                "trip_s": orders.trip_s,
                "trip_m": orders.trip_m,
                "origin_lat": orders.o_lat,
                "origin_lng": orders.o_lng,
                "dest_lat": orders.d_lat,
                "dest_lng": orders.d_lng,
                "origin_cell": sc.o_cell,
                "dest_cell": sc.d_cell,
            },
            drivers={
                "driver_id": np.arange(len(fleet), dtype=np.int32),
                "t_on_s": fleet.t_on,
                "t_off_s": fleet.t_off,
                "managed": fleet.managed,
            },
            rounds=self._stats.columns(),
            meta={
                "weekday": sc.weekday,
                "start_s": sc.start_s,
                "end_s": sc.end_s,
                "round_s": sc.sim.round_s,
                "pickup_radius_m": sc.sim.pickup_radius_m,
                "dropped_rows": int(orders.dropped_rows),
                "drop_reasons": dict(orders.drop_reasons),
                "wall_s": wall_s,
                "seed": self.seed,
                "n_cells": sc.city.n_cells,
                **({} if sc.date is None else {"date": sc.date}),
                **({} if sc.like_date is None else {"like_date": sc.like_date}),
                **({} if sc.shocked is None else {"shocks": sc.shocked.meta()}),
            },
        )


def _check_matching(sel: object, p_drv: np.ndarray, p_ord: np.ndarray) -> np.ndarray:
    """``sel`` as pair indices, checked: inside the batch, each driver and order once."""
    sel = np.asarray(sel, dtype=np.int64).ravel()
    if sel.size == 0:
        return sel
    if sel.min() < 0 or sel.max() >= p_drv.size:
        raise PolicyError("dispatch returned a pair index outside the candidate batch")
    if len(set(p_drv[sel].tolist())) < sel.size or len(set(p_ord[sel].tolist())) < sel.size:
        raise PolicyError("dispatch returned a matching that uses a driver or order twice")
    return sel


def run_day(
    scenario: Scenario,
    dispatch: DispatchPolicy,
    reposition: RepositionPolicy,
    seed: int,
    progress: Callable[[float, int], None] | None = None,
) -> RunLog:
    """Simulate one day: a convenience wrapper around :class:`Simulator`."""
    return Simulator(scenario, seed).run(dispatch, reposition, progress)
