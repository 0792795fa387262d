"""Shocks a user can stage on a simulated day: typed perturbations of demand, supply and travel.

Four kinds, each a frozen dataclass whose fields state their units (``docs/simulation.md``,
section "Shocks", says how each one acts on the day):

- :class:`EventShock` — extra trips leaving (or reaching) a zone or a point over a window;
- :class:`WeatherShock` — demand × ``demand`` and travel speed × ``speed`` over a window;
- :class:`SupplyShock` — drivers online × ``drivers`` over a window;
- :class:`ClosureShock` — no pickups in zones, travel from, to or through them × ``slowdown``.

A scenario holds any number of them (``ScenarioConfig.shocks``). They are written three ways,
all read here: a command-line spec (``event:zone=Midtown Center,trips=3000,start_h=22,
end_h=23``, :func:`parse_shock_spec`, written back by :func:`shock_spec`), a TOML (or YAML)
scenario file (:func:`load_shock_file`) and a JSON mapping with a ``kind`` key
(``config.json``, :func:`shock_from_mapping`). A bad value is a ConfigError naming the field,
``shocks[2].demand: ...``.
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from v1d3.errors import ConfigError
from v1d3.fields import check_value

__all__ = [
    "EventShock",
    "WeatherShock",
    "SupplyShock",
    "ClosureShock",
    "Shock",
    "SHOCK_KINDS",
    "MAX_EVENT_TRIPS",
    "ShockError",
    "shock_from_mapping",
    "parse_shock_spec",
    "shock_spec",
    "load_shock_file",
    "coerce_shocks",
    "ShockSpecs",
    "SHOCK_SPECS",
]

MAX_EVENT_TRIPS = 1_000_000
"""Most extra trips one event may add."""
MAX_MULTIPLIER = 100.0
"""Largest demand, speed or drivers multiplier (dimensionless)."""


class ShockError(ConfigError):
    """A bad value of one shock field (the scenario adds the shock's position to the name)."""

    def __init__(self, name: str, what: str) -> None:
        self.name = name
        self.what = what
        super().__init__(f"{name}: {what}")


def _check(shock: Any) -> None:
    """Types of every field (as the configs' ``check_fields``), ints made floats where a float
    is declared, and the window: ``0 <= start_h < end_h <= 24``."""
    hints = typing.get_type_hints(type(shock))
    for f in dataclasses.fields(shock):
        value = getattr(shock, f.name)
        if isinstance(value, list):
            value = tuple(value)
            object.__setattr__(shock, f.name, value)
        try:
            check_value(value, hints[f.name], "shock", f.name)
        except ConfigError as e:
            raise ShockError(f.name, str(e).split(f"{f.name} ", 1)[1]) from None
        if hints[f.name] is float or (hints[f.name] == float | None and value is not None):
            object.__setattr__(shock, f.name, float(value))
    if not 0 <= shock.start_h < 24:
        raise ShockError("start_h", f"must be in [0, 24) hours, got {shock.start_h}")
    if not shock.start_h < shock.end_h <= 24:
        raise ShockError(
            "end_h", f"must be after start_h ({shock.start_h}) and at most 24, got {shock.end_h}"
        )


def _multiplier(name: str, value: float, low: float = 0.0, strict: bool = False) -> None:
    ok = value > low if strict else value >= low
    if not (ok and value <= MAX_MULTIPLIER):
        sign = ">" if strict else ">="
        raise ShockError(
            name, f"must be a number {sign} {low:g} and <= {MAX_MULTIPLIER:g}, got {value}"
        )


@dataclass(frozen=True)
class EventShock:
    """Extra trips from (or to) a zone or a point over a window: a stadium or a concert hall
    emptying. The other end of each trip is drawn from the day's trips leaving (reaching) that
    place at that time."""

    kind: str = field(default="event", init=False)
    """The shock's kind (``event``)."""
    start_h: float = 22.0
    """Start of the window, hours after midnight."""
    end_h: float = 23.0
    """End of the window, hours after midnight (the extra trips are requested uniformly in it)."""
    trips: int = 1000
    """Extra trips over the window (orders)."""
    zone: str | None = None
    """The zone the trips leave (or reach): its name or its id (``Midtown Center``, ``161``)."""
    lat: float | None = None
    """Latitude of the place instead of a zone, degrees."""
    lng: float | None = None
    """Longitude of the place instead of a zone, degrees."""
    radius_m: float = 300.0
    """Spread of trip ends around the point (standard deviation per axis), metres."""
    direction: str = "from"
    """``from``: the trips leave the place; ``to``: they reach it."""

    def __post_init__(self) -> None:
        _check(self)
        if not 0 < self.trips <= MAX_EVENT_TRIPS:
            raise ShockError("trips", f"must be in 1..{MAX_EVENT_TRIPS:,}, got {self.trips}")
        if self.direction not in ("from", "to"):
            raise ShockError("direction", f"must be 'from' or 'to', got {self.direction!r}")
        point = self.lat is not None or self.lng is not None
        if (self.zone is not None) == point:
            raise ShockError("zone", "give either a zone or a point (lat and lng), not both")
        if point and (self.lat is None or self.lng is None):
            raise ShockError("lat" if self.lat is None else "lng", "a point needs lat and lng")
        if self.lat is not None and not -90 <= self.lat <= 90:
            raise ShockError("lat", f"must be in [-90, 90] degrees, got {self.lat}")
        if self.lng is not None and not -180 <= self.lng <= 180:
            raise ShockError("lng", f"must be in [-180, 180] degrees, got {self.lng}")
        if not 0 < self.radius_m <= 10_000:
            raise ShockError("radius_m", f"must be in (0, 10000] metres, got {self.radius_m}")


@dataclass(frozen=True)
class WeatherShock:
    """Bad (or fine) weather: demand × ``demand`` and travel speed × ``speed`` over a window,
    city-wide or in some zones."""

    kind: str = field(default="weather", init=False)
    """The shock's kind (``weather``)."""
    start_h: float = 7.0
    """Start of the window, hours after midnight."""
    end_h: float = 10.0
    """End of the window, hours after midnight."""
    demand: float = 1.0
    """Multiplier of the orders requested in the window and zones (dimensionless; 1.3 = 30 %
    more, 0.5 = half of them)."""
    speed: float = 1.0
    """Multiplier of the travel speed in the window and zones (dimensionless; 0.8 = trips and
    pickups take 1 / 0.8 = 1.25 times as long)."""
    zones: tuple[str, ...] = ()
    """Zones it applies to, by name or id (empty = the whole city)."""

    def __post_init__(self) -> None:
        _check(self)
        _multiplier("demand", self.demand)
        _multiplier("speed", self.speed, strict=True)


@dataclass(frozen=True)
class SupplyShock:
    """Drivers online × ``drivers`` over a window: a driver strike (< 1), a rival platform's
    bonus (< 1), a bonus of our own (> 1)."""

    kind: str = field(default="supply", init=False)
    """The shock's kind (``supply``)."""
    start_h: float = 17.0
    """Start of the window, hours after midnight."""
    end_h: float = 20.0
    """End of the window, hours after midnight."""
    drivers: float = 1.0
    """Multiplier of the drivers online in the window (dimensionless; 0.8 = a fifth of them go
    offline for the window, 1.2 = a fifth more come online for it)."""

    def __post_init__(self) -> None:
        _check(self)
        _multiplier("drivers", self.drivers)


@dataclass(frozen=True)
class ClosureShock:
    """Zones closed to pickups over a window (a parade, a security zone), travel from, to or
    through them slower by × ``slowdown``."""

    kind: str = field(default="closure", init=False)
    """The shock's kind (``closure``)."""
    start_h: float = 10.0
    """Start of the window, hours after midnight."""
    end_h: float = 14.0
    """End of the window, hours after midnight."""
    zones: tuple[str, ...] = ()
    """The closed zones, by name or id (at least one)."""
    slowdown: float = 1.5
    """Multiplier of the travel time of legs from, to or through the zones (dimensionless,
    >= 1)."""

    def __post_init__(self) -> None:
        _check(self)
        if not self.zones:
            raise ShockError("zones", "a closure needs at least one zone")
        _multiplier("slowdown", self.slowdown, low=1.0)


Shock = EventShock | WeatherShock | SupplyShock | ClosureShock
"""Any shock."""

SHOCK_KINDS: dict[str, type] = {
    "event": EventShock,
    "weather": WeatherShock,
    "supply": SupplyShock,
    "closure": ClosureShock,
}
"""Every shock class by its ``kind``."""


def _indexed(i: int | None, e: ShockError) -> ConfigError:
    where = "shock" if i is None else f"shocks[{i}]"
    return ConfigError(f"{where}.{e.name}: {e.what}")


def _kind_of(kind: Any, i: int | None) -> type:
    where = "shock" if i is None else f"shocks[{i}]"
    if not isinstance(kind, str) or kind not in SHOCK_KINDS:
        raise ConfigError(
            f"{where}.kind: unknown shock kind {kind!r}; expected one of {', '.join(SHOCK_KINDS)}"
        )
    return SHOCK_KINDS[kind]


def shock_from_mapping(d: Any, i: int | None = None) -> Shock:
    """A shock from a mapping with a ``kind`` key and its fields (``config.json``, a scenario
    file); ``i`` is its position, for the error messages."""
    where = "shock" if i is None else f"shocks[{i}]"
    if not isinstance(d, Mapping):
        raise ConfigError(f"{where}: expected a mapping with a kind, got {type(d).__name__}")
    d = dict(d)
    cls = _kind_of(d.pop("kind", None), i)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(map(str, set(d) - names))
    if unknown:
        raise ConfigError(
            f"{where}.{unknown[0]}: not a field of a {_kind(cls)} shock; "
            f"expected {', '.join(sorted(names))}"
        )
    try:
        return typing.cast(Shock, cls(**d))
    except ShockError as e:
        raise _indexed(i, e) from None


def _kind(cls: type) -> str:
    return str(next(f.default for f in dataclasses.fields(cls) if f.name == "kind"))


def coerce_shocks(values: Any, first: int = 0) -> tuple[Shock, ...]:
    """``ScenarioConfig.shocks`` as the tuple of shocks it holds: mappings (JSON, TOML) are
    rebuilt, shocks kept; anything else is a ConfigError naming ``shocks``. ``first``: the
    position of the first one in the scenario's list (for the error messages)."""
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Sequence):
        raise ConfigError(f"shocks: expected a list of shocks, got {type(values).__name__}")
    out: list[Shock] = []
    for i, s in enumerate(values, start=first):
        if isinstance(s, (EventShock, WeatherShock, SupplyShock, ClosureShock)):
            out.append(s)
        else:
            out.append(shock_from_mapping(s, i))
    return tuple(out)


