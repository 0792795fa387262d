"""``v1d3 train --method ospo|grpo``: roll out days with the current policy, update, repeat.

Each update rolls out ``days_per_update`` simulated days (seeds ``seed, seed+1, …``, weekdays
cycling Monday–Friday) in local processes or as Ray tasks (:mod:`v1d3.eval.backends`, the
backends ``evaluate`` uses) with the weights as they are, then takes ``policy_epochs`` passes of
minibatch steps over the recorded rounds in this process (CPU, or CUDA when present). The first
update's rollout is the uniform policy's (the scorer's last layer starts at zero); its pairs set
the features' standardisation, saved with the model. docs/method.md §13.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from v1d3.demand.config import ScenarioConfig
from v1d3.errors import ConfigError, V1D3Error
from v1d3.eval.backends import Task, execute, make_executor
from v1d3.files import check_output_path
from v1d3.ospo.config import METHODS, PolicyTrainConfig, ScorerConfig
from v1d3.ospo.loss import group_advantages, ppo_loss, segment_log_softmax
from v1d3.ospo.net import PairScorer, model_file, save_scorer
from v1d3.ospo.rollout import Rollout, RolloutTask, concat_rollouts, rollout_day
from v1d3.sim.config import SimConfig
from v1d3.sim.scenario import build_scenario
from v1d3.value.checkpoint import city_digest

__all__ = ["train_pair_scorer", "update", "UpdateStats", "ProgressFn"]

ProgressFn = Callable[[int, int, float], None]
"""``progress(updates_done, updates, mean income of the update's days)``."""


@dataclasses.dataclass
class UpdateStats:
    """What one update did (a row of the model's ``history``)."""

    surrogate: float = 0.0
    kl: float = 0.0
    entropy: float = 0.0
    clipped: float = 0.0
    steps: int = 0
    rounds: int = 0
    """Rounds learned from, every epoch's passes counted."""
    pair_scores: int = 0
    """Pair scores computed, forward and backward, in the update."""
    seconds: float = 0.0


def _to(x: np.ndarray, device: torch.device, dtype: torch.dtype | None = None) -> torch.Tensor:
    return torch.as_tensor(x, device=device, dtype=dtype)


def _advantages(method: str, data: Rollout) -> np.ndarray:
    """Each sample's advantage: its one-step reward (OSPO) or reward-to-go (GRPO), normalised
    across its group."""
    value = data.reward if method == "ospo" else data.to_go
    return group_advantages(value, data.sample_group)


def _rounds_slices(ptr: np.ndarray, rounds: np.ndarray) -> np.ndarray:
    """Concatenated ``ptr[r]:ptr[r+1]`` index ranges of ``rounds``."""
    lo, hi = ptr[rounds], ptr[rounds + 1]
    n = hi - lo
    start = np.repeat(lo - np.concatenate(([0], np.cumsum(n)[:-1])), n)
    return start + np.arange(int(n.sum()))  # type: ignore[no-any-return]


@dataclasses.dataclass(frozen=True)
class _RoundIndex:
    """Where each round's pairs, drivers and samples lie in a :class:`Rollout`, and each pair's
    driver and each sample's pair counted from its round's first."""

    pair_ptr: np.ndarray
    seg_ptr: np.ndarray
    sample_ptr: np.ndarray
    seg_in_round: np.ndarray
    chosen_in_round: np.ndarray

    @classmethod
    def of(cls, data: Rollout) -> _RoundIndex:
        pair_round = np.repeat(np.arange(data.n_rounds), np.diff(data.pair_ptr))
        # samples come round by round (a rollout's rounds are concatenated in order)
        sample_ptr = np.searchsorted(data.sample_round, np.arange(data.n_rounds + 1))
        return cls(
            data.pair_ptr,
            data.seg_ptr,
            sample_ptr,
            data.seg - data.seg_ptr[pair_round],
            data.chosen - data.pair_ptr[data.sample_round],
        )


@dataclasses.dataclass(frozen=True)
class _Minibatch:
    """Some rounds' pairs, drivers (numbered from 0 in the minibatch) and samples."""

    pairs: np.ndarray
    seg: np.ndarray
    """Each pair's driver in the minibatch."""
    segs: np.ndarray
    """The minibatch's drivers' global segments."""
    samples: np.ndarray
    chosen: np.ndarray
    """Each sample's pair in the minibatch."""

    @classmethod
    def of(cls, ix: _RoundIndex, rounds: np.ndarray) -> _Minibatch:
        n_p = np.diff(ix.pair_ptr)[rounds]
        n_s = np.diff(ix.seg_ptr)[rounds]
        n_c = np.diff(ix.sample_ptr)[rounds]
        p_off = np.concatenate(([0], np.cumsum(n_p)[:-1]))
        s_off = np.concatenate(([0], np.cumsum(n_s)[:-1]))
        pairs = _rounds_slices(ix.pair_ptr, rounds)
        samples = _rounds_slices(ix.sample_ptr, rounds)
        return cls(
            pairs,
            ix.seg_in_round[pairs] + np.repeat(s_off, n_p),
            _rounds_slices(ix.seg_ptr, rounds),
            samples,
            ix.chosen_in_round[samples] + np.repeat(p_off, n_c),
        )


def update(
    net: PairScorer,
    opt: torch.optim.Optimizer,
    method: str,
    data: Rollout,
    cfg: PolicyTrainConfig,
    rng: np.random.Generator,
    device: torch.device,
) -> UpdateStats:
    """``policy_epochs`` passes of PPO-clip minibatch steps over ``data``'s rounds."""
    tic = time.perf_counter()
    x_all = _to(data.x, device, torch.float32)
    seg_all = _to(data.seg, device, torch.int64)
    with torch.no_grad():
        old_all = segment_log_softmax(net(x_all), seg_all, data.n_seg)
    adv_all = _advantages(method, data)
    stats = UpdateStats()
    n_rounds = data.n_rounds
    index = _RoundIndex.of(data)
    for _ in range(cfg.policy_epochs):
        perm = rng.permutation(n_rounds)
        for start in range(0, n_rounds, cfg.minibatch_rounds):
            rounds = np.sort(perm[start : start + cfg.minibatch_rounds])
            mb = _Minibatch.of(index, rounds)
            if mb.pairs.size == 0 or mb.samples.size == 0:
                continue
            idx = _to(mb.pairs, device)
            seg = _to(mb.seg, device)
            n_seg = int(mb.segs.size)
            logp = segment_log_softmax(net(x_all[idx]), seg, n_seg)
            parts = ppo_loss(
                logp,
                (old_all[0][idx], old_all[1][_to(mb.segs, device)]),
                seg,
                _to(mb.chosen, device),
                _to(adv_all[mb.samples], device, torch.float32),
                cfg.clip,
                cfg.kl_weight,
                cfg.entropy_weight,
            )
            opt.zero_grad()
            parts.loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
            opt.step()
            stats.steps += 1
            stats.rounds += int(rounds.size)
            stats.pair_scores += int(mb.pairs.size)
            stats.surrogate += parts.surrogate
            stats.kl += parts.kl
            stats.entropy += parts.entropy
            stats.clipped += parts.clipped
    for name in ("surrogate", "kl", "entropy", "clipped"):
        setattr(stats, name, getattr(stats, name) / max(stats.steps, 1))
    stats.seconds = time.perf_counter() - tic
    return stats


def _rollout_scenario(scenario: ScenarioConfig, cfg: PolicyTrainConfig, i: int) -> ScenarioConfig:
    """The ``i``-th rollout's scenario: weekdays cycling Monday–Friday and, with
    ``rollout_hours``, the horizon's start moving on by that much each time."""
    day = dataclasses.replace(scenario, weekday=i % 5)
    if cfg.rollout_hours is None:
        return day
    start = (i * cfg.rollout_hours) % 24.0
    return dataclasses.replace(day, start_hour=start, hours=min(cfg.rollout_hours, 24.0 - start))


def _device(cfg: PolicyTrainConfig) -> torch.device:
    if cfg.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("policy train config: device cuda asked for but CUDA is not available")
    return torch.device(cfg.device)


def _rollouts(executor: Any, tasks: list[RolloutTask], first_day: int) -> list[Rollout]:
    """The tasks' rollouts in task order; a day that failed twice is a V1D3Error."""
    jobs = [Task(str(first_day + i), f"day seed {t.seed}", t) for i, t in enumerate(tasks)]
    done: dict[str, Rollout] = {}
    for res in execute(executor, rollout_day, jobs):
        if not res.ok:
            raise V1D3Error(f"rollout of {res.task.name} failed: {res.error}")
        done[res.task.key] = res.value
    return [done[j.key] for j in jobs]


def train_pair_scorer(
    method: str,
    scenario: ScenarioConfig,
    sim: SimConfig,
    days: int,
    seed: int,
    out: Path,
    cfg: PolicyTrainConfig,
    scorer: ScorerConfig,
    backend: str = "local",
    workers: int = 2,
    address: str | None = None,
    progress: ProgressFn | None = None,
) -> Path:
    """Learn an ``ospo`` or ``grpo`` scorer on ``days`` simulated days and write
    ``<out>/<method>.pt``; returns its path."""
    if method not in METHODS:
        raise ConfigError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    if days < 1:
        raise ConfigError(f"days must be >= 1, got {days}")
    path = Path(out) / model_file(method)
    check_output_path(path, "file")
    started = time.perf_counter()
    city = build_scenario(scenario, sim, seed).city
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    device = _device(cfg)
    net = PairScorer(scorer).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.policy_lr)
    n_updates = -(-days // cfg.days_per_update)
    history: list[dict[str, Any]] = []
    plan: list[dict[str, int]] = []
    executor = make_executor(backend, min(workers, cfg.days_per_update), address)
    scaled = False
    try:
        for u in range(n_updates):
            first = u * cfg.days_per_update
            todo = range(first, min(days, first + cfg.days_per_update))
            state = net.numpy_state()
            tasks = [
                RolloutTask(_rollout_scenario(scenario, cfg, i), sim, seed + i, state, scorer, cfg)
                for i in todo
            ]
            tic = time.perf_counter()
            data = concat_rollouts(_rollouts(executor, tasks, first))
            roll_s = time.perf_counter() - tic
            if not scaled and data.x.shape[0]:  # the first pairs seen set the standardisation
                net.set_scale(data.x)
                scaled = True
            # rollouts that recorded nothing (a quiet part of a day) teach nothing
            stats = (
                update(net, opt, method, data, cfg, rng, device)
                if data.chosen.size
                else UpdateStats()
            )
            income = float(np.mean([d["income"] for d in data.day["days"]]))
            plan += [
                {k: d[k] for k in ("seed", "weekday", "start_hour", "hours")}
                for d in data.day["days"]
            ]
            history.append(_history_row(u, data, stats, roll_s, income))
            if progress is not None:
                progress(u + 1, n_updates, income)
    finally:
        executor.close()
    meta = {
        "method": method,
        "scenario": scenario.name,
        "h3_resolution": city.h3_resolution,
        "city": city_digest(city),
        "days": plan,
        "train": cfg.to_dict(),
        "history": history,
        "wall_s": time.perf_counter() - started,
        "device": str(device),
        "backend": backend,
        "workers": min(workers, cfg.days_per_update),
    }
    return save_scorer(net.cpu(), path, meta)


def _history_row(
    u: int, data: Rollout, stats: UpdateStats, roll_s: float, income: float
) -> dict[str, Any]:
    days = data.day["days"]
    return {
        "update": u,
        "income": income,
        "answer_rate": float(np.mean([d["answered"] / max(d["orders"], 1) for d in days])),
        "rounds": data.n_rounds,
        "pairs": int(data.x.shape[0]),
        "samples": int(data.chosen.size),
        "surrogate": stats.surrogate,
        "kl": stats.kl,
        "entropy": stats.entropy,
        "clipped": stats.clipped,
        "rollout_s": roll_s,
        "update_s": stats.seconds,
        "pair_scores_per_s": stats.pair_scores / max(stats.seconds, 1e-9),
        "rounds_per_s": stats.rounds / max(stats.seconds, 1e-9),
    }
