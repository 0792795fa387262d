"""The ``kdd`` scenario: a city on a KDD Cup 2020 hexagon grid, with KDD orders or synthetic demand.

Orders file (CSV, no header), one order per row::

    order_id, ride_start_ts, ride_stop_ts, pickup_lng, pickup_lat, dropoff_lng, dropoff_lat,
    reward_units[, p200, p400, ..., p2000]

Times are Unix seconds; the optional ten values are the order's cancellation probabilities at
pickup distances 200, 400, ... 2000 m. A calendar day is a day of China Standard Time (UTC+8), the
competition's: ``epoch_s`` of a day is the Unix time of its local midnight, so agents see the
real timestamps. Travel is straight-line at 3 m/s as in the competition; a trip lasts
``ride_stop_ts - ride_start_ts``.

The orders (``KddConfig.orders``) are one file, a folder or a glob pattern (:func:`order_files`):
the competition shipped one file per date, ``total_ride_request/order_20161101`` and so on. A
file named with its date (eight digits, ``YYYYMMDD``) holds that date's orders; any other file
holds the dates its rides start on (:func:`order_days`). One day is simulated from one date;
``v1d3 train`` simulates the dates in turn (:meth:`KddSource.history`).

Rows that cannot be read at all (field count, numbers, a start time before 1970 or from
:data:`MAX_TIMESTAMP_S` on) are dropped and counted wherever they are; rows of the chosen day
that are unusable are dropped and counted by reason: ``time`` (stop not after start),
``too_long`` (a ride longer than :data:`~v1d3.demand.orders.MAX_TRIP_S`), ``range``
(coordinates that are no latitude/longitude), ``reward`` (negative or above
:data:`~v1d3.demand.orders.MAX_FARE`), ``cancel_prob`` (a probability outside 0..1),
``outside_grid``, ``duplicate_id``, and, in a file named with its date, ``other_date`` (a ride
starting on another day).
"""

from __future__ import annotations

import calendar
import csv
import dataclasses
import datetime as dt
import functools
import glob
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from v1d3.demand.config import ScenarioConfig
from v1d3.demand.orders import KDD_CANCEL_CURVE, MAX_FARE, MAX_TRIP_S, Orders
from v1d3.demand.source import DemandDay, day_label, subsample, weekday_cycle
from v1d3.demand.synthetic import synthetic_orders
from v1d3.errors import ConfigError, DataError
from v1d3.geo.city import City
from v1d3.kddcup.grid import KDD_SPEED_MPS, STRAY_KM, HexGrid, numeric_rows, read_grid
from v1d3.sim.config import SimConfig
from v1d3.text_files import not_utf8

__all__ = [
    "KddSource",
    "KDD_UTC_OFFSET_S",
    "MAX_TIMESTAMP_S",
    "REFERENCE_MONDAY",
    "KddOrderTable",
    "ORDER_FILE_PREFIX",
    "OrderDay",
    "kdd_city",
    "order_files",
    "order_days",
    "read_kdd_orders",
    "write_kdd_orders",
    "kdd_day",
    "day_epoch",
    "reference_epoch",
    "weekday_of_epoch",
]

KDD_UTC_OFFSET_S = 8 * 3600
"""Offset of the competition's local time (China Standard Time) from UTC, seconds."""
REFERENCE_MONDAY = dt.date(2016, 11, 7)
"""A Monday of the Chengdu data month: days without a calendar date are dated from this week."""
MAX_TIMESTAMP_S = 4_102_444_800.0
"""2100-01-01 in Unix seconds: a ride starting then or later (or before 1970) is a bad
timestamp, which belongs to no day to simulate."""
ORDER_FILE_PREFIX = "order_"
"""How the competition named its order files, one per date: ``order_20161101``. In a folder,
the files named so are the order files (else its ``*.csv`` files)."""
_NAME_DATE = re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)")
"""A date in a file name: eight digits, ``YYYYMMDD``, not part of a longer number."""
_GLOB = re.compile(r"[*?[]")
_DAY_S = 86400
_FIELDS_PLAIN = 8
_FIELDS_CANCEL = 18
_OUTSIDE_EDGES = 2.0
"""A point farther than this many cell edges from every cell centre lies outside the grid."""
_SHIFT_S = SimConfig().shift_mean_h * 3600.0
"""The default mean shift, seconds: the fleet is sized for the shifts the simulator draws."""
_UTILISATION = 0.6
_PICKUP_S = 300.0


