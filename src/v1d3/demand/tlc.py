"""Replay of real NYC TLC trip records, and their conversion to the trajectory (event) log.

A TLC trip-record parquet file (yellow ``tpep_*`` or green ``lpep_*`` schema) gives, per trip,
the pick-up and drop-off times, the pick-up and drop-off taxi zones (``PULocationID``,
``DOLocationID``) and the metered fare (``fare_amount``). The ``nyc-tlc`` scenario replays one
day of them:

- the real pick-up time is the request time, the real drop-off minus pick-up is the trip time,
  ``fare_amount`` is the fare;
- TLC records carry zones, not coordinates, so origins and destinations are drawn uniformly
  (by area) inside the zone polygons; the trip distance is the straight line times 1.3;
- the city is the set of H3 cells overlapping the taxi zones, with drivers moving at 5 m/s
  along straight lines times 1.3 (pick-ups, idle moves).

Time: TLC timestamps are naive New York wall-clock times. They are read *as if they were UTC*:
"seconds after midnight" is the wall-clock time of day, and a day's ``epoch_s`` is the Unix time
of that date's midnight in UTC, not of the local midnight. Across a daylight-saving change the
wall-clock duration of a trip can be off by an hour (or negative, then the row is dropped).
Time-zone-aware timestamp columns are read as their UTC instants.

Rows unusable one by one are dropped and counted by reason (see :data:`DROP_REASONS`); each
row counts once, under the first reason in that tuple's order that applies.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import h3
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from v1d3.demand.config import ScenarioConfig
from v1d3.demand.orders import MAX_FARE, MAX_TRIP_S, Orders
from v1d3.demand.source import DemandDay, day_label, subsample, weekday_cycle
from v1d3.errors import ConfigError, DataError, first_line
from v1d3.files import check_output_path
from v1d3.geo.city import City, h3_city
from v1d3.geo.polygons import Zones, load_zones, sample_points_in_zones
from v1d3.geo.projection import haversine_m
from v1d3.geo.travel import ConstantSpeed
from v1d3.sim.log import TRIP, write_events

__all__ = [
    "TlcSource",
    "DROP_REASONS",
    "MAX_TRIP_S",
    "DETOUR",
    "SPEED_MPS",
    "DRIVERS_PER_1000_ORDERS",
    "SHARED_POLYGONS",
    "default_trips_path",
    "tlc_zones",
    "tlc_city",
    "read_trip_records",
    "tlc_day",
    "trips_to_events",
]

DROP_REASONS = (
    "null_field",
    "outside_month",
    "unknown_zone",
    "zero_duration",
    "pickup_after_dropoff",
    "too_long",
    "nonpositive_fare",
    "fare_too_high",
)
"""Why a trip record is dropped, in the order the checks apply (the first that applies counts):

- ``null_field``: a needed field (times, zones, fare) is null;
- ``outside_month``: the pick-up is not in the file's main month (the most frequent one);
- ``unknown_zone``: a zone id without a polygon (264/265 "Unknown", ids outside 1..263);
- ``zero_duration``: drop-off at the pick-up time;
- ``pickup_after_dropoff``: drop-off before the pick-up;
- ``too_long``: trip longer than :data:`~v1d3.demand.orders.MAX_TRIP_S`;
- ``nonpositive_fare``: ``fare_amount`` <= 0 (refunds, disputes, voids);
- ``fare_too_high``: ``fare_amount`` above :data:`~v1d3.demand.orders.MAX_FARE`.
"""
DETOUR = 1.3
"""Road distance / straight-line distance of the replayed trips and of the city's travel model."""
SPEED_MPS = 5.0
"""Driving speed of the replay city's travel model (pick-ups, idle moves), metres per second."""
DRIVERS_PER_1000_ORDERS = 170.0
"""Default fleet: drivers per 1,000 orders of the replayed day (at least 10), chosen so that
``distance`` dispatch works in the supply-constrained regime on the shipped file (how:
docs/results/tuning.md §6)."""
SHARED_POLYGONS = {57: 56, 104: 103, 105: 103}
"""TLC zone ids whose polygon is another zone's in TLC's shapefile (Corona, the islands)."""

