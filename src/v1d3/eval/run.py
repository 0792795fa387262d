"""One simulation run: config in, run folder out (config, metrics, logs), written atomically.

The config (:class:`~v1d3.eval.config.RunConfig`) lives in :mod:`v1d3.eval.config`.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from v1d3.dispatch.base import DispatchPolicy
from v1d3.errors import ConfigError
from v1d3.eval.config import RUN_CONFIG, RunConfig, save_config
from v1d3.eval.metrics import compute_metrics, metrics_by_hour
from v1d3.files import atomic_dir
from v1d3.policies import make_dispatch, make_reposition
from v1d3.policies.describe import describe
from v1d3.reposition.base import RepositionPolicy
from v1d3.sim.checker import check_run
from v1d3.sim.engine import Simulator
from v1d3.sim.log import RunLog
from v1d3.sim.scenario import Scenario, build_scenario
from v1d3.text_files import json_text

__all__ = [
    "RunResult",
    "limit_torch_threads",
    "run_simulation",
    "write_run",
]


@dataclass(eq=False)
class RunResult:
    """A finished run: its config, logs and metrics."""

    config: RunConfig
    log: RunLog
    metrics: dict[str, Any]
    policies: dict[str, Any] = field(default_factory=dict)
    """The constants the policies resolved to (:func:`v1d3.policies.describe.describe`)."""
    tables: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    """The tables the policies added (:meth:`~v1d3.rounds.RunReport.run_tables`), by name;
    :func:`write_run` writes each as ``<name>.parquet``."""


def run_simulation(
    cfg: RunConfig,
    scenario: Scenario | None = None,
    dispatch: DispatchPolicy | None = None,
    reposition: RepositionPolicy | None = None,
    progress: Callable[[float, int], None] | None = None,
    check: bool = True,
    torch_threads: int | None = 1,
) -> RunResult:
    """Run one day. Pass policy instances to plug in your own; otherwise names are looked up.

    The finished run's metrics and log meta also get the entries the policies add
    (:meth:`~v1d3.dispatch.base.DispatchPolicy.run_metrics`, ``run_meta``), and its
    ``tables`` the tables they add (``run_tables``); then both are closed (``close``: a KDD
    agent's process ends), also when the run fails.

    ``scenario`` may be given to reuse one built for the same (scenario config, seed).
    ``torch_threads``: torch's intra-op threads while the day runs
    (:func:`limit_torch_threads`); None leaves torch's own setting (one thread per core).
    With one thread a learned policy's sums run in one order on every machine, whatever its
    number of cores.
    """
    made: list[DispatchPolicy | RepositionPolicy] = [p for p in (dispatch, reposition) if p]
    try:  # the policies are closed however this ends (a scenario that fails to build too)
        if scenario is None:
            scenario = build_scenario(cfg.scenario, cfg.sim, cfg.seed)
        models = Path(cfg.models) if cfg.models else None
        if dispatch is None:
            dispatch = make_dispatch(cfg.dispatch, models, cfg.scenario, **cfg.dispatch_params)
            made.append(dispatch)
        if reposition is None:
            reposition = make_reposition(
                cfg.reposition, models, cfg.scenario, dispatch=dispatch, **cfg.reposition_params
            )
            made.append(reposition)
        policies = describe(dispatch=dispatch, reposition=reposition)
        with limit_torch_threads(torch_threads):
            log = Simulator(scenario, cfg.seed).run(dispatch, reposition, progress)
        if check:
            check_run(log).raise_if_failed()
        metrics = compute_metrics(log)
        for policy in (dispatch, reposition):  # what the policies add; the dispatch policy first
            for key, value in policy.run_metrics().items():
                metrics.setdefault(key, value)
            for key, value in policy.run_meta().items():
                log.meta.setdefault(key, value)
        tables = _policy_tables(dispatch, reposition)
    finally:
        for policy in made:
            policy.close()
    return RunResult(cfg, log, metrics, policies, tables)


_TABLE_NAME = re.compile(r"[a-z][a-z0-9_]*")
_RUN_FILES = frozenset((*RunLog.TABLES, "config", "policies", "metrics", "log_meta"))


def _policy_tables(*policies: Any) -> dict[str, dict[str, np.ndarray]]:
    """The tables the policies add, checked: a plain lower-case name that is not one of the run
    folder's own files and not given twice, columns of one length."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for policy in policies:
        for name, cols in policy.run_tables().items():
            what = f"{type(policy).__name__}.run_tables"
            if not _TABLE_NAME.fullmatch(name) or name in _RUN_FILES or name in out:
                raise ConfigError(f"{what}: table name {name!r} is not free in a run folder")
            if len({len(v) for v in cols.values()}) > 1:
                raise ConfigError(f"{what}: the columns of table {name!r} differ in length")
            out[name] = cols
    return out


@contextlib.contextmanager
def limit_torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with torch's intra-op thread pool at ``threads`` (None: as it is), then
    restore it. A learned policy's tensor work in one dispatch round is a few thousand rows: a
    pool of threads gains nothing on it and, on a machine whose cores are busy with other work,
    waits for them every round (docs/results/bench-busy.json). Nothing happens when torch was
    never imported (the baselines)."""
    torch = sys.modules.get("torch")
    if threads is None or torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _hourly_csv(log: RunLog) -> str:
    h = metrics_by_hour(log)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(list(h))
    for i in range(len(h["hour"])):
        w.writerow([round(float(h[k][i]), 6) if k != "hour" else int(h[k][i]) for k in h])
    return buf.getvalue()


def write_run(result: RunResult, out: Path) -> Path:
    """Write the run folder (atomically: a temporary folder renamed at the end). An existing
    folder is replaced only when it is empty or a run folder (it holds :data:`RUN_CONFIG`)."""
    with atomic_dir(Path(out), marker=RUN_CONFIG) as tmp:
        save_config(result.config, tmp / RUN_CONFIG)
        for name, doc in (("policies", result.policies), ("metrics", result.metrics)):
            text = json_text(doc, f"{name}.json", indent=2)
            (tmp / f"{name}.json").write_text(text + "\n", encoding="utf-8")
        (tmp / "metrics_by_hour.csv").write_text(_hourly_csv(result.log))
        result.log.write(tmp)
        for name, cols in result.tables.items():
            table = pa.table({k: pa.array(np.asarray(v)) for k, v in cols.items()})
            pq.write_table(table, tmp / f"{name}.parquet", compression="zstd")
    return Path(out)
