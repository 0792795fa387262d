"""Commands: simulate, scenarios, policies, check, convert-trips."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any

import typer

from v1d3.cli import common as c
from v1d3.cli.kdd import AgentPath, agent_config
from v1d3.cli.paths import absolute_fields
from v1d3.demand.registry import SCENARIOS
from v1d3.eval.config import RUN_CONFIG, RunConfig, load_config
from v1d3.eval.run import run_simulation, write_run
from v1d3.files import absolute, check_output_path
from v1d3.kddcup.adapter import AGENT_POLICY
from v1d3.kddcup.submission import AgentConfig
from v1d3.policies import DISPATCH, REPOSITION
from v1d3.policy_spec import parse_name
from v1d3.sim.checker import check_folder


@c.options_of("agent_options", AgentConfig)
@c.scenario_options()
def simulate(
    out: Annotated[
        Path, typer.Option(help="Run folder to write (an existing run folder is replaced).")
    ] = Path("runs/simulate"),
    config: Annotated[
        Path | None,
        typer.Option(help="Reproduce a run from its config.json (other options ignored)."),
    ] = None,
    dispatch: Annotated[
        str, typer.Option(help="Dispatch policy (see `v1d3 policies`).")
    ] = "distance",
    reposition: Annotated[str, typer.Option(help="Repositioning policy.")] = "stay",
    seed: c.Seed = 0,
    models: c.Models = None,
    agent: AgentPath = None,
    dispatch_url: Annotated[
        str | None,
        typer.Option(
            help="Dispatch by a running `v1d3 serve` at http://HOST:PORT (the policy remote, "
            "instead of --dispatch): the service decides and learns."
        ),
    ] = None,
    dispatch_token_file: Annotated[
        Path | None, typer.Option(help="The service's bearer token, for --dispatch-url.")
    ] = None,
    *,
    configs: c.Configs,
    agent_options: c.GivenOptions,
) -> None:
    """Simulate one day with one dispatch and one repositioning policy; write the run folder."""
    check_output_path(out, "folder", marker=RUN_CONFIG)  # before any work
    if config is not None:
        cfg = load_config(config)
    else:
        sc, sim = configs
        d, dp = parse_name(dispatch)
        r, rp = parse_name(reposition)
        cfg = RunConfig(
            scenario=sc,
            sim=sim,
            dispatch=d,
            reposition=r,
            seed=seed,
            models=models,
            dispatch_params=dp,
            reposition_params=rp,
        )
    if dispatch_url is not None:
        remote: dict[str, Any] = {"url": dispatch_url}
        if dispatch_token_file is not None:
            remote["token_file"] = str(dispatch_token_file)
        cfg = dataclasses.replace(cfg, dispatch="remote", dispatch_params=remote)
    how = agent_config(agent_options, agent is not None or config is not None)  # --config:
    # other options are ignored, these too
    if agent is not None:
        from v1d3.kddcup.runner import agent_run_config

        cfg = agent_run_config(cfg, agent, config=how)
    cfg = _absolute(cfg)
    label = f"{cfg.scenario.name} {cfg.policy} seed {cfg.seed}"
    with c.sim_progress(label, *cfg.scenario.window_s) as progress:
        result = run_simulation(cfg, progress=progress)
    write_run(result, out)
    c.console.print(c.metrics_table({cfg.policy: result.metrics}, title=label))
    if result.metrics.get("agent_fault_count"):
        c.err_console.print(
            f"agent faults contained: {result.metrics['agent_faults']} "
            f"(tracebacks: {out}/log_meta.json)",
            highlight=False,
            soft_wrap=True,
        )
    c.console.print(f"run folder: {out}  (reproduce: v1d3 simulate --config {out}/config.json)")


def _absolute(cfg: RunConfig) -> RunConfig:
    """``cfg`` with its paths absolute (those of a config.json or of a policy's parameters, which
    the options did not see): the scenario's files, the models folder, an agent's folder."""

    def params(name: str, given: dict[str, Any]) -> dict[str, Any]:
        if name.partition(":")[0] != AGENT_POLICY or not isinstance(given.get("path"), str):
            return given
        return {**given, "path": absolute(given["path"])}

    return dataclasses.replace(
        cfg,
        scenario=absolute_fields(cfg.scenario),
        models=absolute(cfg.models) if cfg.models else cfg.models,
        dispatch_params=params(cfg.dispatch, cfg.dispatch_params),
        reposition_params=params(cfg.reposition, cfg.reposition_params),
    )


def scenarios() -> None:
    """List the scenarios."""
    for name, source in SCENARIOS.items():
        c.console.print(c.styled(name, "bold", f": {source.describe()}"))


def policies() -> None:
    """List the dispatch and repositioning policies."""
    c.console.print("dispatch", style="bold")
    for name, f in DISPATCH.items():
        c.console.print(f"  {name}: {(f.__doc__ or '').strip().splitlines()[0]}", soft_wrap=True)
    c.console.print("reposition", style="bold")
    for name, g in REPOSITION.items():
        c.console.print(f"  {name}: {(g.__doc__ or '').strip().splitlines()[0]}", soft_wrap=True)


def check(run: Annotated[Path, typer.Argument(help="A run folder written by simulate.")]) -> None:
    """Check a finished run's invariants from its log files, and its metrics.json against them."""
    report = check_folder(run)
    if report.ok:
        c.console.print(f"{run}: all invariants hold")
        return
    for v in report.violations:
        c.err_console.print(f"{run}: {v}", highlight=False, soft_wrap=True)  # one line each
    raise typer.Exit(1)


def convert_trips(
    trips: Annotated[Path, typer.Argument(help="TLC trip-record parquet file (yellow or green).")],
    out: Annotated[Path, typer.Argument(help="Trajectory (event log) parquet file to write.")],
    date: Annotated[str | None, typer.Option(help="Only this day, YYYY-MM-DD.")] = None,
) -> None:
    """Convert real trip records into the trajectory log schema (for offline value learning).

    Unusable trip rows are dropped and counted by reason in the summary line.
    """
    from v1d3.demand.tlc import trips_to_events

    dropped = trips_to_events(trips, out, date=date)
    c.console.print(f"wrote {out}; {c.dropped_summary(dropped)}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command()(simulate)
    app.command()(scenarios)
    app.command()(policies)
    app.command()(check)
    app.command("convert-trips")(convert_trips)