_PICKUP = ("tpep_pickup_datetime", "lpep_pickup_datetime")
_DROPOFF = ("tpep_dropoff_datetime", "lpep_dropoff_datetime")
_EXPECTED = "expected a TLC trip-record parquet file"
_DAY_S = 86400
_NULL, _MONTH, _ZONE, _ZERO, _AFTER, _LONG, _FARE, _HIGH_FARE = range(len(DROP_REASONS))


def _data_dir() -> Path:
    return Path(str(files("v1d3") / "data" / "nyc_tlc"))


def default_trips_path() -> Path:
    """The shipped trip records: TLC green taxis, March 2021."""
    return _data_dir() / "green_tripdata_2021-03.parquet"


@functools.lru_cache(maxsize=1)
def tlc_zones() -> Zones:
    """The 260 TLC taxi-zone polygons shipped with the package (lat/lng)."""
    return load_zones(_data_dir() / "taxi_zones.json")


def _zone_index(location_id: np.ndarray, zones: Zones) -> np.ndarray:
    """Zone index of TLC LocationIDs (ids sharing a polygon map to its zone), -1 when unknown."""
    ids = np.asarray(location_id, dtype=np.int64).copy()
    for alias, owner in SHARED_POLYGONS.items():
        ids[ids == alias] = owner
    return zones.index_of(ids)


@functools.lru_cache(maxsize=8)
def tlc_city(h3_resolution: int) -> City:
    """The replay city: H3 cells overlapping any taxi zone, constant speed, TLC zones.

    Cached per resolution, since covering the zones with cells takes a while.
    """
    zones = tlc_zones()
    cells: set[str] = set()
    for rings in zones.rings:
        for ring in rings:
            r = ring[:-1] if len(ring) > 3 and np.array_equal(ring[0], ring[-1]) else ring
            poly = h3.LatLngPoly([(float(lat), float(lng)) for lng, lat in r])
            cells.update(h3.h3shape_to_cells_experimental(poly, h3_resolution, contain="overlap"))
    return h3_city(
        "nyc-tlc",
        sorted(cells),
        travel=ConstantSpeed(speed_mps=SPEED_MPS, detour=DETOUR),
        zones=zones,
    )


@dataclass(frozen=True, eq=False)
class _Records:
    """Every row of a trip file, with the reason it is unusable (-1 when usable)."""

    path: Path
    pickup_s: np.ndarray
    """Pick-up, Unix seconds of the naive timestamp read as UTC (NaN when null)."""
    dropoff_s: np.ndarray
    pu_id: np.ndarray
    """PULocationID (-1 when null or not an integer)."""
    do_id: np.ndarray
    pu_zone: np.ndarray
    """Zone index of the pick-up (-1 when unknown)."""
    do_zone: np.ndarray
    fare: np.ndarray
    reason: np.ndarray
    """Index into DROP_REASONS, -1 for a usable row."""

    @property
    def usable(self) -> np.ndarray:
        return self.reason < 0

    def day(self) -> np.ndarray:
        """Pick-up date as days since 1970-01-01 (-1 where the pick-up is null)."""
        ok = np.isfinite(self.pickup_s)
        return np.where(ok, np.floor(np.where(ok, self.pickup_s, 0.0) / _DAY_S), -1).astype(
            np.int64
        )

    def counts(self, mask: np.ndarray | None = None) -> dict[str, int]:
        """Dropped rows by reason (every reason present, zero or not), among ``mask``."""
        r = self.reason if mask is None else self.reason[mask]
        c = np.bincount(r[r >= 0], minlength=len(DROP_REASONS))
        return {name: int(c[i]) for i, name in enumerate(DROP_REASONS)}

    def counts_for_day(self, days: np.ndarray, day: int) -> dict[str, int]:
        """Dropped rows of date ``day`` (``days``: :meth:`day`), with the rows without a pick-up
        time: they belong to no date, so every date's count has them."""
        return self.counts((days == day) | (days < 0))


def _pick_column(path: Path, names: Sequence[str], schema: pa.Schema) -> str:
    for name in names:
        if name in schema.names:
            return name
    raise DataError(f"{path}: missing column {' or '.join(names)} ({_EXPECTED})")


def _check_type(path: Path, name: str, typ: pa.DataType, ok: bool, expected: str) -> None:
    if not ok:
        raise DataError(f"{path}: column {name} has type {typ}, expected {expected} ({_EXPECTED})")