def day_epoch(date: dt.date | str) -> int:
    """Unix time of local (UTC+8) midnight of a date (``YYYY-MM-DD`` or a ``date``)."""
    day = dt.date.fromisoformat(_iso(date))
    return (day - dt.date(1970, 1, 1)).days * _DAY_S - KDD_UTC_OFFSET_S


def reference_epoch(weekday: int) -> int:
    """Local midnight of the reference week's day ``weekday`` (Monday = 0), Unix seconds."""
    return day_epoch(REFERENCE_MONDAY) + int(weekday) * _DAY_S


def weekday_of_epoch(epoch_s: float) -> int:
    """Day of week (Monday = 0) of the local day starting at ``epoch_s``."""
    day = math.floor((epoch_s + KDD_UTC_OFFSET_S) / _DAY_S)
    return (day + 3) % 7


def kdd_city(path: str | Path, max_km: float | None = STRAY_KM) -> tuple[City, HexGrid]:
    """The city of a KDD grid table (strays farther than ``max_km`` dropped) and the table."""
    grid = read_grid(path, max_km=max_km)
    return grid.city(name="kdd"), grid


@dataclass(frozen=True, eq=False)
class KddOrderTable:
    """The readable rows of a KDD orders file as columns (not yet a day)."""

    order_id: tuple[str, ...]
    start_ts: np.ndarray
    stop_ts: np.ndarray
    pickup_lng: np.ndarray
    pickup_lat: np.ndarray
    dropoff_lng: np.ndarray
    dropoff_lat: np.ndarray
    reward: np.ndarray
    cancel_prob: np.ndarray = field(repr=False)
    """Shape (n, 10); NaN rows where the file gives no probabilities."""
    line: np.ndarray = field(repr=False)
    """0-based line number of each row in the file."""
    drop_reasons: dict[str, int] = field(default_factory=dict)
    """Unreadable rows by reason (``fields``, ``number``, ``time``)."""

    def __len__(self) -> int:
        return len(self.order_id)


def read_kdd_orders(path: str | Path) -> KddOrderTable:
    """Read a KDD orders file; rows of the wrong width or with non-numbers are counted, not kept."""
    path = Path(path)
    ids: list[str] = []
    nums: list[list[float]] = []
    lines: list[int] = []
    drops: Counter[str] = Counter()
    nan10 = [math.nan] * 10
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            for i, oid, v in numeric_rows(fh, (_FIELDS_PLAIN, _FIELDS_CANCEL), drops):
                if not 0 <= v[0] < MAX_TIMESTAMP_S:
                    drops["timestamp"] += 1
                    continue
                if len(v) == _FIELDS_PLAIN - 1:
                    v.extend(nan10)
                ids.append(oid)
                nums.append(v)
                lines.append(i)
    except UnicodeDecodeError as e:
        raise not_utf8(path, e, "KDD orders file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read the orders file ({e.strerror or e})") from None
    a = np.asarray(nums, dtype=np.float64).reshape(-1, _FIELDS_CANCEL - 1)
    return KddOrderTable(
        order_id=tuple(ids),
        start_ts=a[:, 0],
        stop_ts=a[:, 1],
        pickup_lng=a[:, 2],
        pickup_lat=a[:, 3],
        dropoff_lng=a[:, 4],
        dropoff_lat=a[:, 5],
        reward=a[:, 6],
        cancel_prob=a[:, 7:],
        line=np.asarray(lines, dtype=np.int64),
        drop_reasons=dict(drops),
    )


