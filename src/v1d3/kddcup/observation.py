"""The KDD Cup 2020 agent API's data, both ways.

Out (to an agent): a :class:`~v1d3.rounds.CandidateBatch` becomes the official list of
dicts, one per candidate pair, with exactly the keys of :data:`DISPATCH_KEYS`; a
:class:`~v1d3.reposition.base.RepositionBatch` becomes ``{"timestamp", "day_of_week",
"driver_info": [{"driver_id", "grid_id"}]}``. Units are the official ones: metres, seconds, Unix
seconds, ``[lng, lat]`` degrees, Monday = 0. ``order_finish_timestamp`` is when the ride would end
if it started now (``timestamp`` + the trip's duration, pick-up not included).

Back (from an agent): its answers become pair indices into the batch and destination cells,
checked entry by entry: a malformed entry, a pair that is not a candidate, or a driver or order
used a second time voids that entry only (the first use stands), and is counted by kind.

For agents built on V1D3 itself (see :mod:`v1d3.kddcup.export`) the official observations also
turn back into batches: :func:`batch_from_dispatch_observation`,
:func:`batch_from_reposition_observation`. Inside V1D3, agents that declare ``v1d3_extras = True``
get the observation in a container (a ``list`` or ``dict`` subclass, :func:`with_extras`) that
also carries ``extras``: what the simulator knows beyond the official keys (exact trip durations,
cells, request times, cancellation curves, the last round's outcome, the day's context). The
dicts themselves never hold more than the official keys.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from numbers import Integral, Real
from operator import itemgetter
from typing import Any, cast

import numpy as np

from v1d3.geo.city import City
from v1d3.kddcup import host
from v1d3.reposition.base import RepositionBatch
from v1d3.rounds import CandidateBatch

__all__ = [
    "DISPATCH_KEYS",
    "REPOSITION_KEYS",
    "DISPATCH_ANSWER_KEYS",
    "REPOSITION_ANSWER_KEYS",
    "Parsed",
    "AgentRequest",
    "dispatch_request",
    "reposition_request",
    "DispatchObservation",
    "RepositionObservation",
    "dispatch_extras",
    "reposition_extras",
    "with_extras",
    "unix_time",
    "split_timestamp",
    "dispatch_observation",
    "reposition_observation",
    "parse_dispatch_answer",
    "parse_reposition_answer",
    "dispatch_answer",
    "reposition_answer",
    "ObservedBatch",
    "batch_from_dispatch_observation",
    "batch_from_reposition_observation",
]

DISPATCH_KEYS = (
    "order_id",
    "driver_id",
    "order_driver_distance",
    "order_start_location",
    "order_finish_location",
    "driver_location",
    "timestamp",
    "order_finish_timestamp",
    "day_of_week",
    "reward_units",
    "pick_up_eta",
)
"""Keys of one candidate pair in a dispatch observation (official, in official order)."""
REPOSITION_KEYS = ("timestamp", "day_of_week", "driver_info")
"""Keys of a repositioning observation; ``driver_info`` entries have ``driver_id``, ``grid_id``."""
DISPATCH_ANSWER_KEYS = ("order_id", "driver_id")
REPOSITION_ANSWER_KEYS = ("driver_id", "destination")
_DAY_S = 86400


_num = host.as_number


def unix_time(epoch_s: float, t: float) -> int | float:
    """Unix seconds of clock ``t`` (seconds after midnight) on the day starting at ``epoch_s``."""
    return _num(epoch_s + t)


def split_timestamp(timestamp: float, utc_offset_s: float) -> tuple[float, float]:
    """``(epoch_s, t)``: the local midnight before ``timestamp`` and the clock, ``0 < t <= 86400``.

    A round at exactly midnight belongs to the day that ends there (the simulator's last round of
    a full day is at 24:00).
    """
    local = float(timestamp) + utc_offset_s
    day = math.ceil(local / _DAY_S) - 1
    epoch = day * _DAY_S - utc_offset_s
    return float(epoch), float(timestamp) - epoch


class DispatchObservation(list):  # type: ignore[type-arg]
    """The official list of candidate-pair dicts, plus :attr:`extras` (not in the official API).

    Only agents that ask for it (``v1d3_extras = True``, as exported V1D3 agents do) get this
    container; the others get a plain ``list``.
    """

    extras: dict[str, Any] | None = None
    """What V1D3 knows beyond the official keys (see :func:`dispatch_extras`), or None."""


class RepositionObservation(dict):  # type: ignore[type-arg]
    """The official repositioning dict, plus :attr:`extras` (not in the official API)."""

    extras: dict[str, Any] | None = None
    """What V1D3 knows beyond the official keys (see :func:`reposition_extras`), or None."""


def dispatch_extras(batch: CandidateBatch) -> dict[str, Any]:
    """The batch's columns the official observation lacks or rounds (aligned with the pairs)."""
    return {
        "t": batch.t,
        "t_request": batch.t_request,
        "trip_s": batch.trip_s,
        "trip_m": batch.trip_m,
        "driver_cell": batch.driver_cell,
        "origin_cell": batch.origin_cell,
        "dest_cell": batch.dest_cell,
        "cancel_prob": batch.cancel_prob,
    }


