"""What to simulate: a :class:`ScenarioConfig` and one small config per demand source.

A scenario is a source (``name``: manhattan, nyc-tlc, synthetic or kdd), a day and a fleet
size; each source's own settings are a config nested in it (``ScenarioConfig.manhattan``,
``.nyc_tlc``, ``.synthetic``, ``.kdd``), and the scenario names are those fields' names.
Every field is also a command-line option (:mod:`v1d3.options`).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field

from v1d3.demand.real_days import check_like_date
from v1d3.demand.shocks import SHOCK_SPECS, Shock, coerce_shocks
from v1d3.errors import ConfigError
from v1d3.fields import check_fields

__all__ = [
    "ScenarioConfig",
    "ManhattanConfig",
    "TlcConfig",
    "SyntheticConfig",
    "KddConfig",
    "scenario_names",
    "MAX_ORDERS",
    "MAX_DRIVERS",
]

_SOURCE = {"source": True}
"""Metadata of the ScenarioConfig fields that hold a source's config (the scenario names)."""


@dataclass(frozen=True)
class ManhattanConfig:
    """The ``manhattan`` source's settings."""

    zone_day_sd: float = 0.0
    """manhattan: day-to-day variation of each pick-up zone's demand, the standard deviation of
    the log of a per-day zone multiplier (0 = every day is the weekday's average; at most 2).
    NYC TLC green-taxi records show, beyond Poisson noise, 0.04 among the business days of
    March 2021 and 0.15 over January–March 2021 with its snow storms
    (scripts/zone_day_variation.py)."""
    real_days: bool = False
    """manhattan: make each (weekday, seed) like a real day: one Monday–Friday date of 2021 Q1
    of the run's weekday, drawn by the seed (holidays and storm days included), lends the day its
    measured departure from the weekday's average — volume (when ``orders`` is not given),
    hour-by-hour profile and pick-up zone mix (docs/simulation.md, "Real days"). The date drawn is
    ``like_date`` in the run's log_meta.json. Off: every day is the weekday's average."""
    like_date: str | None = None
    """manhattan: replay the measured departure of this date, YYYY-MM-DD (a Monday–Friday of
    2021 Q1), on the Manhattan table of its weekday; the scenario's ``weekday`` is set to the
    date's."""

    def __post_init__(self) -> None:
        check_fields(self, "scenario config")
        if not 0 <= self.zone_day_sd <= 2:
            raise ConfigError(f"zone_day_sd must be in [0, 2], got {self.zone_day_sd}")
        if self.like_date is not None:
            if self.real_days:
                raise ConfigError(
                    "like_date and real_days exclude each other: give one date, or let the seed "
                    "draw one"
                )
            check_like_date(self.like_date)


@dataclass(frozen=True)
class TlcConfig:
    """The ``nyc-tlc`` source's settings (the day is the scenario's ``date`` or ``weekday``)."""

    trips: str | None = field(default=None, metadata={"path": True})
    """nyc-tlc: trip-record parquet file to replay (None = the shipped March 2021 green taxis)."""

    def __post_init__(self) -> None:
        check_fields(self, "scenario config")


@dataclass(frozen=True)
class KddConfig:
    """The ``kdd`` source's settings: a KDD Cup 2020 city and, optionally, its orders."""

    grid: str | None = field(default=None, metadata={"path": True})
    """kdd: KDD Cup 2020 hexagon grid table (CSV, no header)."""
    orders: str | None = field(default=None, metadata={"flag": "--kdd-orders", "path": True})
    """kdd: KDD Cup 2020 orders: a file (CSV, no header), a folder of them (its ``order_*``
    files, one per date as the competition shipped them: order_20161101, ...; else its
    ``*.csv``) or a glob pattern in quotes ('orders/order_201611*'); a simulated day replays one
    date, ``v1d3 train`` each in turn. None = synthetic demand on the grid."""

    def __post_init__(self) -> None:
        check_fields(self, "scenario config")


