"""Command: ``v1d3 train`` — learn a value function offline and write it into a models folder.

``--method cvnet`` writes ``<out>/cvnet.pt`` (used by the ``cvnet`` and ``v1d3`` dispatch
policies and by ``value`` repositioning); ``--method tabular-td`` writes ``<out>/tabular-td.pt``;
``--method prior`` writes ``<out>/v1d3-prior.npz``, the correction ``v1d3`` learns online
averaged over ``--days`` simulated historical days, with the ``cvnet.pt`` already in ``<out>``
(:mod:`v1d3.value.prior`); ``--method ospo`` / ``grpo`` write ``<out>/ospo.pt`` / ``grpo.pt``,
critic-free pair scorers learned by rolling out ``--days`` simulated days with the policy as it
learns (seeds ``seed, seed+1, …``; in local processes or as Ray tasks, ``--backend``), options
the fields of :class:`PolicyTrainConfig` and :class:`ScorerConfig` (docs/method.md §13).
Historical days are simulated with the ``--behaviour`` dispatch policy on seeds ``seed, seed+1,
…`` (weekdays cycling Monday–Friday; ``--scenario kdd --kdd-orders`` files or a folder: their
dates in turn), unless ``--trajectories`` gives event logs to learn from (run folders on their
own scenario). The days learned from are printed and kept in the model's ``days``.
The learner's options are the fields of :class:`OfflineTrainConfig` and :class:`CVNetConfig`
(:func:`v1d3.cli.common.options_of`); ``--seed`` also seeds the weights and minibatch order.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from v1d3.cli import common as c
from v1d3.demand.config import ScenarioConfig
from v1d3.errors import V1D3Error
from v1d3.learn.config import OfflineTrainConfig
from v1d3.ospo.config import METHODS as POLICY_METHODS
from v1d3.ospo.config import PolicyTrainConfig, ScorerConfig
from v1d3.sim.config import SimConfig
from v1d3.value.cvnet import CVNetConfig

METHODS = ("cvnet", "tabular-td", "prior", *POLICY_METHODS)

StageProgress = Callable[[str, int, int, "float | None"], None]


def _log_updates(stage: str, done: int, total: int, loss: float | None) -> None:
    """Without a terminal: one line on stderr per ``update`` of ospo/grpo (they take minutes
    each, so a log shows how far training is); the other stages stay quiet."""
    if stage == "update" and loss is not None:
        print(f"update {done}/{total}: income/day {loss:,.0f}", file=sys.stderr, flush=True)


@contextmanager
def _progress(enabled: bool = True) -> Iterator[StageProgress]:
    """A progress bar per stage (``simulate`` days, ``fit`` steps, ``update``s of ospo/grpo)
    showing the latest loss (the rolled-out days' mean income for an ``update``)."""
    if not enabled or not sys.stderr.isatty():
        yield _log_updates
        return
    with Progress(
        TextColumn("[bold]{task.description:<8}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[loss]}"),
        TimeElapsedColumn(),
        console=c.err_console,
    ) as bar:
        tasks: dict[str, object] = {}

        def update(stage: str, done: int, total: int, loss: float | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total, loss="-")
            if loss is None:
                text = "-"
            elif stage == "update":  # ospo/grpo: the mean income of the update's rollout days
                text = f"income/day {loss:,.0f}"
            else:
                text = f"loss {loss:.4g}"
            bar.update(tasks[stage], completed=done, total=total, loss=text)  # type: ignore[arg-type]

        yield update


@c.scenario_options(skip=("managed_share", "managed_drivers"))
@c.options_of("learner", OfflineTrainConfig, CVNetConfig, skip=("seed",))  # seed: --seed's
@c.options_of("policy", PolicyTrainConfig, ScorerConfig, skip=("seed", "device"))  # the above's
def train(
    method: Annotated[
        str, typer.Option(help="What to learn: cvnet, tabular-td, prior, ospo or grpo.")
    ] = "cvnet",
    days: Annotated[
        int, typer.Option(help="Historical days to simulate (cvnet holds the last one out).")
    ] = 20,
    seed: Annotated[
        int, typer.Option(help="Seed of the first historical day (then +1, +2, …).")
    ] = 1000,
    out: Annotated[Path, typer.Option(help="Models folder to write the model file into.")] = Path(
        "models"
    ),
    trajectories: Annotated[
        Path | None,
        typer.Option(help="Learn from event logs instead: a parquet file or a folder of runs."),
    ] = None,
    behaviour: Annotated[
        str, typer.Option(help="Dispatch policy that generates the historical days.")
    ] = "distance",
    bucket_s: Annotated[
        float, typer.Option(help="tabular-td: time-bucket length, seconds.")
    ] = 600.0,
    backend: Annotated[
        str, typer.Option(help="ospo/grpo: where the rollout days run: local or ray.")
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(help="ospo/grpo: Ray cluster to join (default: start a local Ray)."),
    ] = None,
    workers: Annotated[
        int, typer.Option(help="ospo/grpo: rollout days run at once (processes or Ray CPUs).")
    ] = 2,
    *,
    learner: c.GivenOptions,
    policy: c.GivenOptions,
    configs: c.Configs,
) -> None:
    """Learn a value function offline (cvnet, tabular-td), v1d3's prior correction (prior) or a
    critic-free dispatcher (ospo, grpo) and write it into a models folder."""
    try:
        if method not in METHODS:
            c.fail(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
        sc, sim = configs
        if method in POLICY_METHODS:
            unused = {
                "trajectories": trajectories is not None,
                "behaviour": behaviour != "distance",
                "bucket-s": bucket_s != 600.0,
            }
            for name, given in unused.items():
                if given:
                    c.fail(f"--{name}: not used by --method {method} (it learns by dispatching)")
            train_cfg = policy.build(
                PolicyTrainConfig, seed=seed, device=learner.get("device") or "auto"
            )
            path = _train_policy(
                method,
                sc,
                sim,
                days,
                seed,
                out,
                train_cfg,
                policy.build(ScorerConfig),
                backend,
                address,
                workers,
            )
        elif method == "prior":
            unused = {
                "trajectories": trajectories is not None,
                "behaviour": behaviour != "distance",
                "bucket-s": bucket_s != 600.0,
                "backend": backend != "local",
            }
            for name, given in unused.items():
                if given:
                    c.fail(f"--{name}: not used by --method prior (it simulates v1d3 days)")
            path = _train_prior(sc, sim, days, seed, out)
        elif method == "cvnet":
            path = _train_cvnet(
                sc,
                sim,
                days,
                seed,
                behaviour,
                trajectories,
                out,
                learner.build(OfflineTrainConfig, seed=seed),
                learner.build(CVNetConfig),
            )
        else:
            gamma, unit_s = learner["gamma"], learner["time_unit_s"]
            path = _train_tabular(
                sc, sim, days, seed, behaviour, trajectories, out, bucket_s, gamma, unit_s
            )
    except V1D3Error as e:
        c.fail(str(e))
    c.console.print(f"wrote {path}")


def _print_days(meta: dict[str, Any], sc: ScenarioConfig, trajectories: Path | None) -> None:
    """What the model learned from: its scenario and days (the checkpoint's metadata)."""
    from v1d3.learn.train import days_summary

    name = meta.get("scenario")
    mine = trajectories is not None and name != sc.name
    whose = " (the run folders' scenario, from their config.json)" if mine else ""
    c.console.print(f"learned on {name}{whose}, {days_summary(meta['days'])}", soft_wrap=True)


def _train_cvnet(
    sc: ScenarioConfig,
    sim: SimConfig,
    days: int,
    seed: int,
    behaviour: str,
    trajectories: Path | None,
    out: Path,
    cfg: OfflineTrainConfig,
    net_cfg: CVNetConfig,
) -> Path:
    from v1d3.learn.train_neural import train_cvnet_from_scenario
    from v1d3.value.checkpoint import load_checkpoint

    with _progress() as bar:
        path = train_cvnet_from_scenario(
            sc,
            sim,
            days,
            seed,
            behaviour=behaviour,
            trajectories=trajectories,
            out=out,
            progress=lambda step, total, loss: bar("fit", step, total, loss),
            train_cfg=cfg,
            net_cfg=net_cfg,
            day_progress=lambda done, total: bar("simulate", done, total, None),
        )
    _, meta = load_checkpoint(path)
    _print_days(meta, sc, trajectories)
    hist = meta.get("history", [])
    if hist:
        best = min(hist, key=lambda h: h["held_out_td_error"])
        c.console.print(
            f"cvnet: {len(hist)} epochs, best held-out TD error {best['held_out_td_error']:.4g} "
            f"(epoch {int(best['epoch'])}), {meta['transitions']['train']:,} transitions, "
            f"{max(h['transitions_per_s'] for h in hist):,.0f} transitions/s"
        )
    return path


def _train_prior(sc: ScenarioConfig, sim: SimConfig, days: int, seed: int, out: Path) -> Path:
    import numpy as np

    from v1d3.learn.prior import learn_prior
    from v1d3.learn.train import days_summary
    from v1d3.value.checkpoint import CVNET_FILE
    from v1d3.value.prior import PRIOR_FILE, file_sha256, save_prior

    if not (out / CVNET_FILE).is_file():
        c.fail(f"--method prior learns with {out / CVNET_FILE}: train it first (--method cvnet)")
    with _progress() as bar:
        prior, labels, meta = learn_prior(
            sc, sim, days, seed, out, on_day=lambda done, total: bar("simulate", done, total, None)
        )
    path = out / PRIOR_FILE
    save_prior(path, prior, labels, len(meta), file_sha256(out / CVNET_FILE))
    c.console.print(f"learned on {sc.name}, {days_summary(meta)}", soft_wrap=True)
    c.console.print(
        f"prior: mean |correction| {np.abs(prior).mean():.3g} over 24 h x {len(labels)} cells"
    )
    return path


def _train_tabular(
    sc: ScenarioConfig,
    sim: SimConfig,
    days: int,
    seed: int,
    behaviour: str,
    trajectories: Path | None,
    out: Path,
    bucket_s: float,
    gamma: float,
    time_unit_s: float,
) -> Path:
    from v1d3.learn.train import train_tabular
    from v1d3.value.base import Discount
    from v1d3.value.checkpoint import load_checkpoint

    with _progress() as bar:
        path = train_tabular(
            sc,
            sim,
            days,
            seed,
            behaviour=behaviour,
            trajectories=trajectories,
            out=out,
            progress=bar,
            bucket_s=bucket_s,
            discount=Discount(gamma, time_unit_s),
        )
    _print_days(load_checkpoint(path)[1], sc, trajectories)
    return path


def _train_policy(
    method: str,
    sc: ScenarioConfig,
    sim: SimConfig,
    days: int,
    seed: int,
    out: Path,
    cfg: PolicyTrainConfig,
    scorer: ScorerConfig,
    backend: str,
    address: str | None,
    workers: int,
) -> Path:
    from v1d3.ospo.train import train_pair_scorer
    from v1d3.value.checkpoint import load_checkpoint

    if workers < 1:
        c.fail(f"workers must be >= 1, got {workers}")
    with _progress() as bar:
        path = train_pair_scorer(
            method,
            sc,
            sim,
            days,
            seed,
            out,
            cfg,
            scorer,
            backend=backend,
            workers=workers,
            address=address,
            progress=lambda done, total, income: bar("update", done, total, income),
        )
    _, meta = load_checkpoint(path)
    hist = meta["history"]
    c.console.print(
        f"{method}: {len(hist)} updates on {len(meta['days'])} days (seeds {seed}.."
        f"{seed + days - 1}), income per rolled-out day {hist[0]['income']:,.0f} → "
        f"{hist[-1]['income']:,.0f}, {max(h['pair_scores_per_s'] for h in hist):,.0f} pair "
        "scores/s learning"
    )
    return path


def register(app: typer.Typer) -> None:
    app.command()(train)
