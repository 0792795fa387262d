"""``v1d3 train --method tabular-td``: historical days → transitions → tabular values → checkpoint.

The history is either simulated with a behaviour policy (seeds ``seed, seed+1, …``, on the days
the scenario's source gives: weekdays cycling Monday–Friday, or a ``kdd`` scenario's order
dates in turn) or read from event (trajectory) files in the schema of :mod:`v1d3.sim.log`. Run
folders carry their scenario (``config.json``): their events are learned on that city, whatever
the scenario options say; loose event files on the scenario the options give.
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from v1d3.demand.config import ScenarioConfig
from v1d3.demand.registry import source_of
from v1d3.errors import ConfigError, DataError, V1D3Error
from v1d3.files import check_output_path
from v1d3.geo.city import City
from v1d3.learn.td import fit_tabular_offline
from v1d3.learn.transitions import Transitions, concat, transitions_from_events
from v1d3.sim.config import SimConfig
from v1d3.sim.log import read_events
from v1d3.sim.scenario import build_scenario
from v1d3.text_files import read_json
from v1d3.value.base import Discount
from v1d3.value.checkpoint import TABULAR_FILE, city_digest
from v1d3.value.tabular import TabularValue

__all__ = [
    "train_tabular",
    "trajectory_files",
    "trajectory_city",
    "trajectory_day",
    "RunDay",
    "days_summary",
    "ProgressFn",
]

ProgressFn = Callable[[str, int, int, float | None], None]
"""``progress(stage, done, total, loss)``: stage ``"simulate"`` (days done) or ``"fit"`` (time
buckets done, loss = mean absolute TD error so far)."""


def trajectory_files(path: Path) -> list[Path]:
    """Event files under ``path``: the file itself, or every ``events.parquet`` below a folder
    (run folders), else every ``*.parquet`` in it."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DataError(f"{path}: no such trajectory file or folder")
    files = sorted(path.rglob("events.parquet")) or sorted(path.glob("*.parquet"))
    if not files:
        raise DataError(f"{path}: no event parquet files in this folder")
    return files


class RunDay(NamedTuple):
    """What a trajectory file says of its day (:func:`trajectory_day`)."""

    weekday: int
    end_s: float
    """End of the day, seconds after midnight."""
    seed: Any
    date: str | None
    """The calendar date the day replayed (``kdd`` orders, ``nyc-tlc`` trips), or None."""


def trajectory_day(f: Path, weekday: int, end_s: float) -> RunDay:
    """Weekday, end of day (seconds after midnight), seed and date of trajectory file ``f``: from
    the ``log_meta.json`` beside a run folder's ``events.parquet``, else ``weekday``, ``end_s``,
    None and None."""
    log_meta = f.with_name("log_meta.json")
    if f.name != "events.parquet" or not log_meta.is_file():
        return RunDay(weekday, end_s, None, None)
    m = read_json(log_meta, "run folder's log_meta.json")
    try:
        date = m.get("date")
        return RunDay(
            int(m.get("weekday", weekday)),
            float(m.get("end_s", end_s)),
            m.get("seed"),
            None if date is None else str(date),
        )
    except (ValueError, TypeError, AttributeError):
        raise DataError(
            f"{log_meta}: expected a JSON object with a numeric weekday and end_s"
        ) from None


def trajectory_city(files: list[Path], scenario_cfg: ScenarioConfig) -> tuple[ScenarioConfig, City]:
    """The scenario and city the event ``files`` were logged in: the run folders' (the
    ``config.json`` beside each ``events.parquet``; all of one city, else a DataError), else
    ``scenario_cfg``'s. Only the city is built: no day is drawn, no orders read."""
    from v1d3.eval.config import RUN_CONFIG, load_config  # the evaluation layer sits above

    runs = [f.with_name(RUN_CONFIG) for f in files if f.name == "events.parquet"]
    runs = [r for r in runs if r.is_file()]
    if not runs:
        return scenario_cfg, source_of(scenario_cfg).city(scenario_cfg)
    first: tuple[Path, ScenarioConfig, City] | None = None
    seen: set[tuple[Any, ...]] = set()
    for path in runs:
        try:
            sc = load_config(path).scenario
            key = (sc.name, sc.h3_resolution, getattr(sc, sc.name.replace("-", "_")))
            if key in seen:
                continue
            seen.add(key)
            city = source_of(sc).city(sc)
        except V1D3Error as e:
            raise type(e)(f"{path}: the run's city: {e}") from None
        if first is None:
            first = (path, sc, city)
        elif city_digest(city) != city_digest(first[2]):
            raise DataError(
                f"{path}: a run in another city ({sc.name}, {city.n_cells} cells) than "
                f"{first[0]} ({first[1].name}, {first[2].n_cells} cells); train on one city's "
                "runs at a time"
            )
    assert first is not None
    return first[1], first[2]


def _day_label(d: dict[str, Any]) -> str:
    wd = calendar.day_abbr[int(d["weekday"])]
    return f"{d['date']} ({wd})" if d.get("date") else wd


def days_summary(days: list[dict[str, Any]]) -> str:
    """One line on the days a model learned from (each ``{"weekday", "date"?, "held_out"?}``):
    ``2 days: 2016-11-08 (Tue), 2016-11-09 (Wed); held out 2016-11-09 (Wed)``; a day seen
    several times is counted (``Mon ×4``)."""
    counts = Counter(_day_label(d) for d in days)
    listed = ", ".join(f"{k} ×{n}" if n > 1 else k for k, n in counts.items())
    text = f"{len(days)} day{'s' if len(days) != 1 else ''}: {listed}"
    held = [_day_label(d) for d in days if d.get("held_out")]
    return f"{text}; held out {', '.join(held)}" if held else text