@dataclass(frozen=True)
class SyntheticConfig:
    """Shape of the synthetic city and its demand."""

    rings: int = 6
    """Radius of the city in H3 cells around the centre (6 → 127 cells)."""
    centre_lat: float = 45.0
    """Latitude of the city centre, degrees."""
    centre_lng: float = 7.0
    """Longitude of the city centre, degrees."""
    hotspots: int = 3
    """Number of demand hotspots."""
    hotspot_share: float = 0.6
    """Share of trip ends drawn near a hotspot (the rest uniformly over the city)."""
    hotspot_sd_m: float = 900.0
    """Spread of a hotspot, metres."""
    rush_hours: tuple[float, ...] = (8.5, 18.0)
    """Peak times of day, hours."""
    rush_gain: float = 2.5
    """Peak demand intensity relative to the base intensity."""
    rush_width_h: float = 1.2
    """Standard deviation of each peak, hours."""
    speed_mps: float = 7.0
    """Driving speed, metres per second."""
    detour: float = 1.3
    """Road distance / straight-line distance (1 to 10; real cities' are 1.2 to 1.6)."""
    default_orders: int = 20_000
    """Daily orders when the scenario does not set a volume."""
    commute: float = 0.0
    """Share of rush-hour trips that commute: at the first rush hour from anywhere in the city
    to a hotspot, at the last from a hotspot to anywhere (0 = no direction; the share fades
    with the rush's width)."""

    def __post_init__(self) -> None:
        check_fields(self, "synthetic config")
        if self.rings < 1:
            raise ConfigError("synthetic.rings must be >= 1")
        if not (-90 <= self.centre_lat <= 90 and -180 <= self.centre_lng <= 180):
            raise ConfigError(
                "synthetic.centre_lat must be in [-90, 90], centre_lng in [-180, 180]"
            )
        if self.hotspots < 0 or self.hotspot_sd_m <= 0:
            raise ConfigError("synthetic.hotspots must be >= 0 and hotspot_sd_m > 0")
        if self.rush_gain < 0 or self.rush_width_h <= 0:
            raise ConfigError("synthetic.rush_gain must be >= 0 and rush_width_h > 0")
        if not all(0 <= h <= 24 for h in self.rush_hours):
            raise ConfigError("synthetic.rush_hours must be hours of the day, 0..24")
        if self.default_orders <= 0:
            raise ConfigError("synthetic.default_orders must be > 0")
        if not 0 <= self.hotspot_share <= 1:
            raise ConfigError("synthetic.hotspot_share must be in [0, 1]")
        if not 0 <= self.commute <= 1:
            raise ConfigError("synthetic.commute must be in [0, 1]")
        if self.speed_mps <= 0 or not 1 <= self.detour <= 10:
            raise ConfigError("synthetic.speed_mps must be > 0 and detour in [1, 10]")


MAX_ORDERS = 50_000_000
"""Most orders one simulated day may have (about 50× New York's busiest day)."""
MAX_DRIVERS = 5_000_000
"""Most drivers one simulated day may have."""


