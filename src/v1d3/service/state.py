"""The dispatch service's learned state, and the requests that change it.

:class:`ServiceState` holds what the in-process ``v1d3`` policy holds (the same policy object,
made by name from the models folder): the day's context, the online values, the round waiting
for its outcome. Every request that changes it is first read and checked in full
(:meth:`ServiceState.prepare` returns the change, still to be made, or raises
:class:`~v1d3.service.wire.RequestError`), so a rejected request never touches it. Applied in the
same order, the same requests give the same state bit for bit: that is what the journal replays
after a crash (:mod:`v1d3.service.journal`).

A day begins with ``day`` (weekday, horizon, seed: the policy's generators are the simulator's
for that seed, so a simulator client and the service decide alike) or, for a client speaking
the KDD format, with the first round of a new date. A round's outcome (``outcome``: which
passengers cancelled, which drivers stayed idle) feeds the online update as the simulator's
does; a round whose outcome never comes is learned from as the KDD Cup's official environment
would let an agent: every assignment served, the pairs' other drivers idle.
"""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from v1d3.demand.config import ScenarioConfig
from v1d3.demand.registry import source_of
from v1d3.errors import V1D3Error
from v1d3.kddcup.export import scenario_utc_offset
from v1d3.kddcup.observation import (
    batch_from_reposition_observation,
    reposition_answer,
    split_timestamp,
)
from v1d3.policies import make_dispatch, make_reposition
from v1d3.reposition.base import RepositionBatch
from v1d3.rounds import CandidateBatch, DayContext, RoundOutcome, served_outcome
from v1d3.service.wire import (
    ARROW,
    MAX_CLOCK_S,
    RequestError,
    arrow_batch,
    cell_field,
    columnar_batch,
    float_field,
    id_field,
    kdd_batch,
    parse_json,
)
from v1d3.sim.config import SimConfig
from v1d3.sim.seeds import sim_streams

__all__ = ["KINDS", "Day", "ServiceState"]

KINDS = ("day", "dispatch", "outcome", "reposition")
"""The requests that change the state (each one journaled)."""


@dataclass(frozen=True)
class Day:
    """The day the service is deciding on."""

    weekday: int
    """Monday = 0."""
    start_s: float
    """Start of the horizon, seconds after midnight."""
    end_s: float
    """End of the horizon, seconds after midnight."""
    epoch_s: float = 0.0
    """Unix time of the day's midnight (what KDD timestamps count from)."""
    seed: int = 0
    """The simulator seed whose generators the policies get (a simulator client's own)."""
    rng: dict[str, Any] | None = None
    """Instead of ``seed``: the dispatch policy's generator state (numpy's
    ``bit_generator.state``, as a simulator client sends it)."""
    sim: SimConfig = dataclasses.field(default_factory=SimConfig)
    """The platform's rules (cancellation curve, candidate radius...) the policies read."""


def _day(doc: Any) -> Day:
    if not isinstance(doc, Mapping):
        raise RequestError("body: expected a JSON object with weekday, start_s, end_s")
    for key in ("weekday", "seed"):
        v = doc.get(key, 0)
        if isinstance(v, bool) or not isinstance(v, int):
            raise RequestError(f"{key}: expected an integer")
    for key in ("start_s", "end_s", "epoch_s"):
        v = doc.get(key, 0.0)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise RequestError(f"{key}: expected a number")
    try:
        given = doc.get("sim", {})
        if not isinstance(given, Mapping):
            raise TypeError("sim: expected an object of SimConfig fields")
        fields: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in given.items()
        }
        sim = SimConfig(**fields)
        day = Day(
            weekday=int(doc["weekday"]),
            start_s=float(doc["start_s"]),
            end_s=float(doc["end_s"]),
            epoch_s=float(doc.get("epoch_s", 0.0)),
            seed=int(doc.get("seed", 0)),
            rng=_rng_state(doc.get("rng")),
            sim=sim,
        )
    except KeyError as e:
        raise RequestError(f"{e.args[0]}: missing") from None
    except (TypeError, ValueError, OverflowError, V1D3Error) as e:
        raise RequestError(f"day: {str(e).splitlines()[0][:160]}") from None
    if not 0 <= day.weekday <= 6 or not 0 <= day.start_s < day.end_s <= MAX_CLOCK_S:
        top = f"{MAX_CLOCK_S:g}"
        raise RequestError(f"day: expected weekday 0..6 and 0 <= start_s < end_s <= {top}")
    if day.seed < 0 or not np.isfinite(day.epoch_s):
        raise RequestError("day: seed must be >= 0 and epoch_s finite")
    return day


