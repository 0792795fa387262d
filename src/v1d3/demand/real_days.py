"""Real-like Manhattan days: the measured departures of real dates from their weekday's average.

The shipped table ``v1d3/data/day_departures.json`` (measured by ``scripts/day_departures.py``
with :mod:`v1d3.demand.departures`) holds, for every Monday–Friday date of 2021 Q1, how NYC
green-taxi pick-ups in the Manhattan table's zones departed from the weekday's average: the log
volume ratio, a log multiplier of each hour's share of the day and one of each well-counted
zone's share, each shrunk towards 0 by its sampling noise and given with that noise.

:class:`DayDeparture` applies one date to the ``manhattan`` table
(:func:`v1d3.demand.manhattan.manhattan_orders`): the day's volume times ``exp(volume)``,
each 15-minute slot's weight times its hour's ``exp(hour)``, each measured pick-up zone's
weight times ``exp(zone)`` (zones the records do not cover keep their weight).
``ManhattanConfig.like_date`` names the date; ``ManhattanConfig.real_days`` draws one of the
weekday's dates per (weekday, seed) (:func:`draw_real_day`).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from v1d3.errors import ConfigError, DataError
from v1d3.sim.seeds import real_day_rng, scenario_streams
from v1d3.text_files import json_text, read_json

__all__ = [
    "TABLE_PATH",
    "DayDeparture",
    "RealDays",
    "load_real_days",
    "check_like_date",
    "draw_real_day",
    "drawn_date",
    "table_text",
]

TABLE_PATH = Path(str(resources.files("v1d3") / "data" / "day_departures.json"))
"""The shipped departure table (the single source the options read at run time)."""


@dataclass(frozen=True, eq=False)
class DayDeparture:
    """One measured date's departure from its weekday's average (logs of multipliers)."""

    date: str
    """The date, YYYY-MM-DD."""
    weekday: int
    """Its weekday, Monday = 0."""
    holiday: str | None
    """The public holiday's name, or None."""
    volume: float
    """Log of the day's volume over the weekday's average."""
    hour: np.ndarray
    """(24,) log multiplier of each hour's share of the day."""
    zone_ids: np.ndarray
    """TLC LocationIDs of the zones measured."""
    zone: np.ndarray
    """Log multiplier of each measured zone's share of the day's pick-ups."""

    def volume_of(self, average: int) -> int:
        """The day's order count for a weekday whose average day has ``average`` orders."""
        return int(round(average * float(np.exp(self.volume))))

    def slot_factors(self, n_slots: int = 96) -> np.ndarray:
        """Multiplier of each of ``n_slots`` equal slots of the day (its hour's)."""
        return np.exp(np.repeat(self.hour, n_slots // 24))

    def zone_factors(self, zone_ids: np.ndarray) -> np.ndarray:
        """Multiplier of each zone of ``zone_ids`` (1 where the date's zone is not measured)."""
        out = np.ones(zone_ids.size)
        idx = np.searchsorted(zone_ids, self.zone_ids)
        ok = (idx < zone_ids.size) & (zone_ids[np.minimum(idx, zone_ids.size - 1)] == self.zone_ids)
        out[idx[ok]] = np.exp(self.zone[ok])
        return out


class RealDays:
    """The shipped table: one :class:`DayDeparture` per measured date."""

    def __init__(self, table: dict[str, Any]) -> None:
        try:
            zone_ids = np.asarray(table["zone_ids"], dtype=np.int64)
            self.days = {
                row["date"]: DayDeparture(
                    date=str(row["date"]),
                    weekday=int(row["weekday"]),
                    holiday=row["holiday"],
                    volume=float(row["volume"]),
                    hour=np.asarray(row["hour"], dtype=np.float64).reshape(24),
                    zone_ids=zone_ids,
                    zone=np.asarray(row["zone"], dtype=np.float64).reshape(zone_ids.size),
                )
                for row in table["dates"]
            }
        except (KeyError, TypeError, ValueError) as e:
            raise DataError(f"{TABLE_PATH.name}: not a departure table ({e})") from None
        self.first, self.last = min(self.days), max(self.days)

    def dates_of(self, weekday: int) -> list[str]:
        """The measured dates of ``weekday``, in order."""
        return sorted(d for d, day in self.days.items() if day.weekday == weekday)


@lru_cache(maxsize=1)
def load_real_days() -> RealDays:
    """The shipped departure table."""
    return RealDays(read_json(TABLE_PATH, "departure table"))


def check_like_date(value: str) -> DayDeparture:
    """The measured departure of ``value``; ConfigError naming ``like_date`` when it is not a
    date, falls on a weekend, or is outside the measured dates."""
    try:
        day = dt.datetime.strptime(value, "%Y-%m-%d").date()
        if day.isoformat() != value:  # strptime takes 2021-2-1 too; the config keeps one spelling
            raise ValueError(value)
    except (TypeError, ValueError):
        raise ConfigError(f"like_date: expected a date YYYY-MM-DD, got {value!r}") from None
    real = load_real_days()
    if day.weekday() >= 5:
        raise ConfigError(
            f"like_date: {value} is a {calendar.day_name[day.weekday()]}; the Manhattan table "
            "covers Monday..Friday only"
        )
    found = real.days.get(day.isoformat())
    if found is None:
        raise ConfigError(
            f"like_date: {value} is not a measured date; expected a weekday from {real.first} "
            f"to {real.last}"
        )
    return found


def draw_real_day(weekday: int, rng: np.random.Generator) -> DayDeparture:
    """One measured date of ``weekday`` (holidays and storm days included), uniformly."""
    real = load_real_days()
    dates = real.dates_of(weekday)
    if not dates:
        raise ConfigError(f"real_days: no measured date falls on weekday {weekday}")
    return real.days[dates[int(rng.integers(len(dates)))]]


def drawn_date(seed: int, weekday: int) -> str:
    """The date a ``real_days`` run of ``seed`` on ``weekday`` is like (what its log_meta.json
    says; for a study's runs, whose records keep no log meta)."""
    demand, _ = scenario_streams(seed, weekday)
    return draw_real_day(weekday, real_day_rng(demand)[0]).date


def table_text(table: dict[str, Any]) -> str:
    """The table file's text: its header fields, then one line per date."""
    where = "departure table"
    head = [
        f" {json_text(k, where)}: {json_text(v, where)}," for k, v in table.items() if k != "dates"
    ]
    rows = ",\n".join(f"  {json_text(r, where)}" for r in table["dates"])
    return "{\n" + "\n".join(head) + '\n "dates": [\n' + rows + "\n ]\n}\n"