def simulate_history(
    scenario_cfg: ScenarioConfig,
    sim_cfg: SimConfig,
    days: int,
    seed: int,
    behaviour: str = "distance",
    idle_step_s: float = 600.0,
    on_day: Callable[[int, int], None] | None = None,
) -> tuple[City, list[Transitions], list[dict[str, Any]]]:
    """Historical days to learn from: ``days`` simulated days under the ``behaviour`` dispatch
    policy on seeds ``seed, seed + 1, …``, on the days the scenario's source gives
    (:meth:`~v1d3.demand.source.DemandSource.history`: weekdays cycling Monday–Friday, or the
    dates of a ``kdd`` scenario's orders in turn).

    Returns the city, one :class:`Transitions` per day and each day's ``{"seed", "weekday",
    "date"}`` (date None for a day without one); ``on_day(done, days)`` is called after each day.
    """
    from v1d3.eval.config import RunConfig
    from v1d3.eval.run import run_simulation  # the evaluation layer sits above

    if days < 1:
        raise ConfigError(f"days must be >= 1, got {days}")
    parts: list[Transitions] = []
    meta: list[dict[str, Any]] = []
    city: City | None = None
    for d, sc in enumerate(source_of(scenario_cfg).history(scenario_cfg, days)):
        scenario = build_scenario(sc, sim_cfg, seed + d)
        res = run_simulation(
            RunConfig(scenario=sc, sim=sim_cfg, dispatch=behaviour, seed=seed + d),
            scenario=scenario,
            check=False,
        )
        city = scenario.city
        parts.append(
            transitions_from_events(
                res.log.events, city, scenario.weekday, scenario.end_s, idle_step_s
            )
        )
        meta.append({"seed": seed + d, "weekday": scenario.weekday, "date": scenario.date})
        if on_day is not None:
            on_day(d + 1, days)
    assert city is not None
    return city, parts, meta


def train_tabular(
    scenario_cfg: ScenarioConfig,
    sim_cfg: SimConfig,
    days: int,
    seed: int,
    behaviour: str = "distance",
    trajectories: Path | None = None,
    out: Path = Path("models"),
    progress: ProgressFn | None = None,
    bucket_s: float = 600.0,
    discount: Discount | None = None,
    per_weekday: bool = False,
    idle_step_s: float = 600.0,
    sweeps: int = 1,
) -> Path:
    """Fit ``V(cell, time bucket)`` offline (docs/method.md §6) and write ``<out>/tabular-td.pt``.

    ``days`` simulated days with the ``behaviour`` dispatch policy, unless ``trajectories``
    (an event parquet file, or a folder of run folders / event files) is given; a run folder's
    ``log_meta.json`` supplies each file's weekday and end of day, else the scenario's are used,
    and its ``config.json`` the scenario (:func:`trajectory_city`). The checkpoint's ``days``
    lists each day's weekday and date. Returns the checkpoint path.
    """

    check_output_path(Path(out) / TABULAR_FILE, "file")  # before any day is simulated
    disc = discount if discount is not None else Discount()
    parts: list[Transitions] = []
    meta_src: dict[str, Any]
    if trajectories is not None:
        files = trajectory_files(Path(trajectories))
        scenario_cfg, city = trajectory_city(files, scenario_cfg)
        end_s = scenario_cfg.window_s[1]
        days_meta: list[dict[str, Any]] = []
        for i, f in enumerate(files):
            day = trajectory_day(f, scenario_cfg.weekday, end_s)
            tr = transitions_from_events(
                read_events(f), city, day.weekday, day.end_s, idle_step_s, source=str(f)
            )
            parts.append(tr)
            days_meta.append(
                {"file": str(f), "weekday": day.weekday, "date": day.date, "seed": day.seed}
            )
            if progress is not None:
                progress("simulate", i + 1, len(files), None)
        meta_src = {"trajectories": [str(f) for f in files], "days": days_meta}
    else:

        def on_day(done: int, total: int) -> None:
            if progress is not None:
                progress("simulate", done, total, None)

        city, parts, days_meta = simulate_history(
            scenario_cfg, sim_cfg, days, seed, behaviour, idle_step_s, on_day
        )
        end_s = scenario_cfg.window_s[1]
        meta_src = {"days": days_meta, "seed": seed, "behaviour": behaviour}

    # fit
    value = TabularValue(
        city.n_cells,
        bucket_s,
        disc,
        end_s=end_s,
        per_weekday=per_weekday,
        cells_digest=city_digest(city),
    )
    fit_progress = None
    if progress is not None:
        p = progress

        def fit_progress(done: int, total: int, loss: float) -> None:
            p("fit", done, total, loss)

    transitions = concat(parts)
    if len(transitions) == 0:
        what = trajectories if trajectories is not None else "the simulated days"
        raise DataError(f"{what}: no transitions to learn from")
    stats = fit_tabular_offline(transitions, value, sweeps=sweeps, progress=fit_progress)
    path = Path(out) / TABULAR_FILE
    value.save(
        path,
        scenario=scenario_cfg.name,
        h3_resolution=city.h3_resolution,
        end_s=end_s,
        idle_step_s=idle_step_s,
        per_weekday=per_weekday,
        n_transitions=int(stats["transitions"]),
        mean_abs_td_error=stats["mean_abs_td_error"],
        **meta_src,
    )
    return path