def _parse_value(cls: type, name: str, text: str, i: int | None) -> Any:
    tp = typing.get_type_hints(cls)[name]
    base = {float | None: float, str | None: str}.get(tp, tp)
    if typing.get_origin(base) is tuple:
        return tuple(p.strip() for p in text.split(";") if p.strip())
    if base is str:
        return text
    try:
        return base(text)
    except ValueError:
        where = "shock" if i is None else f"shocks[{i}]"
        raise ConfigError(
            f"{where}.{name}: expected {'an integer' if base is int else 'a number'}, got {text!r}"
        ) from None


def parse_shock_spec(text: str, i: int | None = None) -> Shock:
    """A shock from its command-line spec ``KIND:field=value,field=value`` (a tuple field's
    values separated by ``;``): ``weather:demand=1.3,speed=0.8,start_h=7,end_h=10``."""
    where = "shock" if i is None else f"shocks[{i}]"
    kind, sep, rest = text.partition(":")
    cls = _kind_of(kind.strip(), i)
    fields = {f.name for f in dataclasses.fields(cls) if f.init}
    d: dict[str, Any] = {"kind": kind.strip()}
    for part in filter(None, (p.strip() for p in rest.split(","))) if sep else ():
        key, eq, value = part.partition("=")
        key = key.strip()
        if not eq or key not in fields:
            raise ConfigError(
                f"{where}: expected field=value with a field of a {kind.strip()} shock "
                f"({', '.join(sorted(fields))}), got {part!r}"
            )
        d[key] = _parse_value(cls, key, value.strip(), i)
    return shock_from_mapping(d, i)