@dataclass(frozen=True)
class ScenarioConfig:
    """Which city and which day to simulate."""

    name: str = field(default="manhattan", metadata={"flag": "--scenario"})
    """Scenario name: manhattan, nyc-tlc, synthetic or kdd (see ``v1d3 scenarios``)."""
    weekday: int = 2
    """Day of week, Monday = 0."""
    orders: int | None = None
    """Daily order volume (None = the scenario's real or default volume)."""
    drivers: int | None = None
    """Drivers in the day's fleet (None = the scenario's calibrated default)."""
    fleet_scale: float = 1.0
    """Multiplier of the scenario's calibrated default fleet (dimensionless; 1.1 = 10 % more
    drivers on every day, whatever its volume). Ignored when ``drivers`` is given."""
    start_hour: float = 0.0
    """Start of the simulated horizon, hours after midnight."""
    hours: float = 24.0
    """Length of the simulated horizon, hours."""
    h3_resolution: int = 8
    """H3 resolution of the cells (8: edge ≈ 460 m)."""
    date: str | None = None
    """nyc-tlc and kdd: the calendar day to replay, YYYY-MM-DD (None = the first day of
    ``weekday`` in the file; kdd without an orders file: the reference week's)."""
    manhattan: ManhattanConfig = field(default_factory=ManhattanConfig, metadata=_SOURCE)
    """manhattan: the source's own settings."""
    nyc_tlc: TlcConfig = field(default_factory=TlcConfig, metadata=_SOURCE)
    """nyc-tlc: the source's own settings."""
    synthetic: SyntheticConfig = field(
        default_factory=SyntheticConfig, metadata={**_SOURCE, "prefix": "synthetic-"}
    )
    """synthetic (and kdd without an orders file): the synthetic city and its demand."""
    kdd: KddConfig = field(default_factory=KddConfig, metadata=_SOURCE)
    """kdd: the source's own settings."""
    shocks: tuple[Shock, ...] = field(
        default=(), metadata={"flag": "--shock", "codec": SHOCK_SPECS}
    )
    """Shocks staged on the day: events, weather, supply changes, closures (docs/simulation.md,
    Shocks); each window in hours after midnight, inside the simulated hours."""
    random_shocks: bool = False
    """Also draw shocks at random for each (weekday, seed), the same for every policy, from the
    distribution in docs/simulation.md (also written `--shocks random`)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "shocks", coerce_shocks(self.shocks))
        check_fields(self, "scenario config")
        if self.name not in scenario_names():
            raise ConfigError(
                f"unknown scenario {self.name!r}; expected one of {', '.join(scenario_names())}"
            )
        if not 0 <= self.weekday <= 6:
            raise ConfigError(f"weekday must be 0 (Monday) .. 6, got {self.weekday}")
        if self.orders is not None and not 0 < self.orders <= MAX_ORDERS:
            raise ConfigError(f"orders must be in 1..{MAX_ORDERS:,}, got {self.orders}")
        if self.drivers is not None and not 0 < self.drivers <= MAX_DRIVERS:
            raise ConfigError(f"drivers must be in 1..{MAX_DRIVERS:,}, got {self.drivers}")
        if not 0 < self.fleet_scale <= 100:
            raise ConfigError(f"fleet_scale must be in (0, 100], got {self.fleet_scale}")
        if not 0 <= self.start_hour < 24:
            raise ConfigError(f"start_hour must be in [0, 24), got {self.start_hour}")
        if not 0 < self.hours <= 24:
            raise ConfigError(f"hours must be in (0, 24], got {self.hours}")
        if not 0 <= self.h3_resolution <= 15:
            raise ConfigError(f"h3_resolution must be 0..15, got {self.h3_resolution}")
        self._check_real_day()
        self._check_shock_windows()

    def _check_shock_windows(self) -> None:
        lo = self.start_hour
        hi = min(self.start_hour + self.hours, 24.0)
        for i, s in enumerate(self.shocks):
            if s.start_h < lo - 1e-9 or s.end_h > hi + 1e-9:
                name = "start_h" if not lo - 1e-9 <= s.start_h < hi else "end_h"
                raise ConfigError(
                    f"shocks[{i}].{name}: the window {s.start_h:g}-{s.end_h:g} h is outside "
                    f"the simulated hours {lo:g}-{hi:g} h"
                )

    def _check_real_day(self) -> None:
        """``real_days`` and ``like_date`` are the manhattan source's; ``like_date`` fixes the
        weekday (the demand streams are seeded by it, so it must be the date's)."""
        m = self.manhattan
        if self.name != "manhattan" and (m.real_days or m.like_date is not None):
            key = "like_date" if m.like_date is not None else "real_days"
            raise ConfigError(f"{key}: applies to the manhattan scenario only, not {self.name!r}")
        if m.like_date is not None:
            object.__setattr__(self, "weekday", check_like_date(m.like_date).weekday)

    @property
    def window_s(self) -> tuple[float, float]:
        """The simulated window, seconds after midnight: ``start_hour`` to ``start_hour +
        hours``, cut at midnight."""
        start_s = self.start_hour * 3600.0
        return start_s, min(start_s + self.hours * 3600.0, 24 * 3600.0)


@functools.cache
def scenario_names() -> tuple[str, ...]:
    """The scenario names: the source-config fields of :class:`ScenarioConfig`
    (``nyc_tlc`` → ``nyc-tlc``)."""
    return tuple(
        f.name.replace("_", "-")
        for f in dataclasses.fields(ScenarioConfig)
        if f.metadata.get("source")
    )
