"""``v1d3 export-agent`` and ``v1d3 kdd-grid``, and the ``--agent`` options of simulate/evaluate.

``export-agent`` writes a KDD Cup 2020 submission folder that runs V1D3 policies;
``kdd-grid`` writes a scenario's city as a KDD hexagon grid table (and, on request, its day of
orders as a KDD orders file), so KDD tools and agents see our cities in their own format.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from v1d3.cli import common as c
from v1d3.cli.paths import PathValue
from v1d3.demand.config import ScenarioConfig
from v1d3.errors import ConfigError
from v1d3.kddcup.submission import AgentConfig, resolve_python
from v1d3.options import config_options, field_doc

__all__ = ["register", "AgentPath", "AgentSpecs", "AgentPythons", "agent_config"]

AgentPath = Annotated[
    Path | None,
    typer.Option(
        "--agent",
        help="KDD Cup 2020 submission folder (agent.py with Agent) deciding dispatch and "
        "repositioning instead of --dispatch/--reposition.",
    ),
]
AgentSpecs = Annotated[
    list[str] | None,
    typer.Option(
        "--agent",
        help="KDD Cup 2020 agent as NAME=PATH (a submission folder); repeat for several.",
    ),
    PathValue(after="="),
]
AgentPythons = Annotated[
    list[str] | None,
    typer.Option(
        "--agent-python",
        help=f"{field_doc(AgentConfig, 'python')} As PYTHON for every agent, or NAME=PYTHON for "
        "one (repeatable).",
    ),
]


def agent_config(options: c.GivenOptions, agent_given: bool) -> AgentConfig:
    """The agent config the ``--agent-*`` options set (its interpreter resolved to an absolute
    path). ConfigError when it is set but there is no ``--agent`` to run with it."""
    cfg = options.build(AgentConfig)
    if not agent_given:
        for o in config_options(AgentConfig):
            if getattr(cfg, o.field) != o.default:
                raise ConfigError(f"{o.flag}: an option of agent runs; give --agent too")
    return dataclasses.replace(cfg, python=resolve_python(cfg.python))


@c.scenario_options(
    skip=(
        "weekday", "orders", "drivers", "fleet_scale", "date", "kdd_orders", "shock",
        "random_shocks",
    )
)  # fmt: skip
def export_agent(
    out_dir: Annotated[
        Path,
        typer.Argument(help="Submission folder to write (an existing exported agent is replaced)."),
    ],
    dispatch: Annotated[str, typer.Option(help="Dispatch policy (see `v1d3 policies`).")] = (
        "distance"
    ),
    reposition: Annotated[str, typer.Option(help="Repositioning policy.")] = "stay",
    model: Annotated[
        list[Path] | None,
        typer.Option(
            "--model",
            "--models",
            help="Model file or folder the policies load, copied into the submission (repeatable).",
        ),
    ] = None,
    *,
    configs: c.Configs,
) -> None:
    """Write a KDD Cup 2020 submission folder whose agent.py runs V1D3 policies.

    The scenario options name the city and platform the agent will decide on; run it back with
    `v1d3 simulate --agent OUT_DIR` on the same scenario.
    """
    from v1d3.kddcup.export import export_agent as export

    sc, sim = configs
    out = export(dispatch, reposition, model or None, out_dir, scenario=sc, sim=sim)
    c.console.print(
        f"wrote {out}/ (agent.py: dispatch {dispatch}, reposition {reposition}); "
        f"run it: v1d3 simulate --scenario {sc.name} --agent {out}"
    )


_GRID_OPTIONS = (
    "scenario",
    "weekday",
    "orders",
    "h3_resolution",
    "date",
    *(o.name for o in config_options(ScenarioConfig) if len(o.path) > 1),
)
"""What shapes a scenario's city and its day of orders: the scenario, the day and volume, the H3
resolution, and every per-source option (``--synthetic-*``, ``--grid``, ``--trips``, ...)."""


@c.scenario_options(only=_GRID_OPTIONS)
def kdd_grid(
    out: Annotated[Path, typer.Argument(help="Grid table to write (CSV, no header).")],
    orders_out: Annotated[
        Path | None,
        typer.Option(help="Also write the scenario's day of orders as a KDD orders file."),
    ] = None,
    seed: c.Seed = 0,
    *,
    configs: c.Configs,
) -> None:
    """Write a scenario's city as a KDD Cup 2020 hexagon grid table (grid_id + 6 lng,lat).

    Unusable input rows (of --grid, --kdd-orders or trip records) are dropped and counted by
    reason in the summary line.
    """
    from v1d3.files import check_output_path
    from v1d3.kddcup.export import scenario_day
    from v1d3.kddcup.grid import write_grid
    from v1d3.kddcup.kdd_source import reference_epoch, write_kdd_orders
    from v1d3.sim.scenario import build_scenario

    # every output path is checked before anything is built or written
    sc, sim = configs
    inputs = [p for p in (sc.kdd.grid, sc.kdd.orders, sc.nyc_tlc.trips) if p]
    check_output_path(out, "file", inputs=inputs)
    if orders_out is not None:
        check_output_path(orders_out, "file", label="orders_out", inputs=inputs)
        if orders_out.resolve() == out.resolve():
            c.fail(f"orders_out: {orders_out} is also the grid table; choose another file")
    if orders_out is None:
        src = scenario_day(sc)
        n = write_grid(src.city, out)
        dropped = c.dropped_summary(dict(sorted(src.orders.drop_reasons.items())))
        c.console.print(f"wrote {out}: {n} cells; {dropped}", soft_wrap=True)
        return
    day = build_scenario(sc, sim, seed)
    n = write_grid(day.city, out)
    epoch = day.epoch_s if day.epoch_s else float(reference_epoch(day.weekday))
    k = write_kdd_orders(orders_out, day.orders, epoch)
    c.console.print(
        f"wrote {out}: {n} cells; {orders_out}: {k} orders (weekday {day.weekday}); "
        f"{c.dropped_summary(dict(sorted(day.orders.drop_reasons.items())))}",
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    app.command("export-agent")(export_agent)
    app.command("kdd-grid")(kdd_grid)
