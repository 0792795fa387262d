"""``v1d3 evaluate``: policies side by side on identical demand, with intervals and a report."""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from v1d3.cli import common as c
from v1d3.cli.kdd import AgentPythons, AgentSpecs, agent_config
from v1d3.errors import ConfigError, V1D3Error
from v1d3.eval.backends import Task
from v1d3.eval.evaluate import Evaluation, default_policies, evaluate
from v1d3.eval.report import CorrectionMapConfig
from v1d3.eval.study import StudyConfig
from v1d3.kddcup.submission import AgentConfig, resolve_python
from v1d3.policies.models import packaged_models
from v1d3.policy_spec import split_top

__all__ = ["register", "parse_int_list"]


def parse_int_list(text: str, name: str) -> tuple[int, ...]:
    """``"0-4"``, ``"1,3,5"`` or ``"0-2,6"`` → the integers, in order, each once."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            vals = range(int(lo), int(hi) + 1) if sep else [int(part)]
        except ValueError:
            raise ConfigError(f"{name}: expected numbers like 0-4 or 1,3,5, got {text!r}") from None
        if not vals:
            raise ConfigError(f"{name}: the range {part!r} is empty (write it low-high)")
        out += [v for v in vals if v not in out]
    if not out:
        raise ConfigError(f"{name}: expected numbers like 0-4 or 1,3,5, got {text!r}")
    return tuple(out)


def _names(text: str | None) -> list[str]:
    """A comma-separated list of policies; commas inside a policy's brackets do not split it."""
    return [s.strip() for s in split_top(text or "", ",") if s.strip()]


class _Bar:
    """A progress bar over the runs that names the running ones (plain lines without a tty)."""

    def __init__(self, total: int) -> None:
        self.live = sys.stderr.isatty()
        self.running: list[str] = []
        self.bar: Progress | None = None
        if self.live:
            self.bar = Progress(
                TextColumn("evaluate", style="bold"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[running]}", markup=False),
                console=c.err_console,
                transient=True,
            )
            self.task = self.bar.add_task("runs", total=total, running="")
        self.done = 0
        self.total = total

    def __enter__(self) -> _Bar:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.stop()

    def _show(self) -> None:
        if self.bar is not None:
            more = f" (+{len(self.running) - 1})" if len(self.running) > 1 else ""
            label = f"{self.running[0]}{more}" if self.running else ""
            self.bar.update(self.task, completed=self.done, running=label)

    def __call__(self, kind: str, task: Task, detail: str) -> None:
        if kind == "start":
            self.running.append(task.name)
        elif task.name in self.running:
            self.running.remove(task.name)
        if kind in ("done", "failed", "skip"):
            self.done += 1
        if kind in ("retry", "failed"):
            what = "retrying" if kind == "retry" else "failed"
            c.err_console.print(
                c.styled(f"{task.name}: {what}", "yellow", f" ({detail})"), soft_wrap=True
            )
        elif not self.live and kind in ("done", "skip"):
            note = " (finished earlier)" if kind == "skip" else ""
            c.err_console.print(
                f"[{self.done}/{self.total}] {task.name}{note}", highlight=False, soft_wrap=True
            )
        self._show()