def write_kdd_orders(
    path: str | Path, orders: Orders, epoch_s: float, cancel_prob: bool | None = None
) -> int:
    """Write orders as a KDD orders file (Unix seconds from ``epoch_s``); returns the row count.

    ``cancel_prob`` adds the ten probabilities (default: when the orders carry them; orders
    without them get :data:`~v1d3.demand.orders.KDD_CANCEL_CURVE`). Written atomically; a bad
    ``path`` (see :func:`~v1d3.files.check_output_path`) is a :class:`ConfigError` before
    anything is written.
    """
    from v1d3.files import atomic_file

    with atomic_file(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
        with_cp = orders.cancel_prob is not None if cancel_prob is None else cancel_prob
        start = epoch_s + orders.t_request
        stop = start + orders.trip_s
        w = csv.writer(fh, lineterminator="\n")
        for i in range(len(orders)):
            row: list[object] = [
                int(orders.source_id[i]),
                repr(float(start[i])),
                repr(float(stop[i])),
                repr(float(orders.o_lng[i])),
                repr(float(orders.o_lat[i])),
                repr(float(orders.d_lng[i])),
                repr(float(orders.d_lat[i])),
                repr(float(orders.fare[i])),
            ]
            if with_cp:
                cp = KDD_CANCEL_CURVE if orders.cancel_prob is None else orders.cancel_prob[i]
                row.extend(repr(float(p)) for p in cp)
            w.writerow(row)
    return len(orders)


def _local_day(ts: np.ndarray) -> np.ndarray:
    return np.floor((ts + KDD_UTC_OFFSET_S) / _DAY_S).astype(np.int64)


@functools.lru_cache(maxsize=2)
def _cached_table(path: str, mtime_ns: int, size: int) -> KddOrderTable:
    return read_kdd_orders(path)


def _table(path: Path) -> KddOrderTable:
    """``read_kdd_orders(path)``, read once per version of the file: listing a file's dates and
    simulating its days (training cycles through them) share one read."""
    try:
        st = path.stat()
    except OSError as e:
        raise DataError(f"{path}: cannot read the orders file ({e.strerror or e})") from None
    return _cached_table(str(path), st.st_mtime_ns, st.st_size)


@dataclass(frozen=True)
class OrderDay:
    """One date of KDD orders and the file that holds it."""

    path: Path
    date: str
    """YYYY-MM-DD, a day of China Standard Time."""
    by_name: bool = False
    """The date is the file's name's (the file holds that date only: rows of other dates are
    dropped and counted as ``other_date``)."""

    @property
    def weekday(self) -> int:
        """Day of week, Monday = 0."""
        return dt.date.fromisoformat(self.date).weekday()

    def label(self) -> str:
        """``2016-11-08 (Tue)``."""
        return f"{self.date} ({calendar.day_abbr[self.weekday]})"


def order_files(spec: str | Path) -> list[Path]:
    """The orders files ``spec`` names: a file; a folder's files named ``order_*`` (as the
    competition shipped them), else its ``*.csv`` files; or a glob pattern (``*``, ``?``,
    ``[...]``; ``**`` for any depth) of files. Sorted by name; none is a ConfigError."""
    text = str(spec)
    if _GLOB.search(text):
        files = sorted(Path(f) for f in glob.glob(text, recursive=True) if Path(f).is_file())
        if not files:
            raise ConfigError(f"kdd_orders: no file matches {text}")
        return files
    path = Path(text)
    if not path.is_dir():
        return [path]
    files = sorted(f for f in path.iterdir() if f.name.startswith(ORDER_FILE_PREFIX))
    files = [f for f in files if f.is_file()] or sorted(path.glob("*.csv"))
    if not files:
        raise ConfigError(
            f"kdd_orders: {path} holds no orders files (named {ORDER_FILE_PREFIX}YYYYMMDD as the "
            "competition shipped them, or *.csv)"
        )
    return files


def _name_date(path: Path) -> str | None:
    """The date a file's name carries (``order_20161101`` → 2016-11-01), or None."""
    m = _NAME_DATE.search(path.name)
    if m is None or not 1970 <= int(m.group(1)) < 2100:
        return None
    try:
        return dt.date(*(int(g) for g in m.groups())).isoformat()
    except ValueError:
        return None


def order_days(spec: str | Path) -> list[OrderDay]:
    """Every date the orders ``spec`` (:func:`order_files`) hold, in date order: a file named
    with a date holds that date; any other file is read for the dates its rides start on. A
    date in two files is a ConfigError (which would the day be?)."""
    days: list[OrderDay] = []
    for f in order_files(spec):
        date = _name_date(f)
        if date is not None:
            days.append(OrderDay(f, date, by_name=True))
            continue
        table = _table(f)
        local = np.unique(_local_day(table.start_ts))
        if local.size == 0:
            raise DataError(f"{f}: no readable orders (rows dropped: {table.drop_reasons})")
        days.extend(OrderDay(f, day_label(int(d))) for d in local)
    days.sort(key=lambda d: (d.date, str(d.path)))
    for a, b in zip(days, days[1:], strict=False):
        if a.date == b.date:
            raise ConfigError(
                f"kdd_orders: {a.path} and {b.path} both hold orders of {a.date}; give one file "
                "per date"
            )
    return days


def _covers(days: list[OrderDay]) -> str:
    """What dates some orders cover, for an error message."""
    what = "the file covers" if len({d.path for d in days}) == 1 else "the files cover"
    if len(days) <= 7:
        return f"{what} {', '.join(d.label() for d in days)}"
    weekdays = ", ".join(str(w) for w in sorted({d.weekday for d in days}))
    return f"{what} {days[0].date}..{days[-1].date}: {len(days)} dates, weekdays {weekdays}"


def _chosen_day(cfg: ScenarioConfig) -> OrderDay:
    """The date a one-day kdd scenario replays: ``cfg.date``, else the first date of the orders
    on ``cfg.weekday``."""
    assert cfg.kdd.orders is not None
    days = order_days(cfg.kdd.orders)
    spec = cfg.kdd.orders
    if cfg.date is not None:
        date = _iso(cfg.date)
        match = [d for d in days if d.date == date]
        if not match:
            raise ConfigError(f"{spec}: no orders on date {cfg.date} ({_covers(days)})")
        return match[0]
    match = [d for d in days if d.weekday == cfg.weekday]
    if not match:
        raise ConfigError(
            f"{spec}: no orders on weekday {cfg.weekday} (Monday = 0; {_covers(days)}); "
            "choose --date or --weekday among them"
        )
    return match[0]


def _iso(date: dt.date | str) -> str:
    """A date as YYYY-MM-DD (ConfigError naming ``date`` when it is none)."""
    if isinstance(date, dt.date):
        return date.isoformat()
    try:
        return dt.date.fromisoformat(str(date)).isoformat()
    except ValueError:
        raise ConfigError(f"date must be YYYY-MM-DD, got {date!r}") from None


def _select_day(table: KddOrderTable, path: Path, date: str) -> int:
    """The local day number of ``date``; ConfigError when the file has no rides on it."""
    days = np.unique(_local_day(table.start_ts))
    if days.size == 0:
        raise DataError(f"{path}: no readable orders (rows dropped: {table.drop_reasons})")
    day = (day_epoch(date) + KDD_UTC_OFFSET_S) // _DAY_S
    if day not in days:
        span = f"{day_label(days[0])}..{day_label(days[-1])}"
        raise ConfigError(f"{path}: no orders on date {date} (file covers {span})")
    return int(day)


def _default_drivers(trip_s: np.ndarray) -> int:
    """Drivers that serve the day's orders at about 60 % utilisation over the default shifts."""
    work = float(np.sum(trip_s + _PICKUP_S))
    return max(1, int(math.ceil(work / (_SHIFT_S * _UTILISATION))))


def _usable(
    table: KddOrderTable, on_day: np.ndarray, city: City, drops: Counter[str]
) -> np.ndarray:
    """Which rows of the day (``on_day``) are usable; the others are counted in ``drops`` by
    reason (the module's docstring lists them)."""
    ok = on_day.copy()

    def drop(reason: str, bad: np.ndarray) -> None:
        bad = bad & ok
        if bad.any():
            drops[reason] += int(bad.sum())
            ok[bad] = False

    drop("time", table.stop_ts <= table.start_ts)
    drop("too_long", table.stop_ts - table.start_ts > MAX_TRIP_S)
    lat = np.column_stack([table.pickup_lat, table.dropoff_lat])
    lng = np.column_stack([table.pickup_lng, table.dropoff_lng])
    drop("range", ((np.abs(lat) > 90) | (np.abs(lng) > 180)).any(axis=1))
    drop("reward", (table.reward < 0) | (table.reward > MAX_FARE))
    cp = table.cancel_prob
    has_cp = ~np.isnan(cp).any(axis=1)
    drop("cancel_prob", has_cp & ((cp < 0) | (cp > 1)).any(axis=1))
    idx = np.flatnonzero(ok)
    if idx.size:
        far = np.zeros(table.start_ts.size, dtype=bool)
        ends = ((table.pickup_lat, table.pickup_lng), (table.dropoff_lat, table.dropoff_lng))
        for la, ln in ends:
            x, y = city.proj.to_xy(la[idx], ln[idx])
            c = city.cell_of_xy(x, y)
            d = np.hypot(x - city.cell_x[c], y - city.cell_y[c])
            far[idx] |= d > _OUTSIDE_EDGES * city.edge_m
        drop("outside_grid", far)
    seen: set[str] = set()
    dup = np.zeros(table.start_ts.size, dtype=bool)
    for i in np.flatnonzero(ok).tolist():
        oid = table.order_id[i]
        if oid in seen:
            dup[i] = True
        seen.add(oid)
    drop("duplicate_id", dup)
    return ok


def _orders_day(cfg: ScenarioConfig, city: City, rng: np.random.Generator) -> DemandDay:
    chosen = _chosen_day(cfg)
    path = chosen.path
    table = _table(path)
    day = _select_day(table, path, chosen.date)
    epoch = day * _DAY_S - KDD_UTC_OFFSET_S
    on_day = _local_day(table.start_ts) == day
    drops: Counter[str] = Counter(table.drop_reasons)
    if chosen.by_name and not on_day.all():  # a file of one date: other dates are bad rows
        drops["other_date"] += int((~on_day).sum())
    idx = np.flatnonzero(_usable(table, on_day, city, drops))
    if idx.size == 0:
        outside = drops.get("outside_grid", 0)
        hint = f"; orders for another grid than {cfg.kdd.grid}?" if outside else ""
        raise DataError(
            f"{path}: no usable orders on {day_label(day)} (dropped: {dict(drops)}){hint}"
        )
    idx = subsample(idx, cfg.orders, rng, f"orders on {day_label(day)} in {path}")
    try:
        source = np.array([int(table.order_id[i]) for i in idx.tolist()], dtype=np.int64)
    except (ValueError, OverflowError):
        source = table.line[idx]
    o_lat, o_lng = table.pickup_lat[idx], table.pickup_lng[idx]
    d_lat, d_lng = table.dropoff_lat[idx], table.dropoff_lng[idx]
    ox, oy = city.proj.to_xy(o_lat, o_lng)
    dx, dy = city.proj.to_xy(d_lat, d_lng)
    n = idx.size
    columns = {
        "t_request": table.start_ts[idx] - epoch,
        "o_lat": o_lat,
        "o_lng": o_lng,
        "d_lat": d_lat,
        "d_lng": d_lng,
        "trip_s": table.stop_ts[idx] - table.start_ts[idx],
        "trip_m": np.asarray(city.travel.road_m(ox, oy, dx, dy), dtype=np.float64),
        "fare": table.reward[idx],
        "o_zone": np.full(n, -1, dtype=np.int32),
        "d_zone": np.full(n, -1, dtype=np.int32),
        "source_id": source,
    }
    cp = table.cancel_prob
    has_cp = ~np.isnan(cp).any(axis=1)
    if has_cp[idx].any():  # rows without probabilities get the mean curve
        curve = np.asarray(KDD_CANCEL_CURVE)[None, :]
        columns["cancel_prob"] = np.where(has_cp[idx, None], cp[idx], curve)
    cols = Orders.sort_columns(columns)
    orders = Orders(**cols, dropped_rows=sum(drops.values()), drop_reasons=dict(drops))
    return DemandDay(
        city,
        orders,
        default_drivers=_default_drivers(orders.trip_s),
        epoch_s=float(epoch),
        weekday=(day + 3) % 7,
        date=day_label(day),
    )


def _grid_path(cfg: ScenarioConfig) -> str:
    if cfg.kdd.grid is None:
        raise ConfigError("scenario kdd needs a grid table (--grid PATH, a KDD hexagon table)")
    return cfg.kdd.grid


def kdd_day(cfg: ScenarioConfig, rng: np.random.Generator) -> DemandDay:
    """The ``kdd`` scenario's source: the city of ``cfg.kdd.grid`` and one day of demand on it.

    With ``cfg.kdd.orders`` (files: :func:`order_files`) the day is ``cfg.date`` (its weekday
    then overrides ``cfg.weekday``) or else the first date of the orders on ``cfg.weekday``;
    ``cfg.orders`` keeps a random subset of that many orders. Without an orders file,
    synthetic demand (``cfg.synthetic``, driven at 3 m/s in straight lines) is drawn over the
    grid, dated ``cfg.date`` or the reference week's ``cfg.weekday`` (see
    :data:`REFERENCE_MONDAY`). Grid cells farther than :data:`~v1d3.kddcup.grid.STRAY_KM` from
    the grid's median centre are dropped as strays.
    """
    city, grid = kdd_city(_grid_path(cfg))
    if cfg.kdd.orders is not None:
        day = _orders_day(cfg, city, rng)
    else:
        if cfg.date is not None:
            epoch = day_epoch(cfg.date)
            weekday = weekday_of_epoch(epoch)
        else:
            epoch, weekday = reference_epoch(cfg.weekday), cfg.weekday
        syn = dataclasses.replace(cfg.synthetic, speed_mps=KDD_SPEED_MPS, detour=1.0)
        n = cfg.orders if cfg.orders is not None else syn.default_orders
        orders = synthetic_orders(syn, city, n, rng)
        day = DemandDay(
            city,
            orders,
            default_drivers=_default_drivers(orders.trip_s),
            epoch_s=float(epoch),
            weekday=weekday,
        )
    if grid.dropped_rows:
        reasons = Counter(day.orders.drop_reasons)
        reasons.update({f"grid_{k}": v for k, v in grid.drop_reasons.items()})
        day.orders.drop_reasons = dict(reasons)
        day.orders.dropped_rows += grid.dropped_rows
    return day


class KddSource:
    """The ``kdd`` scenario (:class:`~v1d3.demand.source.DemandSource`)."""

    def describe(self) -> str:
        return "A city on a KDD Cup 2020 hexagon grid (--grid), KDD orders or synthetic."

    def city(self, cfg: ScenarioConfig) -> City:
        return kdd_city(_grid_path(cfg))[0]

    def day(self, cfg: ScenarioConfig, rng: np.random.Generator) -> DemandDay:
        return kdd_day(cfg, rng)

    def history(self, cfg: ScenarioConfig, days: int) -> list[ScenarioConfig]:
        """With orders, the days replay their dates in turn (``cfg.date``: that date only),
        each on its own weekday and file; without, :func:`~v1d3.demand.source.weekday_cycle`
        over the reference week."""
        if cfg.kdd.orders is None:
            return weekday_cycle(cfg, days)
        dated = [_chosen_day(cfg)] if cfg.date is not None else order_days(cfg.kdd.orders)
        return [
            dataclasses.replace(
                cfg,
                date=d.date,
                weekday=d.weekday,
                kdd=dataclasses.replace(cfg.kdd, orders=str(d.path)),
            )
            for d in (dated[k % len(dated)] for k in range(days))
        ]