def _number_in(x: Any, low: float, high: float) -> bool:
    """Whether ``x`` is a JSON number (not a boolean) within ``[low, high]``."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return False
    try:
        return low <= float(x) <= high
    except OverflowError:  # an integer beyond any float
        return False


def _rng_state(state: Any) -> dict[str, Any] | None:
    """A generator state that numpy takes (checked on a scratch generator)."""
    if state is None:
        return None
    if not isinstance(state, Mapping) or state.get("bit_generator") != "PCG64":
        raise TypeError("rng: expected a PCG64 bit_generator.state object")
    try:
        np.random.PCG64().state = dict(state)  # type: ignore[assignment]
    except (TypeError, ValueError, KeyError, OverflowError) as e:
        raise TypeError(f"rng: not a PCG64 state ({e})") from None
    return dict(state)


def _bools(name: str, x: Any, n: int) -> np.ndarray:
    if not isinstance(x, list) or len(x) != n or not all(isinstance(v, bool) for v in x):
        raise RequestError(f"{name}: expected {n} booleans, one per selected pair")
    return np.asarray(x, dtype=bool)


class ServiceState:
    """The policies and what they learned; :meth:`prepare` reads a request, the returned
    callable applies it."""

    def __init__(
        self,
        scenario: ScenarioConfig,
        models: Path | None,
        dispatch: str = "v1d3",
        reposition: str = "value",
    ) -> None:
        self.scenario = scenario
        self.city = source_of(scenario).city(scenario)
        self.dispatch = make_dispatch(dispatch, models, scenario)
        self.reposition = make_reposition(reposition, models, scenario, dispatch=self.dispatch)
        self.utc_offset_s = float(scenario_utc_offset(scenario))
        self.day: Day | None = None
        self.pending: tuple[CandidateBatch, np.ndarray] | None = None
        """The last dispatched round, until its outcome is known."""
        self.t_observed: float | None = None
        self.rounds = 0
        self.ensembles = 0

    # -- reading requests

    def prepare(self, kind: str, ctype: str, body: bytes) -> Callable[[], Any]:
        """The change ``body`` asks for, checked and ready to apply (RequestError otherwise)."""
        if kind == "dispatch":
            return self._prepare_dispatch(ctype, body)
        doc = parse_json(body)
        if kind == "day":
            day = _day(doc)
            return lambda: self._begin(day)
        if kind == "outcome":
            return self._prepare_outcome(doc)
        if kind == "reposition":
            return self._prepare_reposition(doc)
        raise RequestError(f"unknown request {kind!r}", 404)

    def _prepare_dispatch(self, ctype: str, body: bytes) -> Callable[[], Any]:
        if ctype.startswith(ARROW):
            batch, kdd = arrow_batch(body, self.city), False
        else:
            doc = parse_json(body)
            kdd = isinstance(doc, list)
            if kdd:
                batch = kdd_batch(doc, self.city, self.utc_offset_s)
                epoch, _ = split_timestamp(doc[0]["timestamp"], self.utc_offset_s)
            else:
                batch = columnar_batch(doc, self.city)
        if kdd:
            day = None if self._same_date(epoch) else Day(batch.weekday, batch.t, 86400.0, epoch)
            return lambda: self._dispatch(batch, day, answer_kdd=True)
        self._check_day(batch.weekday)
        return lambda: self._dispatch(batch, None, answer_kdd=False)

    def _same_date(self, epoch: float) -> bool:
        return self.day is not None and self.day.epoch_s == epoch

    def _check_day(self, weekday: int) -> None:
        if self.day is None:
            raise RequestError("no day has begun: POST /v1/day first", 409)
        if weekday != self.day.weekday:
            begun = self.day.weekday
            raise RequestError(f"weekday {weekday}: the day begun is weekday {begun}", 409)

    def _prepare_outcome(self, doc: Any) -> Callable[[], Any]:
        if self.pending is None:
            raise RequestError("no dispatched round is waiting for its outcome", 409)
        if not isinstance(doc, Mapping):
            raise RequestError("body: expected a JSON object")
        batch, sel = self.pending
        cancelled = _bools("cancelled", doc.get("cancelled"), sel.size)
        idle = id_field("idle_driver", doc.get("idle_driver", []), None)
        n = idle.size
        cells = cell_field("idle_cell", doc.get("idle_cell", []), n, self.city)
        lat = float_field("idle_lat", doc.get("idle_lat", []), n)
        lng = float_field("idle_lng", doc.get("idle_lng", []), n)
        dt = doc.get("dt_s")
        if dt is not None and not _number_in(dt, 0.0, MAX_CLOCK_S):
            raise RequestError(f"dt_s: expected 0 .. {MAX_CLOCK_S:g} seconds since the last round")
        dt = self._since_observed(batch) if dt is None else dt
        outcome = RoundOutcome(batch, sel, cancelled, idle, cells, lat, lng, dt)
        return lambda: self._observe(outcome)

    def _prepare_reposition(self, doc: Any) -> Callable[[], Any]:
        """The KDD ``repo_observ`` (answered in kind) or the columnar ``{"t", "weekday",
        "driver", "cell", "idle_s"}`` (answered ``{"driver", "destination"}``)."""
        if not isinstance(doc, Mapping):
            raise RequestError("body: expected a JSON object")
        if "driver_info" not in doc:
            batch = self._reposition_columns(doc)
            self._check_day(batch.weekday)

            def columnar() -> dict[str, Any]:
                dest = np.asarray(self.reposition.reposition(batch), dtype=np.int64)
                labels = np.asarray(self.city.labels, dtype=object)
                return {"driver": batch.driver.tolist(), "destination": labels[dest].tolist()}

            return columnar
        if not isinstance(doc.get("driver_info"), list):
            raise RequestError("driver_info: expected a list of {driver_id, grid_id}")
        try:
            batch = batch_from_reposition_observation(doc, self.city, self.utc_offset_s)
        except (KeyError, TypeError, ValueError, OverflowError) as e:
            raise RequestError(f"body: {str(e).splitlines()[0][:160]}") from None
        self._check_day(batch.weekday)
        return lambda: reposition_answer(batch, self.reposition.reposition(batch), self.city)

    def _reposition_columns(self, doc: Mapping[str, Any]) -> RepositionBatch:
        t, weekday = doc.get("t"), doc.get("weekday")
        if not _number_in(t, 0.0, MAX_CLOCK_S):
            raise RequestError(f"t: expected the clock, 0 .. {MAX_CLOCK_S:g} s after midnight")
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise RequestError("weekday: expected 0 (Monday) .. 6")
        driver = id_field("driver", doc.get("driver"), None)
        if np.unique(driver).size != driver.size:
            raise RequestError("driver: each driver once")
        n, city = driver.size, self.city
        cell = cell_field("cell", doc.get("cell"), n, city)
        idle = float_field("idle_s", doc.get("idle_s", [0.0] * n), n)
        zeros = np.zeros(city.n_cells, dtype=np.int64)
        assert isinstance(t, (int, float))  # checked above
        return RepositionBatch(
            float(t), weekday, driver, city.cell_lat[cell].copy(), city.cell_lng[cell].copy(),
            cell, idle, zeros, np.bincount(cell, minlength=city.n_cells),
        )  # fmt: skip

    # -- changing the state

    def _begin(self, day: Day) -> dict[str, Any]:
        streams = sim_streams(day.seed, day.weekday)
        rng = streams.dispatch
        if day.rng is not None:
            bits = np.random.PCG64()
            bits.state = dict(day.rng)  # type: ignore[assignment]
            rng = np.random.Generator(bits)
        pairs = ((self.dispatch, rng), (self.reposition, streams.reposition))
        for policy, rng in pairs:
            ctx = DayContext(
                self.city, day.weekday, day.start_s, day.end_s, day.sim, rng, day.epoch_s, None
            )
            policy.reset(ctx)
        self.day, self.pending, self.t_observed = day, None, None
        return {"day": dataclasses.asdict(day)}

    def _dispatch(self, batch: CandidateBatch, day: Day | None, answer_kdd: bool) -> Any:
        if day is not None:
            self._begin(day)
        if self.pending is not None:  # no outcome came: learn as an official environment lets
            self._observe(self._estimate(*self.pending))
        sel = np.asarray(self.dispatch.dispatch(batch), dtype=np.int64)
        self.rounds += 1
        if self.dispatch.learns_online:
            self.pending = (batch, sel)
        order, driver = batch.order[sel].tolist(), batch.driver[sel].tolist()
        if answer_kdd:
            return [{"order_id": o, "driver_id": d} for o, d in zip(order, driver, strict=True)]
        return {"selected": sel.tolist(), "order_id": order, "driver_id": driver}

    def _estimate(self, batch: CandidateBatch, sel: np.ndarray) -> RoundOutcome:
        """Every assignment served, the pairs' other drivers idle (:func:`served_outcome`)."""
        return served_outcome(batch, sel, self._since_observed(batch))

    def _since_observed(self, batch: CandidateBatch) -> float | None:
        """Seconds from the last observed round to ``batch``'s (None before the day's first):
        the outcome's ``dt_s`` when a client does not give it."""
        return None if self.t_observed is None else max(batch.t - self.t_observed, 0.0)

    def _observe(self, outcome: RoundOutcome) -> dict[str, Any]:
        before = getattr(self.dispatch, "_next_ensemble", None)
        self.dispatch.observe(outcome)
        if before is not None and getattr(self.dispatch, "_next_ensemble", None) != before:
            self.ensembles += 1
        self.pending = None
        self.t_observed = outcome.batch.t
        return {"learned": True}

    # -- reading the state

    def values(self, labels: list[str], t_s: list[float]) -> list[float]:
        """The current (ensembled) values of cells at clock times (RequestError for unknown
        cells or when no day has begun)."""
        if self.day is None:
            raise RequestError("no day has begun: the values are bound to a day", 409)
        cells = self.city.index_of_labels(labels).astype(np.int64)
        if (cells < 0).any():
            bad = labels[int(np.flatnonzero(cells < 0)[0])]
            raise RequestError(f"cell: {bad[:40]!r} is not a grid id of the city")
        t = np.asarray(t_s, dtype=np.float64)
        value = getattr(self.dispatch, "value", None)
        if value is None:
            raise RequestError("the dispatch policy has no value function", 409)
        v = value.value(cells, self.city.cell_lat[cells], self.city.cell_lng[cells], t)
        return [float(x) for x in np.asarray(v, dtype=np.float64)]

    def td_error(self) -> float | None:
        """The last online update's mean absolute TD error (None before one)."""
        learner = getattr(self.dispatch, "learner", None)
        return getattr(learner, "last_td_mae", None)

    def digest(self) -> str:
        """A fingerprint of everything learned (two states with the same digest decide alike)."""
        return hashlib.sha256(pickle.dumps(self._learned(), protocol=5)).hexdigest()

    def _learned(self) -> Any:
        value = getattr(self.dispatch, "value", None)
        table = getattr(value, "table", None)
        return (self.day, self.rounds, self.ensembles, self.t_observed, self.pending is None,
                None if table is None else np.asarray(table).tobytes(),
                getattr(self.dispatch, "_next_ensemble", None))  # fmt: skip