def shock_spec(shock: Shock) -> str:
    """The command-line spec that :func:`parse_shock_spec` reads back as ``shock``: its kind,
    its window and every other field away from its default."""
    parts = []
    for f in dataclasses.fields(shock):
        value = getattr(shock, f.name)
        if f.name == "kind" or (value == f.default and not f.name.endswith("_h")):
            continue
        text = ";".join(value) if isinstance(value, tuple) else str(value)
        if any(c in text for c in ",=") or (isinstance(value, str) and ";" in text):
            raise ConfigError(f"shock.{f.name}: {text!r} cannot be written in a spec (, = ;)")
        parts.append(f"{f.name}={text}")
    return f"{shock.kind}:{','.join(parts)}"


def load_shock_file(path: str | Path, first: int = 0) -> tuple[tuple[Shock, ...], bool]:
    """The shocks of a scenario file and whether it asks for random shocks as well.

    TOML (``.toml``, read with the standard library) or YAML (``.yaml``/``.yml``, when PyYAML is
    installed), UTF-8: an optional ``random = true`` and a list ``shocks`` of tables, each with
    a ``kind`` and its fields. ``first``: the position of the file's first shock in the
    scenario's list (after the ``--shock`` ones), so that a bad one is named ``shocks[i]`` as
    the scenario's own checks name it. A malformed file is a ConfigError naming it.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"shocks: cannot read the scenario file {path} ({e.strerror})") from None
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"shocks: {path} is not UTF-8 text (byte {e.start}: {e.object[e.start : e.end]!r})"
        ) from None
    doc = _parse_file(path, text)
    if not isinstance(doc, dict):
        raise ConfigError(
            f"shocks: {path} must hold a table (random, shocks), got {_type_name(doc)}"
        )
    unknown = sorted(map(str, set(doc) - {"random", "shocks"}))
    if unknown:
        raise ConfigError(f"shocks: {path}: unknown key {unknown[0]!r}; expected random, shocks")
    random = doc.get("random", False)
    if not isinstance(random, bool):
        raise ConfigError(f"shocks: {path}: random must be true or false, got {random!r}")
    try:
        return coerce_shocks(doc.get("shocks", []), first), random
    except ConfigError as e:
        raise ConfigError(f"{e} (in {path})") from None


def _type_name(value: Any) -> str:
    return "a list" if isinstance(value, list) else type(value).__name__


def _parse_file(path: Path, text: str) -> Any:
    if path.suffix in (".yaml", ".yml"):
        try:
            import yaml  # type: ignore[import-untyped]
        except ModuleNotFoundError:
            raise ConfigError(
                f"shocks: {path}: reading YAML needs PyYAML (pip install pyyaml); or use TOML"
            ) from None
        try:
            return yaml.safe_load(text) or {}
        except yaml.YAMLError as e:
            line = " ".join(str(e).split())
            raise ConfigError(f"shocks: {path} is not valid YAML ({line})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"shocks: {path} is not valid TOML ({e})") from None


class ShockSpecs:
    """The ``--shock`` option of ``ScenarioConfig.shocks`` (:class:`v1d3.options.OptionCodec`):
    repeatable, one spec each."""

    cli_type = list[str] | None
    note = (
        "Repeatable: KIND:field=value,... with KIND event, weather, supply or closure (a list "
        "of zones separated by ';'), e.g. 'event:zone=Midtown Center,trips=3000,start_h=22,"
        "end_h=23'; --shocks FILE.toml reads them from a scenario file (docs/simulation.md)."
    )

    def parse(self, given: Any) -> tuple[Shock, ...]:
        specs = [given] if isinstance(given, str) else list(given)
        return tuple(parse_shock_spec(s, i) for i, s in enumerate(specs))

    def words(self, flag: str, value: Any) -> list[str]:
        return [w for s in value for w in (flag, shock_spec(s))]


SHOCK_SPECS = ShockSpecs()
"""The codec of ``ScenarioConfig.shocks``."""
