"""Offline training of a CVNet by TD(0) with a target network (Tang et al. 2019; docs/method.md §8).

:func:`train_cvnet` is the loop, readable top to bottom:

1. precompute, once, every transition's coarse-code row, time, discounted reward
   ``R_gamma(R, k)`` and next-state discount ``gamma^k`` (0 when the next state is terminal);
2. per minibatch: the target ``y = R_gamma + gamma^k V_target(s')`` from a frozen copy of the net,
   the loss ``(y − V(s))²`` (or the HL-Gauss cross-entropy against ``y`` projected on the value
   bins) plus ``lipschitz_weight · L_reg``, one Adam step; the copy is synced every
   ``target_sync_steps`` steps (DQN-style);
3. per epoch: the held-out day's mean squared TD error; training stops after ``patience`` epochs
   without improvement and returns the best net.

:func:`train_cvnet_from_scenario` generates the historical days with a behaviour policy (or reads
a trajectory file) and writes ``<out>/cvnet.pt``.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from v1d3.demand.config import ScenarioConfig
from v1d3.errors import ConfigError, DataError
from v1d3.files import check_output_path
from v1d3.geo.city import City
from v1d3.learn.config import OfflineTrainConfig
from v1d3.learn.train import simulate_history, trajectory_city, trajectory_day, trajectory_files
from v1d3.learn.transitions import Transitions, concat, transitions_from_events
from v1d3.sim.config import DAY_S, SimConfig
from v1d3.sim.log import read_events
from v1d3.value.base import discounted_reward
from v1d3.value.checkpoint import CVNET_FILE
from v1d3.value.cvnet import (
    CVNet,
    CVNetConfig,
    build_vocabulary,
    hl_gauss_target,
    save_cvnet,
)

__all__ = [
    "train_cvnet",
    "train_cvnet_from_scenario",
    "value_scale",
    "td_error",
    "Progress",
]

Progress = Callable[[int, int, float], None]
"""``progress(step, total_steps, loss)``: called every 10 minibatch steps and after each epoch
(``loss`` is the latest minibatch's fitting loss)."""


def value_scale(tr: Transitions, gamma: float, time_unit_s: float) -> float:
    """The unit values are learned in: the mean earning rate (reward per time unit over all
    transitions) times the discounted length of the future, ``1 / (1 − gamma)`` (capped at half a
    day for ``gamma`` = 1). 1.0 when the data earn nothing."""
    units = float(np.sum(np.maximum(tr.duration_s, 0.0))) / time_unit_s
    total = float(np.sum(tr.reward))
    if units <= 0 or total <= 0:
        return 1.0
    horizon = 0.5 * 86_400.0 / time_unit_s
    if gamma < 1.0:
        horizon = min(horizon, 1.0 / (1.0 - gamma))
    return total / units * horizon


@dataclass(frozen=True, eq=False)
class _Tensors:
    """Transitions as tensors on the training device: what each minibatch gathers from."""

    cell0: torch.Tensor
    cell1: torch.Tensor
    t0: torch.Tensor
    t1: torch.Tensor
    weekday: torch.Tensor
    reward: torch.Tensor
    """``R_gamma`` in units of the value scale."""
    disc: torch.Tensor
    """``gamma^k``, 0 where the next state is terminal."""

    def __len__(self) -> int:
        return int(self.cell0.shape[0])


def _tensors(tr: Transitions, cfg: CVNetConfig, scale: float, device: torch.device) -> _Tensors:
    k = np.maximum(tr.duration_s, 0.0) / cfg.time_unit_s
    r_g = discounted_reward(tr.reward, k, cfg.gamma) / scale
    disc = np.where(tr.terminal, 0.0, np.power(cfg.gamma, k))

    def f32(x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(x, dtype=np.float32), device=device)

    def i64(x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(x, dtype=np.int64), device=device)

    return _Tensors(
        i64(tr.cell0),
        i64(tr.cell1),
        f32(tr.t0_s),
        f32(tr.t1_s),
        i64(tr.weekday),
        f32(r_g),
        f32(disc),
    )


def _check(tr: Transitions, city: City, what: str) -> None:
    if len(tr) == 0:
        raise DataError(f"{what}: no transitions to learn from")
    for name in ("cell0", "cell1"):
        c = getattr(tr, name)
        if c.min() < 0 or c.max() >= city.n_cells:
            raise DataError(f"{what}: {name} outside the city's {city.n_cells} cells")


@torch.no_grad()
def _td_error(net: CVNet, bags: torch.Tensor, d: _Tensors, chunk: int = 1 << 14) -> float:
    """Mean squared TD error ``(R_gamma + gamma^k V(s') − V(s))²`` in units of the scale²."""
    total = 0.0
    for lo in range(0, len(d), chunk):
        sl = slice(lo, lo + chunk)
        v1 = net.scaled_value(net.raw(bags[d.cell1[sl]], d.t1[sl], d.weekday[sl]))
        v0 = net.scaled_value(net.raw(bags[d.cell0[sl]], d.t0[sl], d.weekday[sl]))
        err = d.reward[sl] + d.disc[sl] * v1 - v0
        total += float((err * err).sum())
    return total / max(len(d), 1)


def td_error(net: CVNet, tr: Transitions, city: City) -> float:
    """Mean squared TD error of a net on transitions, in currency units squared."""
    device = next(net.parameters()).device
    scale = float(net.value_scale)
    bags = torch.as_tensor(net.bags_for_city(city), device=device)
    return _td_error(net, bags, _tensors(tr, net.cfg, scale, device)) * scale * scale


def train_cvnet(
    train: Transitions,
    held_out: Transitions,
    city: City,
    cfg: OfflineTrainConfig | None = None,
    net_cfg: CVNetConfig | None = None,
    progress: Progress | None = None,
) -> tuple[CVNet, list[dict[str, float]]]:
    """Fit a CVNet to ``train`` by TD(0) with a target network; early-stop on ``held_out``.

    Returns the net with the lowest held-out TD error (on the CPU, in eval mode) and the history,
    one dict per epoch: ``epoch``, ``train_loss`` (mean minibatch loss, value-scale units),
    ``held_out_td_error`` (mean squared TD error, currency units squared), ``lipschitz`` (the
    bound at the end of the epoch), ``seconds``, ``transitions_per_s``.
    """
    cfg = cfg if cfg is not None else OfflineTrainConfig()
    net_cfg = net_cfg if net_cfg is not None else CVNetConfig()
    _check(train, city, "training transitions")
    _check(held_out, city, "held-out transitions")
    device = cfg.torch_device()
    torch.manual_seed(cfg.seed)
    gen = torch.Generator(device="cpu").manual_seed(cfg.seed)

    # -- the net, its frozen target copy and the optimiser
    base = net_cfg.base_resolution
    base = base if base is not None else (city.h3_resolution if city.h3_resolution else 8)
    scale = value_scale(train, net_cfg.gamma, net_cfg.time_unit_s)
    net = CVNet(net_cfg, build_vocabulary(city, net_cfg), base, scale).to(device)
    target = copy.deepcopy(net).requires_grad_(False)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    hl = net_cfg.loss == "hl-gauss"
    sigma = net_cfg.hl_sigma * (net_cfg.hl_max - net_cfg.hl_min) / net_cfg.hl_bins

    # -- everything a minibatch needs, as tensors, once
    bags = torch.as_tensor(net.bags_for_city(city), device=device)
    data = _tensors(train, net_cfg, scale, device)
    hold = _tensors(held_out, net_cfg, scale, device)
    n = len(data)
    bs = min(cfg.batch_size, n)
    steps_per_epoch = math.ceil(n / bs)
    total_steps = cfg.epochs * steps_per_epoch

    history: list[dict[str, float]] = []
    best = (math.inf, copy.deepcopy(net.state_dict()))
    since_best = 0
    step = 0
    for epoch in range(1, cfg.epochs + 1):
        tic = time.perf_counter()
        perm = torch.randperm(n, generator=gen).to(device)
        loss_sum = torch.zeros((), device=device)
        net.train()
        for lo in range(0, n, bs):
            idx = perm[lo : lo + bs]
            # target: R_gamma + gamma^k V_target(s'), terminal s' → 0
            with torch.no_grad():
                raw1 = target.raw(bags[data.cell1[idx]], data.t1[idx], data.weekday[idx])
                y = data.reward[idx] + data.disc[idx] * target.scaled_value(raw1)
            # loss: squared TD error (or HL-Gauss cross-entropy) + Lipschitz penalty
            raw0 = net.raw(bags[data.cell0[idx]], data.t0[idx], data.weekday[idx])
            if hl:
                p = hl_gauss_target(y, net.bin_edges, sigma)
                fit = -(p * torch.log_softmax(raw0, dim=1)).sum(dim=1).mean()
            else:
                fit = ((y - raw0) ** 2).mean()
            loss = fit
            if cfg.lipschitz_weight:
                loss = loss + cfg.lipschitz_weight * net.lipschitz_bound()
            # step
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += fit.detach()
            step += 1
            if step % cfg.target_sync_steps == 0:
                target.load_state_dict(net.state_dict())
            if progress is not None and (step % 10 == 0 or lo + bs >= n):
                progress(step, total_steps, float(fit.detach()))
        train_loss = float(loss_sum) / steps_per_epoch  # waits for the device to finish
        seconds = time.perf_counter() - tic

        # -- evaluate on the held-out day; keep the best net
        net.eval()
        held = _td_error(net, bags, hold) * scale * scale
        history.append(
            {
                "epoch": float(epoch),
                "train_loss": train_loss,
                "held_out_td_error": held,
                "lipschitz": float(net.lipschitz_bound().detach()),
                "seconds": seconds,
                "transitions_per_s": n / max(seconds, 1e-9),
            }
        )
        if held < best[0]:
            best = (held, copy.deepcopy(net.state_dict()))
            since_best = 0
        else:
            since_best += 1
            if cfg.patience and since_best >= cfg.patience:
                break

    net.load_state_dict(best[1])
    return net.cpu().eval(), history


# -- from a scenario (or a trajectory file) to models/cvnet.pt


def train_cvnet_from_scenario(
    scenario_cfg: ScenarioConfig,
    sim_cfg: SimConfig,
    days: int,
    seed: int,
    behaviour: str = "distance",
    trajectories: Path | None = None,
    out: Path = Path("models"),
    progress: Progress | None = None,
    train_cfg: OfflineTrainConfig | None = None,
    net_cfg: CVNetConfig | None = None,
    day_progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Train a CVNet for a scenario and write ``<out>/cvnet.pt``.

    Historical days are simulated with the ``behaviour`` dispatch policy on seeds ``seed``,
    ``seed + 1``, … on the days the scenario's source gives (weekdays cycling Monday–Friday, the
    scenario's weekday ignored; a ``kdd`` scenario's order dates in turn), or read from
    ``trajectories`` (run folders, on their own scenario; an event parquet, one day per 24 h of
    its clock). The last day is held out for early stopping. ``day_progress(done, days)`` is
    called per generated day. The checkpoint's ``days`` lists each day (seed, weekday, date).
    Returns the checkpoint's path.
    """
    check_output_path(Path(out) / CVNET_FILE, "file")  # before any day is simulated
    train_cfg = train_cfg if train_cfg is not None else OfflineTrainConfig(seed=seed)
    net_cfg = net_cfg if net_cfg is not None else CVNetConfig()
    if trajectories is not None:
        scenario_cfg, city, parts, days_meta = _read_days(scenario_cfg, Path(trajectories))
    else:
        city, parts, days_meta = _simulate_days(
            scenario_cfg, sim_cfg, days, seed, behaviour, day_progress
        )
    if len(parts) < 2:
        raise DataError("cvnet training needs at least 2 days (the last one is held out)")
    train = concat(parts[:-1])
    held = parts[-1]
    net, history = train_cvnet(train, held, city, train_cfg, net_cfg, progress)
    path = Path(out) / CVNET_FILE
    meta: dict[str, Any] = {
        "scenario": scenario_cfg.name,
        "h3_resolution": city.h3_resolution,
        "h3_resolutions": net.resolutions,
        "bucket_s": None,
        "scenario_config": dataclasses.asdict(scenario_cfg),
        "sim_config": dataclasses.asdict(sim_cfg),
        "days": days_meta,
        "behaviour": behaviour,
        "trajectories": str(trajectories) if trajectories is not None else None,
        "train_config": dataclasses.asdict(train_cfg),
        "history": history,
        "transitions": {"train": len(train), "held_out": len(held)},
    }
    return save_cvnet(net, path, meta)


def _simulate_days(
    scenario_cfg: ScenarioConfig,
    sim_cfg: SimConfig,
    days: int,
    seed: int,
    behaviour: str,
    day_progress: Callable[[int, int], None] | None,
) -> tuple[City, list[Transitions], list[dict[str, Any]]]:
    """Days ``seed, seed + 1, …`` under the behaviour policy, weekdays cycling Monday–Friday."""
    if days < 2:
        raise ConfigError(f"days must be >= 2 (the last day is held out), got {days}")
    city, parts, meta = simulate_history(
        scenario_cfg, sim_cfg, days, seed, behaviour, on_day=day_progress
    )
    for i, m in enumerate(meta):
        m["held_out"] = i == days - 1
    return city, parts, meta


def _read_days(
    scenario_cfg: ScenarioConfig, path: Path
) -> tuple[ScenarioConfig, City, list[Transitions], list[dict[str, Any]]]:
    """The scenario, its city and the days of event files (see
    :func:`~v1d3.learn.train.trajectory_files` and :func:`~v1d3.learn.train.trajectory_city`).

    A run folder's events are one day (its ``log_meta.json`` gives weekday, end of day, seed
    and date; events past midnight, such as late shift ends, stay in it). Any other file
    spanning several days of its clock (``t = 86400 k + seconds``, as the TLC converter writes)
    is cut into days ``k``, day ``k`` falling on the scenario's ``weekday + k``. Days without a
    single transition are skipped.
    """
    files = trajectory_files(path)
    scenario_cfg, city = trajectory_city(files, scenario_cfg)
    parts: list[Transitions] = []
    meta: list[dict[str, Any]] = []
    for f in files:
        weekday, end_s, run_seed, date = trajectory_day(f, scenario_cfg.weekday, DAY_S)
        ev = read_events(f)
        if run_seed is not None or not len(ev["t_start_s"]):
            day = np.zeros(len(ev["t_start_s"]), dtype=np.int64)  # one simulated day
        else:
            day = np.floor(ev["t_start_s"] / DAY_S).astype(np.int64)
        for k in np.unique(day).tolist():
            sel = day == k
            one = {c: v[sel] for c, v in ev.items()}
            one["t_start_s"] = one["t_start_s"] - k * DAY_S
            one["t_end_s"] = one["t_end_s"] - k * DAY_S
            wd = (weekday + int(k)) % 7
            tr = transitions_from_events(one, city, wd, end_s, source=str(f))
            if len(tr):
                parts.append(tr)
                meta.append(
                    {"file": str(f), "day": int(k), "weekday": wd, "seed": run_seed, "date": date}
                )
    if meta:
        meta[-1]["held_out"] = True
    return scenario_cfg, city, parts, meta
