"""Export V1D3 policies as a KDD Cup 2020 submission folder.

:func:`export_agent` writes a self-contained folder (its file names:
:mod:`v1d3.kddcup.submission`)::

    agent.py          the official entry point; imports the installed v1d3
    v1d3_agent.json   policies, their parameters, the scenario and simulation configs
    city.pkl          the city the policies decide on (cells, neighbours, travel model)
    grid.csv          the same city as a KDD hexagon grid table (for people and other agents)
    models/           copies of the model files the policies load

Its ``Agent`` (:class:`ExportedAgent`) rebuilds the named policies and answers the official
API. Run inside V1D3 (``v1d3 simulate --agent``), it asks for V1D3's ``extras`` and its
observations carry them (see :mod:`v1d3.kddcup.observation`): the day's context and random
generators, exact trip durations, cells, request times and cancellation curves, and each
round's outcome for online learners. The policies then decide exactly as natively, so the
run gives the same metrics as the native run on the same seed (timings aside).

Run anywhere else (the official environment), only the official keys exist and the rest is
estimated: the clock and day from ``timestamp`` (local midnight from the recorded UTC offset),
cells by the city's own lookup, trip durations from ``order_finish_timestamp`` (to about
1e-6 s), an order's request time as when the agent first saw it, straight-line trip lengths, no
per-order cancellation curves, repositioning drivers at their cell's centre with the city-wide
counts at zero, every assignment served for online learners, and random generators seeded from
the date. Policies that need none of the estimated parts (``distance``, ``nearest``, ``fare``
dispatch; ``stay`` repositioning) decide the same either way.
"""

from __future__ import annotations

import os
import pickle
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from v1d3 import __version__
from v1d3.demand.config import ScenarioConfig
from v1d3.demand.registry import source_of
from v1d3.demand.source import DemandDay
from v1d3.errors import ConfigError, ModelError, V1D3Error
from v1d3.eval.config import RunConfig
from v1d3.files import atomic_dir, check_output_path
from v1d3.geo.city import City
from v1d3.kddcup.grid import write_grid
from v1d3.kddcup.kdd_source import KDD_UTC_OFFSET_S
from v1d3.kddcup.observation import (
    batch_from_dispatch_observation,
    batch_from_reposition_observation,
    dispatch_answer,
    reposition_answer,
    split_timestamp,
)
from v1d3.kddcup.submission import CITY_FILE, GRID_FILE, METADATA_FILE, MODELS_DIR
from v1d3.policies import make_dispatch, make_reposition
from v1d3.rounds import CandidateBatch, DayContext, RoundOutcome, served_outcome
from v1d3.sim.config import SimConfig
from v1d3.sim.seeds import kdd_day_streams
from v1d3.text_files import json_text, read_json

__all__ = [
    "export_agent",
    "scenario_city",
    "scenario_day",
    "scenario_utc_offset",
    "ExportedAgent",
]


_AGENT_PY = '''"""KDD Cup 2020 agent exported by V1D3 {version}: dispatch {dispatch!r}, \
repositioning {reposition!r}.

Needs the v1d3 package installed (version {version}). Everything else is in this folder.
"""

from pathlib import Path

from v1d3.kddcup.export import ExportedAgent


class Agent(ExportedAgent):
    """The official entry point: ``dispatch(dispatch_observ)`` and ``reposition(repo_observ)``."""

    def __init__(self) -> None:
        super().__init__(Path(__file__).resolve().parent)
'''


def scenario_utc_offset(cfg: ScenarioConfig) -> int:
    """Offset from UTC (s) of the midnights the scenario's ``epoch_s`` stands for.

    ``nyc-tlc`` dates its days at UTC midnight; the ``kdd`` scenario and the scenarios without a
    calendar (dated in the reference week, see :func:`v1d3.kddcup.kdd_source.reference_epoch`) use
    China Standard Time, the competition's.
    """
    return 0 if cfg.name == "nyc-tlc" else KDD_UTC_OFFSET_S


def scenario_day(cfg: ScenarioConfig) -> DemandDay:
    """A day of a scenario config as its own source builds it (seed 0): the city, and the
    orders with the source's dropped-row counts."""
    return source_of(cfg).day(cfg, np.random.default_rng(0))


def scenario_city(cfg: ScenarioConfig) -> City:
    """The city of a scenario config (built by the scenario's own source; no orders drawn)."""
    return source_of(cfg).city(cfg)


MODEL_SUFFIXES = (".pt", ".npz")
"""What an agent's models folder may hold: checkpoints and tables (``v1d3-prior.npz``)."""


