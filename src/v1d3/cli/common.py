"""Options shared by the commands, mapped onto the typed configs (one source of truth).

Each option's help text and default come from the config field it sets (:data:`_SHARED_OPTIONS`
names the field); commands take them through the :func:`scenario_options` decorator.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import sys
import time
import typing
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from v1d3.errors import V1D3Error
from v1d3.sim.config import SimConfig
from v1d3.sim.scenario import ScenarioConfig

__all__ = [
    "console",
    "err_console",
    "fail",
    "dropped_summary",
    "print_error",
    "styled",
    "configs_from_options",
    "sim_progress",
    "metrics_table",
    "Scenario",
    "Weekday",
    "Orders",
    "Drivers",
    "Hours",
    "StartHour",
    "Resolution",
    "Trips",
    "Date",
    "Grid",
    "KddOrders",
    "Seed",
    "Radius",
    "KNearest",
    "Patience",
    "FleetScale",
    "ZoneDaySd",
    "ManagedShare",
    "RepositionAfter",
    "NoCancellations",
    "ShiftHours",
    "OvernightShifts",
    "Models",
]

# a pipe or a CI log is not a terminal: keep tables whole instead of cutting them at 80 columns.
# No console markup: messages carry user text (paths, values) whose brackets are not styles;
# styled words go in as rich Text (see styled()).
console = Console(width=None if sys.stdout.isatty() else 160, markup=False)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160, markup=False)


def styled(head: str, style: str, rest: str = "") -> Text:
    """``head`` in ``style``, then ``rest`` as plain text (brackets and all)."""
    return Text.assemble((head, style), rest)


def print_error(message: str) -> None:
    """``error: MESSAGE`` on stderr, as one line (callers choose the exit code)."""
    err_console.print(styled("error:", "bold red", f" {message}"), soft_wrap=True)


def _doc(cls: type, name: str) -> str:
    """The docstring of a dataclass field (the attribute docstring under it), on one line."""
    import ast
    import inspect

    src = inspect.getsource(cls)
    tree = ast.parse(src)
    body = tree.body[0].body  # type: ignore[attr-defined]
    for i, node in enumerate(body[:-1]):
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == name:
            nxt = body[i + 1]
            if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
                return " ".join(str(nxt.value.value).split()).replace("``", "`")
    return ""


def _sc(name: str) -> str:
    return _doc(ScenarioConfig, name)


def _sim(name: str) -> str:
    return _doc(SimConfig, name)


Scenario = Annotated[str, typer.Option(help=_sc("name"))]
Weekday = Annotated[int, typer.Option(help=_sc("weekday"))]
Orders = Annotated[int | None, typer.Option(help=_sc("orders"))]
Drivers = Annotated[int | None, typer.Option(help=_sc("drivers"))]
FleetScale = Annotated[float, typer.Option("--fleet-scale", help=_sc("fleet_scale"))]
Hours = Annotated[float, typer.Option(help=_sc("hours"))]
StartHour = Annotated[float, typer.Option(help=_sc("start_hour"))]
Resolution = Annotated[int, typer.Option("--h3-resolution", help=_sc("h3_resolution"))]
Trips = Annotated[str | None, typer.Option(help=_sc("trips"))]
Date = Annotated[str | None, typer.Option(help=_sc("date"))]
Grid = Annotated[str | None, typer.Option(help=_sc("grid"))]
KddOrders = Annotated[str | None, typer.Option("--kdd-orders", help=_sc("kdd_orders"))]
ZoneDaySd = Annotated[float, typer.Option("--zone-day-sd", help=_sc("zone_day_sd"))]
Seed = Annotated[int, typer.Option(help="Seed of the run (demand, fleet, cancellations, drift).")]
Radius = Annotated[float, typer.Option("--radius-m", help=_sim("pickup_radius_m"))]
KNearest = Annotated[int, typer.Option("--k-nearest", help=_sim("k_nearest"))]
Patience = Annotated[float, typer.Option("--patience-s", help=_sim("patience_s"))]
ManagedShare = Annotated[float, typer.Option("--managed-share", help=_sim("managed_share"))]
RepositionAfter = Annotated[
    float, typer.Option("--reposition-after-s", help=_sim("reposition_after_s"))
]
NoCancellations = Annotated[
    bool, typer.Option("--no-cancellations", help="Passengers never cancel after assignment.")
]
ShiftHours = Annotated[float, typer.Option("--shift-hours", help=_sim("shift_mean_h"))]
OvernightShifts = Annotated[bool, typer.Option("--overnight-shifts", help=_sim("overnight_shifts"))]
Models = Annotated[
    str | None, typer.Option(help="Folder with trained models (cvnet.pt, tabular-td.pt).")
]

_SIM_DEFAULTS = SimConfig()
_SC_DEFAULTS = ScenarioConfig()


Configs = tuple[ScenarioConfig, SimConfig]
"""What :func:`scenario_options` hands a command."""

_SHARED_OPTIONS: tuple[tuple[str, Any, str, str], ...] = (
    # option, its type and help, the config it sets ("scenario" or "sim") and the field
    ("scenario", Scenario, "scenario", "name"),
    ("weekday", Weekday, "scenario", "weekday"),
    ("orders", Orders, "scenario", "orders"),
    ("drivers", Drivers, "scenario", "drivers"),
    ("fleet_scale", FleetScale, "scenario", "fleet_scale"),
    ("hours", Hours, "scenario", "hours"),
    ("start_hour", StartHour, "scenario", "start_hour"),
    ("h3_resolution", Resolution, "scenario", "h3_resolution"),
    ("trips", Trips, "scenario", "trips"),
    ("date", Date, "scenario", "date"),
    ("grid", Grid, "scenario", "grid"),
    ("kdd_orders", KddOrders, "scenario", "kdd_orders"),
    ("zone_day_sd", ZoneDaySd, "scenario", "zone_day_sd"),
    ("radius_m", Radius, "sim", "pickup_radius_m"),
    ("k_nearest", KNearest, "sim", "k_nearest"),
    ("patience_s", Patience, "sim", "patience_s"),
    ("managed_share", ManagedShare, "sim", "managed_share"),
    ("reposition_after_s", RepositionAfter, "sim", "reposition_after_s"),
    ("no_cancellations", NoCancellations, "sim", "cancellations"),  # the flag negates the field
    ("shift_hours", ShiftHours, "sim", "shift_mean_h"),
    ("overnight_shifts", OvernightShifts, "sim", "overnight_shifts"),
)
_TARGET = {name: (where, fld) for name, _, where, fld in _SHARED_OPTIONS}


def _option_default(name: str) -> Any:
    where, fld = _TARGET[name]
    value = getattr(_SC_DEFAULTS if where == "scenario" else _SIM_DEFAULTS, fld)
    return not value if name == "no_cancellations" else value


def configs_from_options(**options: Any) -> tuple[ScenarioConfig, SimConfig]:
    """The scenario and simulation configs the shared options describe (validated); options
    not given keep the configs' defaults."""
    fields: dict[str, dict[str, Any]] = {"scenario": {}, "sim": {}}
    for name, value in options.items():
        where, fld = _TARGET[name]
        fields[where][fld] = not value if name == "no_cancellations" else value
    return ScenarioConfig(**fields["scenario"]), dataclasses.replace(_SIM_DEFAULTS, **fields["sim"])