def reposition_extras(batch: RepositionBatch) -> dict[str, Any]:
    """The batch's fields the official observation lacks (positions, idle times, counts)."""
    return {
        "t": batch.t,
        "lat": batch.lat,
        "lng": batch.lng,
        "idle_s": batch.idle_s,
        "unserved_by_cell": batch.unserved_by_cell,
        "idle_by_cell": batch.idle_by_cell,
    }


@dataclass(frozen=True)
class AgentRequest:
    """One call of an agent: its method, the observation's scalars and columns."""

    method: str
    """``dispatch`` or ``reposition``."""
    scalars: dict[str, Any]
    """``timestamp`` (Unix seconds) and ``day_of_week`` (Monday = 0)."""
    columns: dict[str, np.ndarray]
    """Equal-length int64 or float64 columns (see :mod:`v1d3.kddcup.host`)."""
    labels: list[str] | None = None
    """Repositioning: each driver's grid id."""

    def lists(self) -> dict[str, list[Any]]:
        """The columns as lists of Python numbers (what the agent's side builds dicts from)."""
        return {k: v.tolist() for k, v in self.columns.items()}

    def observation(self) -> Any:
        """The official observation (:func:`v1d3.kddcup.host.dispatch_observation` or
        :func:`~v1d3.kddcup.host.reposition_observation`)."""
        if self.method == "dispatch":
            return host.dispatch_observation(self.scalars, self.lists())
        return host.reposition_observation(self.scalars, self.lists(), self.labels or [])

    def encode(self, seq: int) -> bytes:
        """The request's payload on the wire."""
        header: dict[str, Any] = {"seq": seq, "method": self.method, "scalars": self.scalars}
        if self.labels is not None:
            header["labels"] = self.labels
        cols = [
            (name, _TYPECODES[col.dtype], np.ascontiguousarray(col).tobytes())
            for name, col in self.columns.items()
        ]
        return host.encode_request(header, cols)


_TYPECODES = {np.dtype(np.int64): "q", np.dtype(np.float64): "d"}
"""The wire's typecodes (the :mod:`array` module's) of the columns' dtypes."""