def _copy_models(models: str | Path | Sequence[str | Path] | None, dest: Path) -> dict[str, Path]:
    """Copy the model files named by ``models`` into ``dest``: checkpoints (``*.pt``) and, in a
    folder, the tables beside them (``*.npz``, such as ``v1d3``'s prior correction); returns
    each copy's name → its source. A folder without a checkpoint, or a file that is no model
    file, is a ModelError."""
    if models is None:
        return {}
    items = [models] if isinstance(models, (str, Path)) else list(models)
    copied: dict[str, Path] = {}
    for item in items:
        src = Path(item)
        if src.is_dir():
            files = sorted(f for f in src.iterdir() if f.is_file() and f.suffix in MODEL_SUFFIXES)
            if not any(f.suffix == ".pt" for f in files):
                raise ModelError(f"{src}: holds no model file (*.pt); train one with v1d3 train")
        elif src.is_file():
            if src.suffix not in MODEL_SUFFIXES:
                raise ModelError(f"{src}: not a model file (expected a .pt checkpoint or .npz)")
            files = [src]
        else:
            raise ModelError(f"{src}: model file or folder not found")
        for f in files:
            if f.name in copied:
                raise ModelError(f"{f}: a second {f.name} (also {copied[f.name]}); give one")
            dest.mkdir(exist_ok=True)
            shutil.copy2(f, dest / f.name)
            copied[f.name] = f
    return copied


def export_agent(
    dispatch: str,
    reposition: str,
    models: str | Path | Sequence[str | Path] | None,
    out_dir: str | Path,
    scenario: ScenarioConfig | None = None,
    sim: SimConfig | None = None,
    dispatch_params: Mapping[str, Any] | None = None,
    reposition_params: Mapping[str, Any] | None = None,
) -> Path:
    """Write a KDD Cup submission folder that runs the named V1D3 policies.

    ``models`` is a folder (its files are copied) or model files (copied under their names)
    into ``models/``. ``scenario`` and ``sim`` describe the city and platform the agent will
    decide on (defaults: ``ScenarioConfig()``, ``SimConfig()``); the policies are built once
    here, so a bad name, parameter or model fails now rather than inside the agent. The folder
    is written atomically; an existing one is replaced only if it is empty or an exported agent
    folder (holds ``v1d3_agent.json``), and a bad ``out_dir`` fails before anything is built
    (see :func:`~v1d3.files.check_output_path`).
    """
    out = check_output_path(out_dir, "folder", marker=METADATA_FILE, label="out_dir")
    cfg = RunConfig(
        scenario=scenario if scenario is not None else ScenarioConfig(),
        sim=sim if sim is not None else SimConfig(),
        dispatch=dispatch,
        reposition=reposition,
        dispatch_params=dict(dispatch_params or {}),
        reposition_params=dict(reposition_params or {}),
    )
    city = scenario_city(cfg.scenario)
    with atomic_dir(out, marker=METADATA_FILE) as tmp:
        copied = _copy_models(models, tmp / MODELS_DIR)
        folder_models = tmp / MODELS_DIR if copied else None
        try:
            d = make_dispatch(dispatch, folder_models, cfg.scenario, **cfg.dispatch_params)
            make_reposition(
                reposition, folder_models, cfg.scenario, dispatch=d, **cfg.reposition_params
            )
        except V1D3Error as e:
            # name the user's files, not their copies in the folder being built
            msg = str(e)
            for name, src in copied.items():
                msg = msg.replace(str(tmp / MODELS_DIR / name), str(src))
            if folder_models is not None:
                given = ", ".join(str(p) for p in copied.values())
                msg = re.sub(
                    re.escape(str(folder_models) + os.sep) + r"(\S+)",
                    lambda m: f"{m.group(1)} (none among the --model files: {given})",
                    msg,
                )
            raise type(e)(msg) from None
        meta = {
            "format": 1,
            "v1d3_version": __version__,
            "dispatch": dispatch,
            "reposition": reposition,
            "dispatch_params": cfg.dispatch_params,
            "reposition_params": cfg.reposition_params,
            "models": sorted(copied),
            "utc_offset_s": scenario_utc_offset(cfg.scenario),
            "run": cfg.to_dict(),
        }
        text = json_text(meta, METADATA_FILE, indent=2)
        (tmp / METADATA_FILE).write_text(text + "\n", encoding="utf-8")
        with (tmp / CITY_FILE).open("wb") as fh:
            pickle.dump(city, fh, protocol=pickle.HIGHEST_PROTOCOL)
        if cfg.scenario.name == "kdd" and cfg.scenario.kdd.grid:
            shutil.copy2(cfg.scenario.kdd.grid, tmp / GRID_FILE)
        else:
            write_grid(city, tmp / GRID_FILE)
        (tmp / "agent.py").write_text(
            _AGENT_PY.format(version=__version__, dispatch=dispatch, reposition=reposition)
        )
    return out


