"""Options shared by the commands, derived from the typed configs (one source of truth).

Every field of :class:`ScenarioConfig` (its per-source configs included) and of
:class:`SimConfig` is an option, named, typed and documented by the field itself
(:mod:`v1d3.options`); commands take them through the :func:`scenario_options` decorator, and
the options of other configs (``v1d3 train``'s learner configs) through :func:`options_of`.
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

from v1d3.cli.paths import PATH
from v1d3.demand.config import ScenarioConfig
from v1d3.demand.shocks import Shock, load_shock_file
from v1d3.errors import V1D3Error
from v1d3.options import ConfigOption, build_config, config_options, replace_fields
from v1d3.sim.config import SimConfig

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
    "Configs",
    "scenario_options",
    "options_of",
    "GivenOptions",
    "Seed",
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


Seed = Annotated[int, typer.Option(help="Seed of the run (demand, fleet, cancellations, drift).")]
Models = Annotated[
    str | None, typer.Option(help="Folder with trained models (cvnet.pt, tabular-td.pt)."), PATH
]

Configs = tuple[ScenarioConfig, SimConfig]
"""What :func:`scenario_options` hands a command."""

_SHARED: dict[str, tuple[type, ConfigOption]] = {
    o.name: (cls, o) for cls in (ScenarioConfig, SimConfig) for o in config_options(cls)
}
"""Every option of the scenario and simulation configs, by parameter name (one per field)."""
if len(_SHARED) != len(config_options(ScenarioConfig)) + len(config_options(SimConfig)):
    raise TypeError("ScenarioConfig and SimConfig options share a name")


def _annotation(o: ConfigOption, negatable: bool = False) -> Any:
    flag = o.flag
    if negatable and o.type is bool and not o.default:
        flag = f"{o.flag}/--no-{o.flag.removeprefix('--')}"
    if o.is_path:  # made absolute when the command starts (v1d3.cli.paths)
        return Annotated[o.cli_type, typer.Option(flag, help=o.cli_help), PATH]
    return Annotated[o.cli_type, typer.Option(flag, help=o.cli_help)]


SHOCKS_FILE = ConfigOption(
    ("shocks",),
    "--shocks",
    str | None,
    None,
    "A scenario file of shocks (TOML, or YAML with PyYAML: a list `shocks` of tables with a "
    "`kind`, and `random = true` to draw random ones too), added to the --shock ones; or "
    "`random`, the same as --random-shocks.",
)
"""``--shocks FILE|random``: not a field of its own, it sets ``ScenarioConfig.shocks`` and
``random_shocks`` (so a run's ``config.json`` holds the shocks themselves, not the file)."""


def configs_from_options(**options: Any) -> tuple[ScenarioConfig, SimConfig]:
    """The scenario and simulation configs the shared options describe (validated); options
    not given keep the configs' defaults."""
    shocks_file = options.pop(SHOCKS_FILE.name, None)
    sc = {k: v for k, v in options.items() if _SHARED[k][0] is ScenarioConfig}
    sim = {k: v for k, v in options.items() if _SHARED[k][0] is SimConfig}
    scenario = build_config(ScenarioConfig, sc)
    if shocks_file is not None:
        more: tuple[Shock, ...]
        if shocks_file.strip() == "random":
            more, random = (), True
        else:
            more, random = load_shock_file(shocks_file, first=len(scenario.shocks))
        scenario = dataclasses.replace(
            scenario,
            shocks=scenario.shocks + more,
            random_shocks=scenario.random_shocks or random,
        )
    return scenario, build_config(SimConfig, sim)


def scenario_options(
    skip: tuple[str, ...] = (), only: tuple[str, ...] | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command the shared scenario and simulation options.

    The command declares a parameter ``configs``; it receives ``(ScenarioConfig, SimConfig)``
    built from the options (validated: a bad value is a ``ConfigError``, exit code 2). ``skip``
    leaves options out, ``only`` keeps just those; the command may still read an option by
    declaring a parameter of the same name (it is passed through as well).
    """
    unknown = [n for n in (*skip, *(only or ())) if n not in _SHARED]
    if unknown:
        raise TypeError(f"scenario_options: unknown option {unknown[0]!r}")
    options = [o for n, (_, o) in _SHARED.items() if n not in skip and (only is None or n in only)]
    if any(o.field == "shocks" for o in options):
        options.append(SHOCKS_FILE)
    return functools.partial(
        _with_options,
        options=options,
        param="configs",
        make=lambda given: configs_from_options(**given),
    )


class GivenOptions(dict[str, Any]):
    """The parsed options of some config classes' fields, by parameter name (what
    :func:`options_of` hands a command)."""

    def build(self, cls: type, **fixed: Any) -> Any:
        """The config of class ``cls`` that these options set, then ``fixed`` set on it as field
        values (not command-line text: ``seed=1000``); fields not given keep their defaults. A
        bad value is a ConfigError."""
        mine = {o.name for o in config_options(cls)}
        built = build_config(cls, {k: v for k, v in self.items() if k in mine})
        return replace_fields(built, fixed, cls.__name__) if fixed else built


def options_of(
    param: str, *classes: type, skip: tuple[str, ...] = ()
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command an option for every field of the config ``classes`` (as
    :func:`scenario_options` does for the scenario and simulation configs).

    The command declares a parameter ``param``; it receives the parsed values as
    :class:`GivenOptions` and builds the configs it needs (:meth:`GivenOptions.build`), so a
    config is validated only where it is used. ``skip`` leaves options out (a field the command
    sets from an option of its own). A bool option off by default also takes ``--no-NAME``.
    """
    options = [o for cls in classes for o in config_options(cls) if o.name not in skip]
    names = [o.name for o in options]
    if len(set(names)) != len(names):
        raise TypeError(f"options_of: {', '.join(c.__name__ for c in classes)} share an option")
    unknown = [n for n in skip if n not in {o.name for cls in classes for o in config_options(cls)}]
    if unknown:
        raise TypeError(f"options_of: unknown option {unknown[0]!r}")
    return functools.partial(
        _with_options, options=options, param=param, make=GivenOptions, negatable=True
    )


def _with_options(
    fn: Callable[..., Any],
    options: list[ConfigOption],
    param: str,
    make: Callable[[dict[str, Any]], Any],
    negatable: bool = False,
) -> Callable[..., Any]:
    """``fn`` as a command that also takes ``options`` (keyword-only, after its own) and gets,
    as ``param``, what ``make`` returns for the given ones (a V1D3Error from it: exit code 2).
    An option ``fn`` declares itself is passed to it as well."""
    names = [o.name for o in options]
    sig = inspect.signature(fn)
    own = [p for p in sig.parameters.values() if p.name != param]
    own_names = {p.name for p in own}
    added = [
        inspect.Parameter(
            o.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=o.cli_default,
            annotation=_annotation(o, negatable),
        )
        for o in options
        if o.name not in own_names
    ]

    @functools.wraps(fn)
    def command(**kwargs: Any) -> Any:
        given = {n: kwargs[n] for n in names if n in kwargs}
        for n in given:
            if n not in own_names:
                del kwargs[n]
        try:
            built = make(given)
        except V1D3Error as e:
            fail(str(e))
        return fn(**{param: built}, **kwargs)

    hints = typing.get_type_hints(fn, include_extras=True)
    hints.pop(param, None)
    for p in added:
        hints[p.name] = p.annotation
    command.__annotations__ = hints
    command.__signature__ = sig.replace(  # type: ignore[attr-defined]
        parameters=[p.replace(annotation=hints.get(p.name, p.annotation)) for p in own] + added
    )
    del command.__wrapped__  # typer must read the new signature, not the original's
    return command


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