@c.options_of("agent_options", AgentConfig, skip=("agent_python",))  # per agent: --agent-python
@c.options_of("correction", CorrectionMapConfig)
@c.scenario_options(skip=("weekday",))
def evaluate_command(
    out: Annotated[Path, typer.Option(help="Study folder to write.")] = Path("runs/evaluate"),
    dispatch: Annotated[
        str | None,
        typer.Option(
            help="Dispatch policies, comma-separated, each optionally with parameters in "
            "brackets, v1d3[omega=0.5] (default: fcfs,nearest,distance,fare plus every "
            "value-based policy whose models are found)."
        ),
    ] = None,
    reposition: Annotated[
        str, typer.Option(help="Repositioning policies, comma-separated.")
    ] = "stay",
    policies: Annotated[
        str | None,
        typer.Option(
            help="Exact dispatch/reposition pairs, comma-separated (instead of every "
            "--dispatch × --reposition combination)."
        ),
    ] = None,
    weekdays: Annotated[
        str, typer.Option(help="Days of week, Monday = 0: e.g. 0-4 or 1,3,5.")
    ] = "2",
    seeds: Annotated[int, typer.Option(help="Seeds per weekday.")] = 1,
    first_seed: Annotated[int, typer.Option(help="First seed (seeds are consecutive).")] = 0,
    seed_list: Annotated[
        str | None, typer.Option(help="Explicit seeds, e.g. 3,7,11 (instead of --seeds).")
    ] = None,
    baseline: Annotated[
        str, typer.Option(help="Policy the others are compared with (dispatch/reposition).")
    ] = "distance/stay",
    backend: Annotated[str, typer.Option(help="Where runs execute: local or ray.")] = "local",
    address: Annotated[
        str | None,
        typer.Option(help="Ray cluster to join: auto or host:port (default: start a local Ray)."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Parallel runs (local processes, or CPUs of a local Ray; default: "
            "the machine's cores, at most one per run)."
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            help="Reuse finished runs in --out and run only the missing ones; may add policies, "
            "weekdays or seeds, never change a scenario or simulation setting."
        ),
    ] = False,
    report_hour: Annotated[
        int | None, typer.Option(help="Hour the report's map opens on (default: the peak hour).")
    ] = None,
    models: c.Models = None,
    agent: AgentSpecs = None,
    agent_python: AgentPythons = None,
    *,
    configs: c.Configs,
    correction: c.GivenOptions,
    agent_options: c.GivenOptions,
) -> None:
    """Run policies side by side on identical demand (every weekday × seed) and write
    results.parquet, summary.csv and report.html. Exit code 1 when some runs failed."""
    try:
        report_map = correction.build(CorrectionMapConfig)
        study = _study(
            configs, dispatch, reposition, policies, weekdays, seeds, first_seed, seed_list,
            baseline, models, agent or [], agent_config(agent_options, bool(agent)),
            agent_python or [],
        )  # fmt: skip
        n_runs = len(study.policies) * len(study.weekdays) * len(study.seeds)
        n_workers = workers if workers is not None else max(1, min(os.cpu_count() or 1, n_runs))
        with _Bar(n_runs) as bar:
            ev = evaluate(
                study,
                out,
                backend=backend,
                workers=n_workers,
                address=address,
                resume=resume,
                report_hour=report_hour,
                correction=report_map,
                progress=bar,
            )
    except V1D3Error as e:
        c.fail(str(e))
        return
    _print_outcome(ev, out)


def _study(
    configs: c.Configs,
    dispatch: str | None,
    reposition: str,
    policies: str | None,
    weekdays: str,
    seeds: int,
    first_seed: int,
    seed_list: str | None,
    baseline: str,
    models: str | None,
    agent: list[str],
    agent_cfg: AgentConfig,
    agent_python: list[str],
) -> StudyConfig:
    """The study the evaluate options describe (ConfigError when they do not make one)."""
    days = parse_int_list(weekdays, "weekdays")
    if seed_list is not None:
        seed_values = parse_int_list(seed_list, "seed-list")
    else:
        if seeds < 1:
            raise ConfigError(f"seeds: expected at least 1 seed per weekday, got {seeds}")
        seed_values = tuple(range(first_seed, first_seed + seeds))
    sc, sim = configs  # the weekday is replaced by each of the study's weekdays
    models_dir = models
    if models_dir is None:
        found = packaged_models()
        models_dir = str(found) if found is not None else None
    if policies is not None:
        pairs = _names(policies)
    else:
        ds = (
            _names(dispatch)
            if dispatch is not None
            else list(default_policies(Path(models_dir) if models_dir else None, sc))
        )
        pairs = [f"{d}/{r}" for d in ds for r in _names(reposition)]
    from v1d3.kddcup.runner import agent_policy_name, parse_agent_option

    agents = dict(parse_agent_option(a) for a in agent)
    shared, pythons = _agent_pythons(agent_python, agents)
    for name in agents:
        p = f"{agent_policy_name(name)}/{agent_policy_name(name)}"
        if p not in pairs:
            pairs.append(p)
    return StudyConfig(
        policies=tuple(pairs),
        weekdays=days,
        seeds=seed_values,
        baseline=baseline,
        scenario=sc,
        sim=sim,
        models=models_dir,
        agents=agents,
        agent=dataclasses.replace(agent_cfg, python=shared),
        agent_python=pythons,
    )


def _agent_pythons(given: list[str], agents: dict[str, str]) -> tuple[str | None, dict[str, str]]:
    """``--agent-python`` values: the interpreter of every agent (a bare PYTHON) and those of
    single agents (NAME=PYTHON), each resolved to an absolute path."""
    shared: str | None = None
    pythons: dict[str, str] = {}
    for spec in given:
        name, sep, python = spec.partition("=")
        if not sep:
            shared = resolve_python(spec)
            continue
        if name not in agents:
            raise ConfigError(f"--agent-python {spec}: {name!r} is not one of the --agent names")
        pythons[name] = str(resolve_python(python))
    if (shared or pythons) and not agents:
        raise ConfigError("--agent-python: an option of agent runs; give --agent too")
    return shared, pythons


def _print_outcome(ev: Evaluation, out: Path) -> None:
    """The means table, the reused and failed runs and the files written (exit 1 on failures)."""
    study = ev.study
    title = (
        f"{study.scenario.name}: mean of {len(study.weekdays)} weekday(s) × "
        f"{len(study.seeds)} seed(s)"
    )
    c.console.print(c.metrics_table(ev.means(), title=title))
    if ev.resumed:
        c.console.print(f"{ev.resumed} run(s) reused from earlier (--resume)")
    for f in ev.failures:
        c.err_console.print(
            c.styled(
                "failed:",
                "bold red",
                f" {f['policy']} weekday {f['weekday']} seed {f['seed']} "
                f"after {f['attempts']} attempts: {f['error']}",
            ),
            soft_wrap=True,
        )
    c.console.print(
        f"wrote {out}/results.parquet, {out}/summary.csv, {out}/report.html",
        highlight=False,
        soft_wrap=True,
    )
    if ev.failures:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate_command)