class ExportedAgent:
    """The ``Agent`` of an exported folder: V1D3 policies behind the official API."""

    v1d3_extras = True
    """Ask V1D3's agent adapter for the observations' extras (ignored elsewhere)."""

    def __init__(self, folder: str | Path) -> None:
        folder = Path(folder)
        meta = read_json(folder / METADATA_FILE, "exported-agent record", ConfigError)
        try:
            cfg = RunConfig.from_dict(meta["run"])
            with (folder / CITY_FILE).open("rb") as fh:
                city = pickle.load(fh)
        except (OSError, KeyError, ValueError, pickle.UnpicklingError) as e:
            raise ConfigError(f"{folder}: not an exported V1D3 agent folder ({e})") from None
        self.folder = folder
        self.config = cfg
        self.city: City = city
        self.utc_offset_s = float(meta["utc_offset_s"])
        models = folder / MODELS_DIR if meta.get("models") else None
        self.dispatch_policy = make_dispatch(
            cfg.dispatch, models, cfg.scenario, **cfg.dispatch_params
        )
        self.reposition_policy = make_reposition(
            cfg.reposition,
            models,
            cfg.scenario,
            dispatch=self.dispatch_policy,
            **cfg.reposition_params,
        )
        self._epoch: float | None = None
        self._context: DayContext | None = None
        self._seen: dict[int, float] = {}
        self._last_batch: CandidateBatch | None = None
        self._t_observed = 0.0

    def _begin(self, timestamp: float, weekday: int, extras: dict[str, Any] | None) -> None:
        """Reset the policies on a new day; pass the last round's outcome to a learner."""
        day = extras.get("day") if extras else None
        if day is not None and day[0] is not None:
            ctx_d, ctx_r = day
            if ctx_d is not self._context:
                self._context = ctx_d
                self._new_day()
                self.dispatch_policy.reset(ctx_d)
                self.reposition_policy.reset(ctx_r if ctx_r is not None else ctx_d)
        else:
            epoch, _ = split_timestamp(timestamp, self.utc_offset_s)
            if epoch != self._epoch:
                self._epoch = epoch
                self._new_day()
                self._reset_from_clock(epoch, weekday)
        fb = extras.get("feedback") if extras else None
        if fb is not None and self._last_batch is not None:
            self.dispatch_policy.observe(RoundOutcome(batch=self._last_batch, **fb))
            self._last_batch = None

    def _new_day(self) -> None:
        self._seen = {}
        self._last_batch = None
        self._t_observed = self.config.scenario.window_s[0]

    def _reset_from_clock(self, epoch: float, weekday: int) -> None:
        """Outside V1D3: the day's context from the clock and the folder's configs."""
        start_s, end_s = self.config.scenario.window_s
        rng_d, rng_r = kdd_day_streams(epoch, weekday)
        for policy, rng in ((self.dispatch_policy, rng_d), (self.reposition_policy, rng_r)):
            policy.reset(
                DayContext(self.city, weekday, start_s, end_s, self.config.sim, rng, epoch, None)
            )

    def dispatch(self, dispatch_observ: list[dict[str, Any]]) -> list[dict[str, int]]:
        """The official dispatch call: candidate pairs in, ``[{"order_id", "driver_id"}]`` out."""
        if not dispatch_observ:
            return []
        extras = getattr(dispatch_observ, "extras", None)
        first = dispatch_observ[0]
        self._begin(first["timestamp"], int(first["day_of_week"]), extras)
        _, t = split_timestamp(first["timestamp"], self.utc_offset_s)
        for p in dispatch_observ:
            self._seen.setdefault(int(p["order_id"]), t)
        batch = batch_from_dispatch_observation(
            dispatch_observ, self.city, self.utc_offset_s, self._seen
        )
        sel = np.asarray(self.dispatch_policy.dispatch(batch), dtype=np.int64)
        if self.dispatch_policy.learns_online:
            if extras:
                self._last_batch = batch  # the outcome comes with the next call
            else:
                self._observe_estimate(batch, sel)
        return dispatch_answer(batch, sel)

    def _observe_estimate(self, batch: CandidateBatch, sel: np.ndarray) -> None:
        """Outside V1D3: every assignment served, the pairs' other drivers idle."""
        dt = batch.t - self._t_observed  # time since the previous round this policy saw
        self._t_observed = batch.t
        self.dispatch_policy.observe(served_outcome(batch, sel, dt))

    def reposition(self, repo_observ: dict[str, Any]) -> list[dict[str, Any]]:
        """The official repositioning call: due drivers in, ``[{"driver_id", "destination"}]``."""
        if not repo_observ or not repo_observ.get("driver_info"):
            return []
        extras = getattr(repo_observ, "extras", None)
        self._begin(repo_observ["timestamp"], int(repo_observ["day_of_week"]), extras)
        batch = batch_from_reposition_observation(
            repo_observ, self.city, self.utc_offset_s, idle_s=self.config.sim.reposition_after_s
        )
        dest = self.reposition_policy.reposition(batch)
        return reposition_answer(batch, dest, self.city)