def _seconds(col: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Unix seconds of a timestamp column (the stored value, read as UTC) and its null mask."""
    per_s = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}[col.type.unit]
    null = col.is_null().to_numpy(zero_copy_only=False)
    raw = pc.cast(col, pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
    return np.where(null, np.nan, raw / per_s), null


def _numbers(col: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """A numeric column as float64 and its null mask (integers beyond 2**53 rounded: such a zone
    id is unknown and such a fare too high, either way a dropped row)."""
    null = col.is_null().to_numpy(zero_copy_only=False)
    vals = pc.cast(col, pa.float64(), safe=False).fill_null(0.0).to_numpy(zero_copy_only=False)
    return np.where(null, np.nan, vals), null


def _location_ids(vals: np.ndarray) -> np.ndarray:
    ok = np.isfinite(vals) & (vals == np.round(vals))
    return np.where(ok, vals, -1).astype(np.int64)


def _read_records(path: str | os.PathLike[str]) -> _Records:
    path = Path(path)
    try:
        schema = pq.read_schema(path)
        schema.names  # noqa: B018 - decoded here: a damaged file's may not be UTF-8
    except (OSError, pa.ArrowException, ValueError) as e:
        raise DataError(f"{path}: unreadable ({first_line(e)}; {_EXPECTED})") from None
    pu_t = _pick_column(path, _PICKUP, schema)
    do_t = _DROPOFF[_PICKUP.index(pu_t)]
    names = [pu_t, _pick_column(path, (do_t,), schema)]
    for name in ("PULocationID", "DOLocationID", "fare_amount"):
        names.append(_pick_column(path, (name,), schema))
    for name in names[:2]:
        typ = schema.field(name).type
        _check_type(path, name, typ, pa.types.is_timestamp(typ), "a timestamp")
    for name in names[2:]:
        typ = schema.field(name).type
        numeric = pa.types.is_integer(typ) or pa.types.is_floating(typ)
        if name == "fare_amount":
            numeric = numeric or pa.types.is_decimal(typ)
        _check_type(path, name, typ, numeric, "a number")
    try:
        table = pq.read_table(path, columns=names)
    except (OSError, pa.ArrowException, ValueError) as e:
        raise DataError(f"{path}: unreadable ({first_line(e)}; {_EXPECTED})") from None

    pickup, n_pu = _seconds(table.column(names[0]))
    dropoff, n_do = _seconds(table.column(names[1]))
    pu_raw, n_pz = _numbers(table.column(names[2]))
    do_raw, n_dz = _numbers(table.column(names[3]))
    fare, n_f = _numbers(table.column(names[4]))
    pu_id, do_id = _location_ids(pu_raw), _location_ids(do_raw)
    zones = tlc_zones()
    pu_zone, do_zone = _zone_index(pu_id, zones), _zone_index(do_id, zones)

    null = n_pu | n_do | n_pz | n_dz | n_f | ~np.isfinite(fare)
    month = np.full(len(pickup), -1, dtype=np.int64)
    ok_t = ~n_pu
    month[ok_t] = pickup[ok_t].astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
    if ok_t.any():
        m, c = np.unique(month[ok_t], return_counts=True)
        main_month = m[np.argmax(c)]
    else:
        main_month = -1
    with np.errstate(invalid="ignore"):
        dur = dropoff - pickup
        conditions = [
            null,
            month != main_month,
            (pu_zone < 0) | (do_zone < 0),
            dur == 0,
            dur < 0,
            dur > MAX_TRIP_S,
            fare <= 0,
            fare > MAX_FARE,
        ]
    reason = np.select(conditions, list(range(len(DROP_REASONS))), default=-1).astype(np.int8)
    return _Records(path, pickup, dropoff, pu_id, do_id, pu_zone, do_zone, fare, reason)


def read_trip_records(
    path: str | os.PathLike[str],
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Read the usable trips of a TLC trip-record parquet file (yellow or green schema).

    Only the needed columns are read (pick-up and drop-off timestamps, ``PULocationID``,
    ``DOLocationID``, ``fare_amount``); other columns are ignored.

    Returns
    -------
    columns
        One entry per usable row, in file order: ``row`` (row index in the file, int64),
        ``pickup_s`` and ``dropoff_s`` (Unix seconds of the naive timestamps read as UTC,
        float64), ``pu_location`` and ``do_location`` (TLC LocationIDs, int64), ``pu_zone`` and
        ``do_zone`` (indices into :func:`tlc_zones`, int64), ``fare`` (dollars, float64).
    dropped
        Rows dropped, by reason (every name of :data:`DROP_REASONS`, zero or not).

    Raises
    ------
    DataError
        The file is unreadable, or a needed column is missing or not of the expected type.
    """
    rec = _read_records(path)
    keep = np.flatnonzero(rec.usable)
    cols = {
        "row": keep.astype(np.int64),
        "pickup_s": rec.pickup_s[keep],
        "dropoff_s": rec.dropoff_s[keep],
        "pu_location": rec.pu_id[keep],
        "do_location": rec.do_id[keep],
        "pu_zone": rec.pu_zone[keep],
        "do_zone": rec.do_zone[keep],
        "fare": rec.fare[keep],
    }
    return cols, rec.counts()


def _parse_date(date: str | dt.date) -> int:
    """Days since 1970-01-01 of a YYYY-MM-DD date."""
    if isinstance(date, dt.date):
        d = date
    else:
        try:
            d = dt.date.fromisoformat(str(date))
        except ValueError:
            raise ConfigError(f"date must be YYYY-MM-DD, got {date!r}") from None
    return (d - dt.date(1970, 1, 1)).days


def _weekday(day: int) -> int:
    """Monday = 0 of a day counted from 1970-01-01 (a Thursday)."""
    return (int(day) + 3) % 7


def _select_day(rec: _Records, date: str | dt.date | None, weekday: int | None) -> int:
    days = np.unique(rec.day()[rec.usable])
    if days.size == 0:
        raise ConfigError(f"{rec.path}: no usable trips to replay")
    span = f"{day_label(days[0])}..{day_label(days[-1])}"
    if date is not None:
        day = _parse_date(date)
        if day not in days:
            raise ConfigError(f"{rec.path}: no usable trips on date {date} (file covers {span})")
        if weekday is not None and _weekday(day) != weekday:
            w = _weekday(day)
            raise ConfigError(
                f"date {date} is a {calendar.day_name[w]} (weekday {w}) but weekday is {weekday}; "
                f"set weekday={w}"
            )
        return day
    if weekday is None:
        return int(days[0])
    match = [int(d) for d in days if _weekday(int(d)) == weekday]
    if not match:
        raise ConfigError(
            f"{rec.path}: no trips on a {calendar.day_name[weekday]} (weekday {weekday}; "
            f"file covers {span})"
        )
    return match[0]


def tlc_day(cfg: ScenarioConfig, rng: np.random.Generator) -> DemandDay:
    """One day of replayed trip records: the ``nyc-tlc`` scenario's source.

    The day is ``cfg.date`` (its weekday then overrides ``cfg.weekday``), or else the first date
    in the file that falls on ``cfg.weekday``. The file is ``cfg.nyc_tlc.trips`` or the shipped
    green March 2021 records. ``cfg.orders`` keeps a random subset (without replacement) of that
    many trips. ``dropped_rows``/``drop_reasons`` count the unusable rows whose pick-up falls on the
    day, and those without a pick-up time (they belong to no day, so every day counts them, as
    ``convert-trips --date`` does). ``epoch_s`` is the date's midnight in Unix seconds, TLC's
    naive timestamps taken as UTC.
    """
    path = Path(cfg.nyc_tlc.trips) if cfg.nyc_tlc.trips else default_trips_path()
    rec = _read_records(path)
    # an explicit date fixes the weekday; otherwise the first date on cfg.weekday is taken
    day = _select_day(rec, cfg.date, None if cfg.date else cfg.weekday)
    days = rec.day()
    idx = np.flatnonzero((days == day) & rec.usable)
    idx = subsample(idx, cfg.orders, rng, f"trips on {day_label(day)} in {path}")
    drops = rec.counts_for_day(days, day)
    epoch_s = float(day * _DAY_S)
    zones = tlc_zones()
    o_lat, o_lng = sample_points_in_zones(rec.pu_zone[idx], zones, rng)
    d_lat, d_lng = sample_points_in_zones(rec.do_zone[idx], zones, rng)
    cols = Orders.sort_columns(
        {
            "t_request": rec.pickup_s[idx] - epoch_s,
            "o_lat": o_lat,
            "o_lng": o_lng,
            "d_lat": d_lat,
            "d_lng": d_lng,
            "trip_s": rec.dropoff_s[idx] - rec.pickup_s[idx],
            "trip_m": haversine_m(o_lat, o_lng, d_lat, d_lng) * DETOUR,
            "fare": rec.fare[idx],
            "o_zone": rec.pu_zone[idx].astype(np.int32),
            "d_zone": rec.do_zone[idx].astype(np.int32),
            "source_id": idx.astype(np.int64),
        }
    )
    orders = Orders(**cols, dropped_rows=sum(drops.values()), drop_reasons=drops)
    drivers = max(10, int(round(DRIVERS_PER_1000_ORDERS * len(orders) / 1000.0)))
    return DemandDay(
        tlc_city(cfg.h3_resolution),
        orders,
        default_drivers=drivers,
        epoch_s=epoch_s,
        weekday=_weekday(day),
        date=day_label(day),
    )


class TlcSource:
    """The ``nyc-tlc`` scenario (:class:`~v1d3.demand.source.DemandSource`)."""

    def describe(self) -> str:
        return "Replay of real NYC TLC trip records (shipped: green taxis, March 2021)."

    def city(self, cfg: ScenarioConfig) -> City:
        return tlc_city(cfg.h3_resolution)

    def day(self, cfg: ScenarioConfig, rng: np.random.Generator) -> DemandDay:
        return tlc_day(cfg, rng)

    def history(self, cfg: ScenarioConfig, days: int) -> list[ScenarioConfig]:
        return weekday_cycle(cfg, days)


def trips_to_events(
    path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    date: str | dt.date | None = None,
    seed: int = 0,
) -> dict[str, int]:
    """Write trip records as a trajectory (event) log in the schema of :mod:`v1d3.sim.log`.

    One ``trip`` event per usable trip. TLC records carry no driver, so every trip gets its own
    ``driver_id`` (a running index in pick-up order) and the log has no idle transitions;
    ``order_id`` is the row index in the file. Times are seconds after the midnight of ``date``
    (only that date's pick-ups are kept) or, with ``date=None``, after the midnight of the
    file's first date with usable trips: a trip on day ``k`` after it (0-based) has
    ``t = 86400 * k + seconds after its own midnight`` (naive timestamps read as UTC, so there
    are no daylight-saving jumps). Positions are drawn uniformly inside the zones with
    ``numpy.random.default_rng(seed)``; ``start_cell``/``end_cell`` are -1 (no city binding);
    ``reward`` is the fare; ``pickup_m``/``pickup_s`` are 0. Written atomically.

    Returns the dropped rows by reason (of ``date``'s pick-ups and the rows without a pick-up
    time, or of the whole file). A bad ``out_path`` (see
    :func:`~v1d3.files.check_output_path`, or the input file itself) is a
    :class:`ConfigError` before anything is read or written.
    """
    out = check_output_path(out_path, "file", inputs=[path])
    rec = _read_records(path)
    days = rec.day()
    if date is None:
        first = _select_day(rec, None, None)
        mask = rec.usable
        drops = rec.counts()
    else:
        first = _select_day(rec, date, None)
        mask = rec.usable & (days == first)
        drops = rec.counts_for_day(days, first)
    idx = np.flatnonzero(mask)
    idx = idx[np.argsort(rec.pickup_s[idx], kind="stable")]
    rng = np.random.default_rng(seed)
    zones = tlc_zones()
    s_lat, s_lng = sample_points_in_zones(rec.pu_zone[idx], zones, rng)
    e_lat, e_lng = sample_points_in_zones(rec.do_zone[idx], zones, rng)
    n = idx.size
    t0 = float(first * _DAY_S)
    events: dict[str, np.ndarray] = {
        "kind": np.full(n, TRIP, dtype=np.int8),
        "driver_id": np.arange(n, dtype=np.int32),
        "order_id": idx.astype(np.int64),
        "t_start_s": rec.pickup_s[idx] - t0,
        "t_end_s": rec.dropoff_s[idx] - t0,
        "start_lat": s_lat,
        "start_lng": s_lng,
        "end_lat": e_lat,
        "end_lng": e_lng,
        "start_cell": np.full(n, -1, dtype=np.int32),
        "end_cell": np.full(n, -1, dtype=np.int32),
        "reward": rec.fare[idx],
        "pickup_m": np.zeros(n),
        "pickup_s": np.zeros(n),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    write_events(events, out)
    return drops