def _f64(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def dispatch_request(batch: CandidateBatch, epoch_s: float) -> AgentRequest:
    """One round's candidate pairs as a request: the columns the official dicts are made of."""
    ts = unix_time(epoch_s, batch.t)
    cols = {
        "order": np.asarray(batch.order, dtype=np.int64),
        "driver": np.asarray(batch.driver, dtype=np.int64),
        **{
            k: ts + _f64(batch.trip_s) if k == "finish" else _f64(getattr(batch, k))
            for k in host.DISPATCH_FLOATS
        },
    }
    return AgentRequest("dispatch", {"timestamp": ts, "day_of_week": int(batch.weekday)}, cols)


def reposition_request(batch: RepositionBatch, city: City, epoch_s: float) -> AgentRequest:
    """Drivers due for repositioning as a request (their cells as the city's grid ids)."""
    labels = city.labels
    scalars = {"timestamp": unix_time(epoch_s, batch.t), "day_of_week": int(batch.weekday)}
    cols = {"driver": np.asarray(batch.driver, dtype=np.int64)}
    return AgentRequest(
        "reposition", scalars, cols, [labels[c] for c in np.asarray(batch.cell).tolist()]
    )


def dispatch_observation(batch: CandidateBatch, epoch_s: float) -> list[dict[str, Any]]:
    """One round's candidate pairs as the official list of dicts (plain Python numbers)."""
    return cast(list[dict[str, Any]], dispatch_request(batch, epoch_s).observation())


def reposition_observation(batch: RepositionBatch, city: City, epoch_s: float) -> dict[str, Any]:
    """Drivers due for repositioning as the official dict (cells as the city's grid ids)."""
    return cast(dict[str, Any], reposition_request(batch, city, epoch_s).observation())


def with_extras(
    observ: list[dict[str, Any]] | dict[str, Any], extras: dict[str, Any]
) -> DispatchObservation | RepositionObservation:
    """The same observation in a container that also carries V1D3's ``extras``."""
    out: DispatchObservation | RepositionObservation
    out = DispatchObservation(observ) if isinstance(observ, list) else RepositionObservation(observ)
    out.extras = extras
    return out


@dataclass
class Parsed:
    """An agent's answer checked against its batch."""

    value: np.ndarray
    """Selected pair indices (dispatch) or one destination cell per driver (reposition)."""
    faults: Counter[str] = field(default_factory=Counter)
    """Voided entries by kind: ``malformed``, ``non_candidate``, ``duplicate``, ``unknown_cell``."""
    messages: list[str] = field(default_factory=list)
    """One line per voided entry (the first few)."""

    _MAX_MESSAGES = 5

    def void(self, kind: str, message: str) -> None:
        self.faults[kind] += 1
        if len(self.messages) < self._MAX_MESSAGES:
            self.messages.append(message)


def _as_id(x: object) -> int | None:
    """An integral id, or None (bools and non-integral numbers are not ids)."""
    if isinstance(x, bool):
        return None
    if isinstance(x, Integral):
        return int(x)
    if isinstance(x, Real) and float(x).is_integer():
        return int(float(x))
    return None


def _entries(answer: object, what: str, out: Parsed) -> Sequence[Any] | None:
    if isinstance(answer, (list, tuple)):
        return answer
    out.void("malformed", f"{what} answer is {type(answer).__name__}, expected a list of dicts")
    return None


def parse_dispatch_answer(answer: object, batch: CandidateBatch) -> Parsed:
    """Pair indices of an agent's ``[{"order_id", "driver_id"}, ...]``, entry by entry checked."""
    out = Parsed(np.zeros(0, dtype=np.int64))
    entries = _entries(answer, "dispatch", out)
    if not entries:
        return out
    index = {
        (o, d): i
        for i, (o, d) in enumerate(zip(batch.order.tolist(), batch.driver.tolist(), strict=True))
    }
    used_o: set[int] = set()
    used_d: set[int] = set()
    sel: list[int] = []
    for e in entries:
        if not isinstance(e, Mapping) or any(k not in e for k in DISPATCH_ANSWER_KEYS):
            out.void("malformed", f"dispatch entry {e!r:.80} lacks order_id/driver_id")
            continue
        o, d = _as_id(e["order_id"]), _as_id(e["driver_id"])
        if o is None or d is None:
            out.void("malformed", f"dispatch entry {e!r:.80} has non-integer ids")
            continue
        i = index.get((o, d))
        if i is None:
            out.void("non_candidate", f"order {o} / driver {d} is not a candidate pair")
            continue
        if o in used_o or d in used_d:
            out.void("duplicate", f"order {o} / driver {d}: order or driver already assigned")
            continue
        used_o.add(o)
        used_d.add(d)
        sel.append(i)
    out.value = np.array(sorted(sel), dtype=np.int64)
    return out


def parse_reposition_answer(answer: object, batch: RepositionBatch, city: City) -> Parsed:
    """One destination cell per due driver from ``[{"driver_id", "destination"}, ...]``.

    Drivers the answer leaves out (or whose entry is voided) stay in their cell.
    """
    dest = np.asarray(batch.cell, dtype=np.int64).copy()
    out = Parsed(dest)
    entries = _entries(answer, "reposition", out)
    if not entries:
        return out
    pos = {d: i for i, d in enumerate(batch.driver.tolist())}
    done: set[int] = set()
    for e in entries:
        if not isinstance(e, Mapping) or any(k not in e for k in REPOSITION_ANSWER_KEYS):
            out.void("malformed", f"reposition entry {e!r:.80} lacks driver_id/destination")
            continue
        d = _as_id(e["driver_id"])
        g = e["destination"]
        if d is None or not isinstance(g, str):
            out.void("malformed", f"reposition entry {e!r:.80}: expected int id, str grid id")
            continue
        i = pos.get(d)
        if i is None:
            out.void("non_candidate", f"driver {d} is not due for repositioning")
            continue
        if d in done:
            out.void("duplicate", f"driver {d} repositioned twice")
            continue
        c = int(city.index_of_labels([g])[0])
        if c < 0:
            out.void("unknown_cell", f"destination {g!r:.40} is not a grid id of the city")
            continue
        done.add(d)
        dest[i] = c
    return out


def dispatch_answer(batch: CandidateBatch, selected: np.ndarray) -> list[dict[str, int]]:
    """Selected pair indices as the official answer ``[{"order_id", "driver_id"}, ...]``."""
    sel = np.asarray(selected, dtype=np.int64)
    return [
        {"order_id": o, "driver_id": d}
        for o, d in zip(batch.order[sel].tolist(), batch.driver[sel].tolist(), strict=True)
    ]


def reposition_answer(batch: RepositionBatch, dest: np.ndarray, city: City) -> list[dict[str, Any]]:
    """Destination cells as the official answer ``[{"driver_id", "destination"}, ...]``."""
    labels = city.labels
    return [
        {"driver_id": d, "destination": labels[c]}
        for d, c in zip(batch.driver.tolist(), np.asarray(dest).tolist(), strict=True)
    ]


class ObservedBatch(CandidateBatch):
    """A :class:`CandidateBatch` rebuilt from an official observation.

    Order attributes come from the observation, not from an order table: ``t_request`` is what
    the caller knows (e.g. when the order was first seen), ``trip_m`` the straight-line trip,
    ``cancel_prob`` None (the official observation has no curves).
    """

    def __init__(
        self,
        t: float,
        weekday: int,
        pairs: Mapping[str, np.ndarray],
        orders: Mapping[str, np.ndarray | None],
    ) -> None:
        super().__init__(
            t,
            weekday,
            pairs["driver"],
            pairs["order"],
            pairs["pickup_m"],
            pairs["pickup_s"],
            pairs["driver_lat"],
            pairs["driver_lng"],
            pairs["driver_cell"],
            None,  # type: ignore[arg-type]
            None,  # type: ignore[arg-type]
            None,  # type: ignore[arg-type]
        )
        # the cached order attributes, set up front (instance values shadow the cached_property)
        self.__dict__.update(orders)


def _col(observ: Sequence[Mapping[str, Any]], key: str) -> np.ndarray:
    return np.fromiter(map(itemgetter(key), observ), dtype=np.float64, count=len(observ))


def _points(observ: Sequence[Mapping[str, Any]], key: str) -> np.ndarray:
    """The ``[lng, lat]`` of each entry as an n × 2 array (three times faster than
    ``np.array`` on the list of lists, which decoding a 20,000-pair round spends most on)."""
    pts = [p[key] for p in observ]
    if not set(map(type, pts)) <= {list, tuple} or set(map(len, pts)) != {2}:
        raise ValueError(f"{key}: expected [lng, lat] pairs")  # not "12" or {"1": 0, "2": 0}
    flat = np.fromiter(chain.from_iterable(pts), dtype=np.float64, count=2 * len(pts))
    return flat.reshape(-1, 2)


def batch_from_dispatch_observation(
    observ: Sequence[Mapping[str, Any]],
    city: City,
    utc_offset_s: float,
    t_request: Mapping[int, float] | None = None,
) -> ObservedBatch:
    """A candidate batch from an official dispatch observation (pairs kept in their order).

    ``t_request`` maps order ids to request times (seconds after midnight) where known; other
    orders count as requested now.
    """
    if len(observ) == 0:
        raise ValueError("an empty dispatch observation has no clock")
    epoch, t = split_timestamp(observ[0]["timestamp"], utc_offset_s)
    n = len(observ)
    # a pair without one of the keys, or not a dict, raises here (KeyError, TypeError)
    order = np.fromiter(map(itemgetter("order_id"), observ), dtype=np.int64, count=n)
    driver = np.fromiter(map(itemgetter("driver_id"), observ), dtype=np.int64, count=n)
    weekdays = _col(observ, "day_of_week")
    loc = _points(observ, "driver_location")
    o_loc = _points(observ, "order_start_location")
    d_loc = _points(observ, "order_finish_location")
    ts = _col(observ, "timestamp")
    trip_s = _col(observ, "order_finish_timestamp") - ts
    ox, oy = city.proj.to_xy(o_loc[:, 1], o_loc[:, 0])
    dx, dy = city.proj.to_xy(d_loc[:, 1], d_loc[:, 0])
    known = t_request or {}
    pairs = {
        "order": order,
        "driver": driver,
        "pickup_m": _col(observ, "order_driver_distance"),
        "pickup_s": _col(observ, "pick_up_eta"),
        "driver_lat": loc[:, 1].copy(),
        "driver_lng": loc[:, 0].copy(),
        "driver_cell": city.cell_of(loc[:, 1], loc[:, 0]),
    }
    cols: dict[str, np.ndarray | None] = {
        "fare": _col(observ, "reward_units"),
        "trip_s": trip_s,
        "trip_m": np.hypot(dx - ox, dy - oy),
        "t_request": (
            np.array([known.get(o, t) for o in order.tolist()], dtype=np.float64)
            if known
            else np.full(n, t)
        ),
        "origin_lat": o_loc[:, 1].copy(),
        "origin_lng": o_loc[:, 0].copy(),
        "dest_lat": d_loc[:, 1].copy(),
        "dest_lng": d_loc[:, 0].copy(),
        "origin_cell": city.cell_of(o_loc[:, 1], o_loc[:, 0]),
        "dest_cell": city.cell_of(d_loc[:, 1], d_loc[:, 0]),
        "cancel_prob": None,
    }
    extras = getattr(observ, "extras", None)
    if extras:
        t = float(extras["t"])
        pairs["driver_cell"] = np.asarray(extras["driver_cell"])
        for k in ("t_request", "trip_s", "trip_m", "origin_cell", "dest_cell", "cancel_prob"):
            cols[k] = extras[k]
    if not np.isin(weekdays, np.arange(7)).all():
        raise ValueError("day_of_week: expected a whole number 0..6 in every pair")
    weekday = int(weekdays[0])
    if (weekdays != weekday).any():
        raise ValueError("day_of_week: one round's pairs are of one day")
    return ObservedBatch(t, weekday, pairs, cols)


def batch_from_reposition_observation(
    observ: Mapping[str, Any],
    city: City,
    utc_offset_s: float,
    idle_s: float = 300.0,
    unserved_by_cell: np.ndarray | None = None,
    idle_by_cell: np.ndarray | None = None,
) -> RepositionBatch:
    """A repositioning batch from an official observation.

    Drivers stand at their cell's centre and have been idle ``idle_s``; the city-wide counts are
    what the caller tracked (zeros when not given). Unknown grid ids raise ``ValueError``.
    """
    _, t = split_timestamp(observ["timestamp"], utc_offset_s)
    info = observ["driver_info"]
    driver = np.array([int(d["driver_id"]) for d in info], dtype=np.int64)
    cell = city.index_of_labels([str(d["grid_id"]) for d in info]).astype(np.int64)
    if (cell < 0).any():
        bad = info[int(np.flatnonzero(cell < 0)[0])]["grid_id"]
        raise ValueError(f"grid id {bad!r} is not a cell of the city")
    zeros = np.zeros(city.n_cells, dtype=np.int64)
    extras = getattr(observ, "extras", None)
    if extras:
        return RepositionBatch(
            t=float(extras["t"]),
            weekday=int(observ["day_of_week"]),
            driver=driver,
            lat=extras["lat"],
            lng=extras["lng"],
            cell=cell,
            idle_s=extras["idle_s"],
            unserved_by_cell=extras["unserved_by_cell"],
            idle_by_cell=extras["idle_by_cell"],
        )
    return RepositionBatch(
        t=t,
        weekday=int(observ["day_of_week"]),
        driver=driver,
        lat=city.cell_lat[cell].copy(),
        lng=city.cell_lng[cell].copy(),
        cell=cell,
        idle_s=np.full(driver.size, float(idle_s)),
        unserved_by_cell=zeros if unserved_by_cell is None else unserved_by_cell,
        idle_by_cell=zeros.copy() if idle_by_cell is None else idle_by_cell,
    )