def scenario_options(
    skip: tuple[str, ...] = (), only: tuple[str, ...] | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command the shared scenario and simulation options.

    The command declares a parameter ``configs``; it receives ``(ScenarioConfig, SimConfig)``
    built from the options (validated: a bad value is a ``ConfigError``, exit code 2). ``skip``
    leaves options out, ``only`` keeps just those; the command may still read an option by
    declaring a parameter of the same name (it is passed through as well).
    """
    names = [n for n, *_ in _SHARED_OPTIONS if n not in skip and (only is None or n in only)]

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(fn)
        own = [p for p in sig.parameters.values() if p.name != "configs"]
        own_names = {p.name for p in own}
        added = [
            inspect.Parameter(
                n, inspect.Parameter.KEYWORD_ONLY, default=_option_default(n), annotation=a
            )
            for n, a, *_ in _SHARED_OPTIONS
            if n in names and n not in own_names
        ]

        @functools.wraps(fn)
        def command(**kwargs: Any) -> Any:
            shared = {n: kwargs[n] for n in names if n in kwargs}
            for n in shared:
                if n not in own_names:
                    del kwargs[n]
            try:
                configs = configs_from_options(**shared)
            except V1D3Error as e:
                fail(str(e))
            return fn(configs=configs, **kwargs)

        hints = typing.get_type_hints(fn, include_extras=True)
        hints.pop("configs", None)
        for p in added:
            hints[p.name] = p.annotation
        command.__annotations__ = hints
        command.__signature__ = sig.replace(  # type: ignore[attr-defined]
            parameters=[p.replace(annotation=hints.get(p.name, p.annotation)) for p in own] + added
        )
        del command.__wrapped__  # typer must read the new signature, not the original's
        return command

    return decorate


def dropped_summary(reasons: Mapping[str, int]) -> str:
    """``dropped rows: N (reason: n, ...)`` for a command's summary line (reasons in the order
    given, those with no row left out)."""
    total = sum(reasons.values())
    by = ", ".join(f"{k}: {v}" for k, v in reasons.items() if v)
    return f"dropped rows: {total}" + (f" ({by})" if by else "")


def fail(message: str) -> None:
    """One line on stderr, exit code 2."""
    print_error(message)
    raise typer.Exit(2)


@contextmanager
def sim_progress(
    label: str, start_s: float, end_s: float, enabled: bool = True
) -> Iterator[Callable[[float, int], None]]:
    """A progress bar over simulated time; yields the simulator's progress callback."""
    if not enabled or not sys.stderr.isatty():
        yield lambda t, n: None
        return
    with Progress(
        TextColumn("{task.description}", style="bold", markup=False),
        BarColumn(),
        TextColumn("{task.fields[clock]}"),
        TextColumn("{task.fields[rate]} orders/s"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=end_s - start_s, clock="00:00", rate="0")
        t0 = time.perf_counter()

        def update(t: float, n: int) -> None:
            el = max(time.perf_counter() - t0, 1e-9)
            hh, mm = divmod(int(t // 60), 60)
            bar.update(
                task, completed=t - start_s, clock=f"{hh:02d}:{mm:02d}", rate=f"{n / el:,.0f}"
            )

        yield update


_COLUMNS: dict[str, tuple[str, Callable[[Any], str]]] = {
    "total_income": ("income", lambda v: f"{v:,.0f}"),
    "answer_rate": ("answered", lambda v: f"{100 * v:.1f}%"),
    "completion_rate": ("completed", lambda v: f"{100 * v:.1f}%"),
    "wait_mean_s": ("wait s", lambda v: f"{v:.0f}"),
    "pickup_km_mean": ("pickup km", lambda v: f"{v:.2f}"),
    "utilisation": ("busy", lambda v: f"{100 * v:.0f}%"),
    "income_per_online_hour": ("$/online h", lambda v: f"{v:.2f}"),
    "wall_s": ("wall s", lambda v: f"{v:.1f}"),
}


def metrics_table(rows: dict[str, dict[str, Any]], title: str = "") -> Table:
    """A short comparison table: one row per policy."""
    table = Table(title=title or None)
    table.add_column("policy", style="bold", no_wrap=True)
    for label, _ in _COLUMNS.values():
        table.add_column(label, justify="right", no_wrap=True)
    for name, m in rows.items():
        table.add_row(name, *(fmt(m[k]) for k, (_, fmt) in _COLUMNS.items()))
    return table
