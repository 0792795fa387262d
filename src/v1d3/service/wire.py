"""What the dispatch service reads and answers: request bodies checked in full before anything
is learned from them.

A body is one of:

- **columnar** (``application/json``): one round's candidate pairs as arrays per field, every
  array one entry per pair (the fields of :class:`~v1d3.rounds.CandidateBatch`)::

      {"t": 28800.0, "weekday": 2,
       "pairs": {"order": [...], "driver": [...], "pickup_m": [...], "pickup_s": [...],
                 "driver_lat": [...], "driver_lng": [...], "driver_cell": ["8a2a1072b59ffff", ...]},
       "orders": {"fare": [...], "trip_s": [...], "trip_m": [...], "t_request": [...],
                  "origin_lat": [...], "origin_lng": [...], "dest_lat": [...], "dest_lng": [...],
                  "origin_cell": [...], "dest_cell": [...], "cancel_prob": [[10 floats], ...]}}

  ``cancel_prob`` may be left out (the simulation's curve applies); cells are the city's grid ids;
- the same as an **Arrow IPC stream** (``application/vnd.apache.arrow.stream``): one record
  batch whose columns are the fields above (``cancel_prob`` a fixed-size list of 10), ``t`` and
  ``weekday`` in the schema's metadata;
- **KDD** (a JSON list): the KDD Cup 2020 ``dispatch_observ``, one dict per pair with the official
  keys (:data:`~v1d3.kddcup.observation.DISPATCH_KEYS`).

Anything else is a :class:`RequestError` with a one-line reason (a 4xx answer): a field missing
or of another length or type (text is not a number, nor ``true``), a number that is not finite or
outside its field's bounds (:data:`RANGES`: a trip of -5 s, a latitude of 100), an id that is not
an integer in 0 .. 2**63 - 1, a grid id the city does not have, an Arrow column given twice or
holding nulls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from v1d3.geo.city import City
from v1d3.kddcup.observation import DISPATCH_KEYS, ObservedBatch, batch_from_dispatch_observation
from v1d3.rounds import CandidateBatch

__all__ = [
    "RequestError",
    "ARROW",
    "MAX_CLOCK_S",
    "PAIR_FIELDS",
    "ORDER_FIELDS",
    "CELL_FIELDS",
    "is_token",
    "read_token",
    "parse_json",
    "float_field",
    "id_field",
    "cell_field",
    "columnar_batch",
    "arrow_batch",
    "kdd_batch",
    "batch_arrays",
    "batch_columns",
]

ARROW = "application/vnd.apache.arrow.stream"
"""The content type of an Arrow IPC stream body."""
PAIR_FIELDS = ("order", "driver", "pickup_m", "pickup_s", "driver_lat", "driver_lng", "driver_cell")
ORDER_FIELDS = (
    "fare",
    "trip_s",
    "trip_m",
    "t_request",
    "origin_lat",
    "origin_lng",
    "dest_lat",
    "dest_lng",
    "origin_cell",
    "dest_cell",
)
CELL_FIELDS = ("driver_cell", "origin_cell", "dest_cell")
"""Fields holding grid ids (the city's cell labels)."""
_IDS = ("order", "driver")
_KDD_KEYS = frozenset(DISPATCH_KEYS)
_MAX_ID = 2**63 - 1
MAX_PAIRS = 1_000_000
"""A round with more candidate pairs than this is refused."""
MAX_CLOCK_S = 2 * 86400.0
"""Latest clock of a round, seconds after midnight (a day's horizon ends by then)."""
MAX_DISTANCE_M = 1e6
"""Longest pick-up or trip accepted, metres."""
MAX_DURATION_S = 1e6
"""Longest pick-up or trip accepted, seconds."""
MAX_FARE = 1e6
"""Largest fare accepted, currency units."""
_LAT, _LNG = (-90.0, 90.0), (-180.0, 180.0)
RANGES: dict[str, tuple[float, float]] = {
    "pickup_m": (0.0, MAX_DISTANCE_M),
    "trip_m": (0.0, MAX_DISTANCE_M),
    "pickup_s": (0.0, MAX_DURATION_S),
    "trip_s": (0.0, MAX_DURATION_S),
    "fare": (0.0, MAX_FARE),
    "t_request": (-MAX_CLOCK_S, MAX_CLOCK_S),
    **{f"{w}_lat": _LAT for w in ("driver", "origin", "dest", "idle")},
    **{f"{w}_lng": _LNG for w in ("driver", "origin", "dest", "idle")},
}
"""Bounds of the number fields, inclusive: finite numbers beyond them (a trip of -1e9 s, a fare
of 1e308) would overflow the matching's weights."""


class RequestError(ValueError):
    """A request the service refuses (its body, a field, the state it asks of): one line."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def is_token(token: str) -> bool:
    """Whether ``token`` can be a bearer token: one word of at least 16 printable ASCII
    characters (what an HTTP header carries unchanged)."""
    return len(token) >= 16 and token.isascii() and token.isprintable() and " " not in token


def read_token(path: str | None) -> str | None:
    """The bearer token in file ``path`` (None: no token); ConfigError, naming the file, when it
    cannot be read or is no token (:func:`is_token`)."""
    if path is None:
        return None
    from pathlib import Path

    from v1d3.errors import ConfigError

    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read the token file ({e})") from None
    if not is_token(token):
        raise ConfigError(f"{path}: a token is one word of at least 16 printable ASCII characters")
    return token


def parse_json(body: bytes) -> Any:
    """A body's JSON, read by orjson (the ``service`` extra; 3–5× faster than the standard
    library on a 20,000-pair round): strict (no NaN, no infinities, no lone surrogates, no
    number beyond a float), of a repeated key the last value. One reader only: the journal's
    rows are replayed by the reader that accepted them."""
    import orjson

    try:
        return orjson.loads(body)
    except (ValueError, RecursionError) as e:
        raise RequestError(f"body: not JSON ({str(e).splitlines()[0][:120]})", 400) from None


def float_field(name: str, x: Any, n: int | None) -> np.ndarray:
    # numpy would read "1.5" and true as numbers: a body's numbers are JSON's or Arrow's
    if isinstance(x, list) and not set(map(type, x)) <= {int, float}:
        raise RequestError(f"{name}: expected an array of numbers")
    if isinstance(x, np.ndarray) and x.dtype.kind not in "iuf":
        raise RequestError(f"{name}: expected an array of numbers, got {x.dtype}")
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise RequestError(f"{name}: expected an array of numbers") from None
    if a.ndim != 1 or (n is not None and a.size != n):
        raise RequestError(f"{name}: expected {n} numbers, one per pair, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise RequestError(f"{name}: every number must be finite")
    lo, hi = RANGES.get(name, (-np.inf, np.inf))
    if a.size and not lo <= a.min() <= a.max() <= hi:
        raise RequestError(f"{name}: expected numbers in [{lo:g}, {hi:g}]")
    return a


def id_field(name: str, x: Any, n: int | None) -> np.ndarray:
    """Ids: integers in 0 .. 2**63 - 1 (JSON's ints, not bools; an array of an integer type)."""
    if isinstance(x, list) and not set(map(type, x)) <= {int}:
        raise RequestError(f"{name}: expected integer ids")
    if isinstance(x, np.ndarray) and (
        x.dtype.kind not in "iu" or (x.dtype.kind == "u" and x.size and x.max() > _MAX_ID)
    ):  # numpy would cut 1.5 to 1 and wrap 2**64 - 1 to -1
        raise RequestError(f"{name}: expected integer ids below 2**63, got {x.dtype}")
    try:
        a = np.asarray(x, dtype=np.int64)
    except (TypeError, ValueError, OverflowError):
        raise RequestError(f"{name}: expected integer ids below 2**63") from None
    if a.ndim != 1 or (n is not None and a.size != n):
        raise RequestError(f"{name}: expected {n} ids, one per pair, got shape {a.shape}")
    if a.size and a.min() < 0:
        raise RequestError(f"{name}: ids must be >= 0")
    return a


def cell_field(name: str, x: Any, n: int, city: City) -> np.ndarray:
    if not isinstance(x, list) or len(x) != n or not set(map(type, x)) <= {str}:
        raise RequestError(f"{name}: expected {n} grid ids (strings), one per pair")
    # one dict look-up per entry: a few times faster than np.unique on the strings first
    return _grid_indices(name, x, city)


def _grid_indices(name: str, labels: list[Any], city: City) -> np.ndarray:
    """The city's cell index of each grid id; RequestError naming the first it lacks."""
    index = city.index_of_labels(labels).astype(np.int64)
    if index.size and index.min() < 0:
        bad = str(labels[int(np.argmax(index < 0))])
        raise RequestError(f"{name}: {bad[:40]!r} is not a grid id of the city")
    return index


def _cells(name: str, x: Any, n: int, city: City) -> np.ndarray:
    """A cell column: grid ids (a body's strings), or the city's cell indices already (an
    array: what :func:`kdd_batch` finds from the coordinates)."""
    if not isinstance(x, np.ndarray):
        return cell_field(name, x, n, city)
    if (
        x.shape != (n,)
        or x.dtype.kind not in "iu"
        or (n and not 0 <= x.min() <= x.max() < city.n_cells)
    ):
        raise RequestError(f"{name}: expected {n} cells of the city, one per pair")
    return x.astype(np.int64)


def _check_pairs(order: np.ndarray, driver: np.ndarray) -> None:
    if order.size > MAX_PAIRS:
        raise RequestError(f"pairs: {order.size} candidate pairs, more than {MAX_PAIRS}", 413)
    key = order.astype(np.uint64) << np.uint64(32) | driver.astype(np.uint64)
    if order.size and (order.max() >= 2**32 or driver.max() >= 2**32):
        key = np.array([f"{o}:{d}" for o, d in zip(order, driver, strict=True)])
    if np.unique(key).size != order.size:
        raise RequestError("pairs: an (order, driver) pair is given twice")


def columnar_batch(doc: Any, city: City) -> ObservedBatch:
    """The batch of a columnar JSON body (see the module's docstring)."""
    if not isinstance(doc, Mapping):
        raise RequestError("body: expected a JSON object (columnar) or a list (KDD)")
    pairs, orders = doc.get("pairs"), doc.get("orders")
    if not isinstance(pairs, Mapping) or not isinstance(orders, Mapping):
        raise RequestError("body: expected objects 'pairs' and 'orders' of arrays")
    return _build(doc.get("t"), doc.get("weekday"), {**orders, **pairs}, city)


def _clock(t: Any) -> float:
    """A round's clock: a number of seconds after midnight within a day's horizon."""
    if not isinstance(t, bool) and isinstance(t, (int, float)):
        try:
            if 0 <= float(t) <= MAX_CLOCK_S:
                return float(t)
        except OverflowError:  # an integer beyond any float
            pass
    raise RequestError(f"t: expected the round's clock, 0 .. {MAX_CLOCK_S:g} s after midnight")


def _build(t: Any, weekday: Any, cols: Mapping[str, Any], city: City) -> ObservedBatch:
    t = _clock(t)
    if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
        raise RequestError("weekday: expected 0 (Monday) .. 6")
    missing = [f for f in (*PAIR_FIELDS, *ORDER_FIELDS) if f not in cols]
    if missing:
        raise RequestError(f"{missing[0]}: missing")
    order = id_field("order", cols["order"], None)
    n = order.size
    driver = id_field("driver", cols["driver"], n)
    _check_pairs(order, driver)
    got: dict[str, Any] = {"order": order, "driver": driver}
    for f in (*PAIR_FIELDS, *ORDER_FIELDS):
        if f in got:
            continue
        got[f] = _cells(f, cols[f], n, city) if f in CELL_FIELDS else float_field(f, cols[f], n)
    cp = cols.get("cancel_prob")
    if cp is not None:
        cp = float_field("cancel_prob", np.asarray(cp, dtype=object).ravel().tolist(), 10 * n)
        if ((cp < 0) | (cp > 1)).any():
            raise RequestError("cancel_prob: probabilities must be in [0, 1]")
        cp = cp.reshape(n, 10)
    pair_cols = {f: got[f] for f in PAIR_FIELDS}
    order_cols: dict[str, np.ndarray | None] = {f: got[f] for f in ORDER_FIELDS}
    order_cols["cancel_prob"] = cp
    return ObservedBatch(t, weekday, pair_cols, order_cols)


def arrow_batch(body: bytes, city: City) -> ObservedBatch:
    """The batch of an Arrow IPC stream body (one record batch; see the module's docstring)."""
    import pyarrow as pa

    try:
        table = pa.ipc.open_stream(pa.py_buffer(body)).read_all()
        table.validate(full=True)  # offsets and UTF-8: reading a damaged one can crash
    except (pa.ArrowException, OSError, ValueError) as e:
        raise RequestError(f"body: not an Arrow IPC stream ({str(e)[:120]})", 400) from None
    try:
        names = table.column_names
    except UnicodeDecodeError:
        raise RequestError("schema: column names must be UTF-8 text") from None
    try:
        meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
        t, weekday = float(meta["t"]), int(meta["weekday"])
    except (KeyError, ValueError):  # UnicodeDecodeError is a ValueError
        raise RequestError("schema metadata: expected 't' and 'weekday' as text") from None
    twice = [name for name in names if names.count(name) > 1]
    if twice:
        raise RequestError(f"{twice[0]}: column given twice")
    known = (*PAIR_FIELDS, *ORDER_FIELDS, "cancel_prob")
    cols = {name: _arrow_column(name, table.column(name)) for name in names if name in known}
    for name in CELL_FIELDS:
        if name in cols:
            cols[name] = _arrow_cells(name, cols[name], city)
    return _build(t, weekday, cols, city)


def _arrow_cells(name: str, col: Any, city: City) -> np.ndarray:
    """A column of grid ids as the city's cell indices, each distinct id looked up once (a
    round names a place once per pair: 20,000 ids of 4,000 cells)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def text(kind: Any) -> bool:
        return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))

    kind = col.type
    if pa.types.is_dictionary(kind) and text(kind.value_type):  # encoded by the client already
        encoded = col.combine_chunks()
    elif text(kind) or pa.types.is_string_view(kind):
        encoded = pc.dictionary_encode(col.cast(pa.string()).combine_chunks())
    else:
        raise RequestError(f"{name}: expected {len(col)} grid ids (strings), one per pair")
    index = _grid_indices(name, encoded.dictionary.to_pylist(), city)
    return index[encoded.indices.to_numpy(zero_copy_only=False)]


def _arrow_column(name: str, col: Any) -> Any:
    """A column's values as :func:`_build` checks them, once its Arrow type is the field's."""
    import pyarrow as pa

    kind = col.type
    if col.null_count:
        raise RequestError(f"{name}: {col.null_count} missing values (nulls)")
    if name == "cancel_prob":
        if not (pa.types.is_list(kind) or pa.types.is_large_list(kind)
                or pa.types.is_fixed_size_list(kind)):  # fmt: skip
            raise RequestError(f"cancel_prob: expected a list of 10 probabilities, got {kind}")
        return col.combine_chunks().flatten().to_numpy(zero_copy_only=False)
    if name in CELL_FIELDS:
        return col  # read by _arrow_cells
    if not (pa.types.is_integer(kind) or (name not in _IDS and pa.types.is_floating(kind))):
        what = "integer ids" if name in _IDS else "numbers"
        raise RequestError(f"{name}: expected a column of {what}, got {kind}")
    return col.to_numpy()


def _kdd_pair(p: Any) -> bool:
    # a JSON body's objects are dicts: the exact type test is ten times faster than Mapping's
    return type(p) is dict and p.keys() >= _KDD_KEYS


def kdd_batch(doc: Any, city: City, utc_offset_s: float) -> ObservedBatch:
    """The batch of a KDD Cup 2020 ``dispatch_observ`` list."""
    if not isinstance(doc, list) or not doc:
        raise RequestError("body: expected a non-empty list of candidate pairs")
    try:  # every pair's keys are read: a pair lacking one, or not a dict, fails here
        batch = batch_from_dispatch_observation(doc, city, utc_offset_s)
    except (KeyError, TypeError, ValueError, OverflowError, IndexError) as e:
        bad = next((i for i, p in enumerate(doc) if not _kdd_pair(p)), None)
        if bad is not None:  # the pair to name (a second pass only for a refused body)
            keys = ", ".join(DISPATCH_KEYS)
            raise RequestError(f"pair {bad}: expected a dict with the keys {keys}") from None
        raise RequestError(f"body: not a KDD dispatch observation ({str(e)[:120]})") from None
    # checked as a columnar body's arrays are (cells: the indices found from the coordinates)
    cols = {f: getattr(batch, f) for f in (*PAIR_FIELDS, *ORDER_FIELDS)}
    return _build(batch.t, batch.weekday, cols, city)


def batch_arrays(batch: CandidateBatch, city: City) -> dict[str, np.ndarray]:
    """A batch's fields as a client sends them: one array per field, cells as grid ids, the
    cancellation curves (where the round has them) as a pairs × 10 array."""
    labels = np.asarray(city.labels, dtype=object)
    out: dict[str, np.ndarray] = {}
    for f in (*PAIR_FIELDS, *ORDER_FIELDS):
        v = np.asarray(getattr(batch, f))
        out[f] = labels[v] if f in CELL_FIELDS else v
    cp = batch.cancel_prob
    if cp is not None:
        out["cancel_prob"] = np.asarray(cp, dtype=np.float64)
    return out


def batch_columns(batch: CandidateBatch, city: City) -> dict[str, Any]:
    """:func:`batch_arrays` as the columnar JSON body's lists."""
    return {f: v.tolist() for f, v in batch_arrays(batch, city).items()}
