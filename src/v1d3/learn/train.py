"""``v1d3 train --method tabular-td``: historical days → transitions → tabular values → checkpoint.

The history is either simulated with a behaviour policy (seeds ``seed, seed+1, …``, weekdays
cycling Monday–Friday) or read from event (trajectory) files in the schema of
:mod:`v1d3.sim.log`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from v1d3.demand.config import ScenarioConfig
from v1d3.errors import ConfigError, DataError
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

__all__ = ["train_tabular", "trajectory_files", "ProgressFn"]

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


def trajectory_day(f: Path, weekday: int, end_s: float) -> tuple[int, float, Any]:
    """Weekday, end of day (seconds after midnight) and seed of trajectory file ``f``: from the
    ``log_meta.json`` beside a run folder's ``events.parquet``, else ``weekday``, ``end_s`` and
    None."""
    log_meta = f.with_name("log_meta.json")
    if f.name != "events.parquet" or not log_meta.is_file():
        return weekday, end_s, None
    m = read_json(log_meta, "run folder's log_meta.json")
    try:
        return int(m.get("weekday", weekday)), float(m.get("end_s", end_s)), m.get("seed")
    except (ValueError, TypeError, AttributeError):
        raise DataError(
            f"{log_meta}: expected a JSON object with a numeric weekday and end_s"
        ) from None


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
    policy on seeds ``seed, seed + 1, …``, weekdays cycling Monday–Friday.

    Returns the city, one :class:`Transitions` per day and each day's ``{"seed", "weekday"}``;
    ``on_day(done, days)`` is called after each day.
    """
    from v1d3.eval.config import RunConfig
    from v1d3.eval.run import run_simulation  # the evaluation layer sits above

    parts: list[Transitions] = []
    meta: list[dict[str, Any]] = []
    city: City | None = None
    for d in range(days):
        weekday = d % 5
        sc = dataclasses.replace(scenario_cfg, weekday=weekday)
        scenario = build_scenario(sc, sim_cfg, seed + d)
        res = run_simulation(
            RunConfig(scenario=sc, sim=sim_cfg, dispatch=behaviour, seed=seed + d),
            scenario=scenario,
            check=False,
        )
        city = scenario.city
        parts.append(
            transitions_from_events(res.log.events, city, weekday, scenario.end_s, idle_step_s)
        )
        meta.append({"seed": seed + d, "weekday": weekday})
        if on_day is not None:
            on_day(d + 1, days)
    if city is None:
        raise ConfigError(f"days must be >= 1, got {days}")
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
    ``log_meta.json`` supplies each file's weekday and end of day, else the scenario's are used.
    Returns the checkpoint path.
    """

    check_output_path(Path(out) / TABULAR_FILE, "file")  # before any day is simulated
    disc = discount if discount is not None else Discount()
    parts: list[Transitions] = []
    meta_src: dict[str, Any]
    if trajectories is not None:
        scenario = build_scenario(scenario_cfg, sim_cfg, seed)
        city, end_s = scenario.city, scenario.end_s
        files = trajectory_files(Path(trajectories))
        for i, f in enumerate(files):
            weekday, f_end, _ = trajectory_day(f, scenario_cfg.weekday, end_s)
            tr = transitions_from_events(
                read_events(f), city, weekday, f_end, idle_step_s, source=str(f)
            )
            parts.append(tr)
            if progress is not None:
                progress("simulate", i + 1, len(files), None)
        meta_src = {"trajectories": [str(f) for f in files]}
    else:

        def on_day(done: int, total: int) -> None:
            if progress is not None:
                progress("simulate", done, total, None)

        city, parts, _ = simulate_history(
            scenario_cfg, sim_cfg, days, seed, behaviour, idle_step_s, on_day
        )
        end_s = scenario_cfg.window_s[1]
        meta_src = {"days": days, "seed": seed, "behaviour": behaviour}

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
