"""Evaluate policies side by side on identical demand: the run grid, its records and its outputs.

:func:`evaluate` is the one entry point (the CLI, training code and tests call it). A study is
every policy × weekday × seed; the runs of one (weekday, seed) differ only in the policy names,
so they share the scenario's orders and shifts and the simulator's cancellation and idle-drift
draws (common random numbers: :mod:`v1d3.sim.engine` draws them per order and per tick for all
drivers, whatever the policy does).

Output folder::

    study.json          the study (what a later --resume must match)
    runs/<key>/         one record per finished run, written atomically:
        record.json         config, metrics, hourly metrics, the policies' constants
        aggregates.npz      per cell × hour: orders, unserved orders, idle driver-minutes;
                            a pickup-distance sample, drivers' hourly incomes, cell geometry;
                            the online corrections when the dispatch policy recorded them
    results.parquet     one row per run: policy, weekday, seed, status, error, every metric
    summary.csv         mean and 95% CI per policy × metric, paired difference to the baseline
    failures.json       runs that failed twice, with their error
    report.html         the self-contained report
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from v1d3 import __version__
from v1d3.demand.config import ScenarioConfig
from v1d3.errors import ConfigError, DataError, V1D3Error
from v1d3.eval.backends import Event, Executor, Task, execute, make_executor
from v1d3.eval.config import RunConfig
from v1d3.eval.metrics import (
    METRIC_KEYS,
    driver_hourly_income,
    idle_minutes,
    metrics_by_hour,
    orders_by_cell,
    pickup_sample,
)
from v1d3.eval.report import CorrectionMapConfig, write_report
from v1d3.eval.run import run_simulation
from v1d3.eval.study import (
    STUDY_FILE,
    STUDY_KIND,
    StudyConfig,
    check_study_folder,
    run_key,
    run_name,
    study_command,
)
from v1d3.eval.summary import SummaryRow, summarise, summary_csv
from v1d3.files import atomic_dir, atomic_file, atomic_write_text
from v1d3.policies import (
    DISPATCH,
    make_dispatch,
    make_reposition,
)
from v1d3.sim.log import RunLog
from v1d3.sim.scenario import build_scenario, check_scenario_shocks
from v1d3.sim.seeds import pickup_sample_rng
from v1d3.text_files import json_text, read_json
from v1d3.value.corrections import CORRECTIONS_TABLE, correction_matrix

__all__ = [
    "RunRecord",
    "Evaluation",
    "BASELINE_DISPATCH",
    "TIMING_KEYS",
    "evaluate",
    "run_record",
    "aggregate_run",
    "read_record",
    "load_records",
    "default_policies",
]

BASELINE_DISPATCH = ("fcfs", "nearest", "distance", "fare")
"""Dispatch baselines of the default study."""

TIMING_KEYS = ("wall_s", "dispatch_round_ms_p50", "dispatch_round_ms_p99")
"""Metrics that measure the machine, not the policy: they differ between identical runs."""

PICKUP_SAMPLE = 5000
"""Largest number of pickup distances a run record keeps (a seeded random sample)."""

_INT_METRICS = frozenset(
    {"orders", "matched", "completed", "cancelled", "managed_drivers", "dropped_rows"}
)


# --- one run's record --------------------------------------------------------------------------


@dataclass(eq=False)
class RunRecord:
    """A finished run, reduced to what results, summary and report need (a few hundred kB)."""

    config: RunConfig
    metrics: dict[str, Any]
    hourly: dict[str, np.ndarray]
    """:func:`~v1d3.eval.metrics.metrics_by_hour`: 24 values per figure."""
    cell_orders: np.ndarray
    """Orders by request hour × origin cell, shape (24, C)."""
    cell_unserved: np.ndarray
    """Orders never answered (expired) by request hour × origin cell, shape (24, C)."""
    cell_idle_min: np.ndarray
    """Idle driver-minutes by hour × cell (gaps between a driver's events), shape (24, C)."""
    pickup_km: np.ndarray
    """Pickup distances of completed trips, km (a seeded sample of at most PICKUP_SAMPLE)."""
    driver_hourly_income: np.ndarray
    """Income per online hour of every driver who was online."""
    cell_lat: np.ndarray
    """Cell centre latitudes, degrees."""
    cell_lng: np.ndarray
    """Cell centre longitudes, degrees."""
    cell_labels: np.ndarray
    """Cell public ids (H3 index strings or grid ids)."""
    h3_resolution: int | None
    """H3 resolution of the cells, or None when they are not H3 cells."""
    attempts: int = 1
    policies: dict[str, Any] = field(default_factory=dict)
    """The constants the run's policies resolved to (``RunResult.policies``)."""
    shocks: list[dict[str, Any]] = field(default_factory=list)
    """The shocks the run's day had, staged and drawn, with their effects and places
    (``log_meta.json``'s ``shocks``)."""
    correction_t_s: np.ndarray | None = None
    """Times of the online value's recorded corrections, seconds after midnight (None: the
    dispatch policy has no online value; :mod:`v1d3.value.corrections`)."""
    correction_before_ensemble: np.ndarray | None = None
    """Per recording, whether it was taken just before an ensemble step."""
    correction: np.ndarray | None = None
    """``V_on − V_off`` per recording × cell, currency units, shape (recordings, C)."""

    @property
    def key(self) -> str:
        return run_key(self.config)

    @property
    def policy(self) -> str:
        return self.config.policy


def aggregate_run(
    cfg: RunConfig,
    log: RunLog,
    metrics: dict[str, Any],
    city: Any,
    attempts: int = 1,
    policies: dict[str, Any] | None = None,
    tables: dict[str, dict[str, np.ndarray]] | None = None,
) -> RunRecord:
    """Reduce a finished run to its record (every figure from :mod:`v1d3.eval.metrics`; the
    online corrections from the ``corrections`` table among the policies' ``tables``)."""
    n = city.n_cells
    orders, unserved = orders_by_cell(log, n)
    rng = pickup_sample_rng(cfg.seed, cfg.scenario.weekday)
    corr = (tables or {}).get(CORRECTIONS_TABLE)
    t_s, pre, delta = correction_matrix(corr, n) if corr is not None else (None, None, None)
    return RunRecord(
        config=cfg,
        metrics=metrics,
        hourly={k: np.asarray(v, dtype=np.float64) for k, v in metrics_by_hour(log).items()},
        cell_orders=orders.astype(np.int32),
        cell_unserved=unserved.astype(np.int32),
        cell_idle_min=idle_minutes(log, n).astype(np.float32),
        pickup_km=pickup_sample(log, PICKUP_SAMPLE, rng),
        driver_hourly_income=driver_hourly_income(log).astype(np.float32),
        cell_lat=np.asarray(city.cell_lat, dtype=np.float64),
        cell_lng=np.asarray(city.cell_lng, dtype=np.float64),
        cell_labels=np.asarray(city.labels, dtype=str),
        h3_resolution=city.h3_resolution,
        attempts=attempts,
        policies=policies or {},
        shocks=list(log.meta.get("shocks", [])),
        correction_t_s=t_s,
        correction_before_ensemble=pre,
        correction=None if delta is None else delta.astype(np.float32),
    )


def run_record(cfg: RunConfig) -> RunRecord:
    """Simulate one run (invariants checked) and reduce it to its record. Runs in the workers."""
    scenario = build_scenario(cfg.scenario, cfg.sim, cfg.seed)
    result = run_simulation(cfg, scenario=scenario)
    return aggregate_run(
        cfg, result.log, result.metrics, scenario.city, policies=result.policies,
        tables=result.tables,
    )  # fmt: skip


def _config_json(cfg: RunConfig) -> dict[str, Any]:
    d = json.loads(json_text(cfg.to_dict(), "run config"))
    d.pop("v1d3_version", None)
    return d


def write_record(record: RunRecord, folder: Path) -> None:
    """Write a run record folder atomically."""
    with atomic_dir(folder) as tmp:
        doc = {
            "key": record.key,
            "policy": record.policy,
            "weekday": record.config.scenario.weekday,
            "seed": record.config.seed,
            "attempts": record.attempts,
            "config": record.config.to_dict(),
            "metrics": record.metrics,
            "hourly": {k: v.tolist() for k, v in record.hourly.items()},
            "policies": record.policies,
            "shocks": record.shocks,
        }
        text = json_text(doc, f"{folder}/record.json", indent=1)
        (tmp / "record.json").write_text(text + "\n", encoding="utf-8")
        arrays: dict[str, Any] = dict(
            cell_orders=record.cell_orders,
            cell_unserved=record.cell_unserved,
            cell_idle_min=record.cell_idle_min,
            pickup_km=record.pickup_km,
            driver_hourly_income=record.driver_hourly_income,
            cell_lat=record.cell_lat,
            cell_lng=record.cell_lng,
            cell_labels=record.cell_labels,
            h3_resolution=np.int64(-1 if record.h3_resolution is None else record.h3_resolution),
            **_correction_arrays(record),
        )
        np.savez_compressed(tmp / "aggregates.npz", **arrays)


_CORRECTION_FIELDS = ("correction_t_s", "correction_before_ensemble", "correction")


def _correction_arrays(record: RunRecord) -> dict[str, np.ndarray]:
    """The record's correction arrays by name (none when it has none)."""
    if record.correction is None:
        return {}
    return {name: np.asarray(getattr(record, name)) for name in _CORRECTION_FIELDS}


def read_record(folder: Path) -> RunRecord:
    """Read a run record folder back (DataError when it is incomplete or unreadable)."""
    folder = Path(folder)
    doc = read_json(folder / "record.json", "run record")
    if not isinstance(doc, dict):
        raise DataError(f"{folder / 'record.json'}: expected a JSON object (a run record)")
    try:
        with np.load(folder / "aggregates.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        raise DataError(f"{folder}: not a readable run record ({e})") from None
    names = ("cell_orders", "cell_unserved", "cell_idle_min", "pickup_km",
             "driver_hourly_income", "cell_lat", "cell_lng", "cell_labels")  # fmt: skip
    missing = [n for n in (*names, "h3_resolution") if n not in arrays]
    if missing or not {"config", "metrics", "hourly"} <= set(doc):
        raise DataError(f"{folder}: incomplete run record (missing {', '.join(missing) or 'keys'})")
    res = int(arrays["h3_resolution"])
    return RunRecord(
        config=RunConfig.from_dict(doc["config"]),
        metrics=doc["metrics"],
        hourly={k: np.asarray(v, dtype=np.float64) for k, v in doc["hourly"].items()},
        h3_resolution=None if res < 0 else res,
        attempts=int(doc.get("attempts", 1)),
        policies=doc.get("policies", {}),
        shocks=list(doc.get("shocks", [])),
        **{n: arrays[n] for n in names},
        **{n: arrays[n] for n in _CORRECTION_FIELDS if n in arrays},
    )


def _finished(folder: Path, cfg: RunConfig) -> RunRecord | None:
    """The record in ``folder`` when it is complete and belongs to exactly ``cfg``."""
    if not (folder / "record.json").is_file():
        return None
    try:
        rec = read_record(folder)
    except V1D3Error:
        return None
    return rec if _config_json(rec.config) == _config_json(cfg) else None


def load_records(out: Path, study: StudyConfig) -> list[RunRecord]:
    """The finished records of a study's runs, in grid order."""
    recs = []
    for cfg in study.runs():
        rec = _finished(Path(out) / "runs" / run_key(cfg), cfg)
        if rec is not None:
            recs.append(rec)
    return recs


# --- defaults ----------------------------------------------------------------------------------


def default_policies(
    models: Path | None, scenario: ScenarioConfig | None = None
) -> tuple[str, ...]:
    """The default study's dispatch names: the baselines, plus every other registered dispatch
    policy that can be built from ``models`` (none when there is no models folder)."""
    names = [d for d in BASELINE_DISPATCH if d in DISPATCH]
    if models is None or not Path(models).is_dir():
        return tuple(names)
    for name in DISPATCH:
        if name in names:
            continue
        try:
            make_dispatch(name, Path(models), scenario)
        except (V1D3Error, OSError):
            continue
        names.append(name)
    return tuple(names)


# --- evaluate ----------------------------------------------------------------------------------


@dataclass(eq=False)
class Evaluation:
    """What :func:`evaluate` produced (the same as the files in ``out``)."""

    study: StudyConfig
    out: Path
    results: list[dict[str, Any]]
    """One row per run, as in ``results.parquet``."""
    summary: list[SummaryRow]
    failures: list[dict[str, Any]]
    """Runs that failed: key, policy, weekday, seed, attempts, error."""
    records: list[RunRecord]
    """Records of the finished runs, in grid order."""
    resumed: int = 0
    """Runs skipped because a finished record was found (``resume=True``)."""

    def means(self) -> dict[str, dict[str, float]]:
        """Mean of every metric per policy (what the terminal table shows)."""
        out: dict[str, dict[str, float]] = {}
        for row in self.summary:
            out.setdefault(row.policy, {})[row.metric] = row.mean
        return out

    def regenerate_command(
        self, report_hour: int | None = None, correction: CorrectionMapConfig | None = None
    ) -> str:
        """The ``v1d3 evaluate`` command line that regenerates ``out`` (:func:`study_command`)."""
        return study_command(self.study, self.out, report_hour, correction)


def _validate_policies(study: StudyConfig) -> None:
    """Build every policy once, so missing models or bad names fail before anything runs."""
    models = Path(study.models) if study.models else None
    seen: set[str] = set()
    for cfg in study.runs():
        if cfg.policy in seen:
            continue
        seen.add(cfg.policy)
        disp = make_dispatch(cfg.dispatch, models, study.scenario, **cfg.dispatch_params)
        make_reposition(
            cfg.reposition, models, study.scenario, dispatch=disp, **cfg.reposition_params
        )
    if study.sim.managed_drivers is not None:
        # a count of managed drivers is checked against a drawn fleet: the first day's, so
        # that a count above every day's fleet is a bad input before anything runs (one above
        # a later, smaller day's fleet fails that day's runs)
        first = study.runs()[0]
        build_scenario(first.scenario, first.sim, first.seed)


def _run_all(
    tasks: list[Task],
    out: Path,
    study: StudyConfig,
    resume: bool,
    executor: Executor,
    runner: Callable[[RunConfig], RunRecord],
    emit: Event,
) -> tuple[dict[str, RunRecord], list[dict[str, Any]], int]:
    """Write ``study.json``, reuse finished records (``resume``), run the rest and write their
    records. Returns the records by key, the failures and how many runs were reused."""
    records: dict[str, RunRecord] = {}
    failures: list[dict[str, Any]] = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        doc = {"kind": STUDY_KIND, "v1d3_version": __version__, "study": study.to_dict()}
        atomic_write_text(out / STUDY_FILE, json_text(doc, str(out / STUDY_FILE), indent=2) + "\n")
        todo = []
        for t in tasks:
            rec = _finished(out / "runs" / t.key, t.arg) if resume else None
            if rec is None:
                todo.append(t)
            else:
                records[t.key] = rec
                emit("skip", t, "finished earlier")
        for res in execute(executor, runner, todo, emit):
            if res.ok:
                rec = res.value
                rec.attempts = res.attempts
                write_record(rec, out / "runs" / res.task.key)
                records[res.task.key] = rec
            else:
                cfg: RunConfig = res.task.arg
                failures.append(
                    {
                        "key": res.task.key,
                        "policy": cfg.policy,
                        "weekday": cfg.scenario.weekday,
                        "seed": cfg.seed,
                        "attempts": res.attempts,
                        "error": res.error,
                    }
                )
    except BaseException:  # interrupted (Ctrl-C, SIGTERM) or failed: end the runs in flight
        executor.close(kill=True)
        raise
    executor.close()
    return records, failures, len(tasks) - len(todo)


def _result_rows(
    tasks: list[Task], records: dict[str, RunRecord], failures: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[str]]:
    """One row per run, as in ``results.parquet``, and the metric columns: :data:`METRIC_KEYS`
    and then the scalar metrics some policies add, in the order the records first have them."""
    metric_keys = list(METRIC_KEYS)
    for t in tasks:
        got = records[t.key].metrics if t.key in records else {}
        metric_keys += [k for k in got if k not in metric_keys and not isinstance(got[k], dict)]
    failed_by_key = {f["key"]: f for f in failures}
    rows: list[dict[str, Any]] = []
    for t in tasks:
        cfg = t.arg
        row: dict[str, Any] = {
            "policy": cfg.policy,
            "dispatch": cfg.dispatch,
            "reposition": cfg.reposition,
            "weekday": cfg.scenario.weekday,
            "seed": cfg.seed,
        }
        if t.key in records:
            row.update(status="ok", error=None)
            got = records[t.key].metrics
            # keys some policies add (agent_fault_count) count 0 for the others
            row.update({k: got.get(k, None if k in METRIC_KEYS else 0) for k in metric_keys})
        else:
            err = failed_by_key.get(t.key, {}).get("error", "not run")
            row.update(status="failed", error=err)
            row.update({k: None for k in metric_keys})
        rows.append(row)
    return rows, metric_keys


def _results_table(rows: list[dict[str, Any]], metric_keys: Sequence[str]) -> pa.Table:
    cols: dict[str, pa.Array] = {
        "policy": pa.array([r["policy"] for r in rows], pa.string()),
        "dispatch": pa.array([r["dispatch"] for r in rows], pa.string()),
        "reposition": pa.array([r["reposition"] for r in rows], pa.string()),
        "weekday": pa.array([r["weekday"] for r in rows], pa.int64()),
        "seed": pa.array([r["seed"] for r in rows], pa.int64()),
        "status": pa.array([r["status"] for r in rows], pa.string()),
        "error": pa.array([r["error"] for r in rows], pa.string()),
    }
    for k in metric_keys:
        typ = pa.int64() if k in _INT_METRICS else pa.float64()
        cols[k] = pa.array([r.get(k) for r in rows], typ)
    return pa.table(cols)


def _write_parquet(table: pa.Table, path: Path) -> None:
    with atomic_file(path) as tmp:
        pq.write_table(table, tmp)


def evaluate(
    study: StudyConfig,
    out: Path | str,
    *,
    backend: str = "local",
    workers: int = 1,
    address: str | None = None,
    resume: bool = False,
    report: bool = True,
    report_hour: int | None = None,
    correction: CorrectionMapConfig | None = None,
    command: str | None = None,
    progress: Event | None = None,
    runner: Callable[[RunConfig], RunRecord] = run_record,
) -> Evaluation:
    """Run every policy of ``study`` on every (weekday, seed) and write the study folder ``out``.

    Everything that can be wrong with the inputs (names, an empty grid, the baseline, an output
    folder holding a different study, an unreachable Ray address) raises a
    :class:`~v1d3.errors.V1D3Error` before anything is written. A run that raises or whose
    worker dies is retried once, then listed in ``failures`` while the other runs are kept.

    ``resume=True`` reuses every finished record whose config matches and runs the rest.
    ``progress(kind, task, detail)`` hears ``skip``, ``start``, ``retry``, ``done`` and
    ``failed`` for each run. ``runner`` (picklable) maps a :class:`RunConfig` to its
    :class:`RunRecord`; the default simulates it. ``correction`` chooses the online correction
    the report maps (its policy must be one of the study's).
    """
    out = Path(out)
    if report_hour is not None and not 0 <= report_hour <= 23:
        raise ConfigError(f"report_hour: expected an hour 0..23, got {report_hour}")
    correction = correction or CorrectionMapConfig()
    if correction.correction_policy not in (None, *study.policies):
        raise ConfigError(
            f"correction_policy: {correction.correction_policy!r} is not one of the study's "
            f"policies ({', '.join(study.policies)})"
        )
    check_study_folder(out, study, resume)
    check_scenario_shocks(study.scenario)
    _validate_policies(study)
    tasks = [Task(run_key(c), run_name(c), c) for c in study.runs()]
    if len({t.key for t in tasks}) != len(tasks):
        raise ConfigError("policies: two policies map to the same run folder name")
    executor = make_executor(backend, workers, address)
    # -- nothing was written up to here
    emit = progress or (lambda kind, task, detail: None)
    records, failures, resumed = _run_all(tasks, out, study, resume, executor, runner, emit)
    # -- tables
    rows, metric_keys = _result_rows(tasks, records, failures)
    _write_parquet(_results_table(rows, metric_keys), out / "results.parquet")
    summary = summarise(rows, metric_keys, study.baseline, study.policies)
    atomic_write_text(out / "summary.csv", summary_csv(summary))
    text = json_text(failures, str(out / "failures.json"), indent=2)
    atomic_write_text(out / "failures.json", text + "\n")
    ordered = [records[t.key] for t in tasks if t.key in records]
    ev = Evaluation(
        study=study,
        out=out,
        results=rows,
        summary=summary,
        failures=failures,
        records=ordered,
        resumed=resumed,
    )
    if report:
        command = command or ev.regenerate_command(report_hour, correction)
        write_report(
            ev, out / "report.html", hour=report_hour, command=command, correction=correction
        )
    return ev
