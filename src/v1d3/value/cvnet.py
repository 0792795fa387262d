"""CVNet: a neural state-value function with hierarchical coarse coding of the location.

Tang et al. (KDD 2019), docs/method.md §8. A location is coded by the H3 cell that contains it and
that cell's parents at coarser resolutions (optionally with their 1-rings); every active H3 id is
one row of a single ``torch.nn.EmbeddingBag`` and the rows are summed. Nearby points share their
coarse cells, so values generalise smoothly across space. The location code is concatenated with
time features (sin/cos of the time of day at several periods, the linear fraction of the day and a
weekday one-hot) and fed to a small MLP that outputs ``V`` — or, with the HL-Gauss loss
(Farebrother et al. 2024), logits over value bins whose expectation is ``V``.

Values are learned in units of a *value scale* (the training data's mean earning rate divided by
``1 − gamma``, stored in the net), so losses, bins and the Lipschitz penalty do not depend on the
currency.

:class:`CVNetValue` wraps a trained net for the simulator: it precomputes, at
:meth:`~CVNetValue.bind`, a table of ``V(cell, minute of day)`` with one batched forward pass, so
that the 2-second dispatch loop reads values with a numpy lookup.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h3
import numpy as np
import torch
from torch import nn

from v1d3 import __version__
from v1d3.errors import ConfigError, ModelError, first_line
from v1d3.fields import check_fields
from v1d3.geo.city import City
from v1d3.sim.config import DAY_S
from v1d3.value.base import Discount, ValueFunction

__all__ = [
    "CVNetConfig",
    "CVNet",
    "CVNetValue",
    "build_vocabulary",
    "city_tokens",
    "time_features",
    "hl_gauss_target",
    "load_cvnet",
    "save_cvnet",
    "METHOD",
]

METHOD = "cvnet"
"""The ``method`` recorded in CVNet checkpoints."""
PAD, OOV = 0, 1
"""Reserved embedding rows: padding (excluded from the sum) and out-of-vocabulary ids."""
_NON_H3_RESOLUTION = 8


@dataclass(frozen=True)
class CVNetConfig:
    """Architecture of a CVNet and the discount its values are defined with."""

    coarse_levels: tuple[int, ...] = (0, 1, 2)
    """H3 levels of the coarse code, in resolution steps above the base (0 = the cell itself).

    1 = its parent, 2 = its grandparent: on an H3 resolution-8 city, resolutions 8, 7, 6."""
    base_resolution: int | None = None
    """H3 resolution of the finest code (None = the training city's; 8 for a non-H3 grid)."""
    rings: bool = False
    """Also code the 1-ring neighbours of every coded cell (7× longer bags, smoother values)."""
    embed_dim: int = 32
    """Width of the location embedding (number of features)."""
    hidden: tuple[int, ...] = (64, 64)
    """Widths of the MLP head's hidden layers (ReLU)."""
    time_periods_h: tuple[float, ...] = (24.0, 12.0, 6.0, 3.0)
    """Periods of the sin/cos time-of-day features, hours."""
    linear_time: bool = True
    """Add the fraction of the day elapsed (0..1) as a feature.

    Values fall towards the end of the day, which periodic features alone would wrap back onto
    the morning."""
    weekday_onehot: bool = True
    """Add a one-hot of the weekday (7 features)."""
    gamma: float = 0.9
    """Discount factor per time unit (dimensionless)."""
    time_unit_s: float = 600.0
    """Time unit of the discount, seconds."""
    loss: str = "mse"
    """Training loss: ``mse`` (squared TD error) or ``hl-gauss`` (cross-entropy over value bins)."""
    hl_bins: int = 51
    """HL-Gauss: number of value bins."""
    hl_min: float = 0.0
    """HL-Gauss: lower end of the value support, in units of the value scale."""
    hl_max: float = 3.0
    """HL-Gauss: upper end of the value support, in units of the value scale."""
    hl_sigma: float = 0.75
    """HL-Gauss: standard deviation of the target Gaussian, in bin widths (0.75 recommended)."""
    lipschitz_norm: str = "inf"
    """Operator norm of the Lipschitz bound: ``inf`` (max abs row sum) or ``spectral``.

    ``inf`` is exact and cheap; ``spectral`` is the largest singular value."""

    def __post_init__(self) -> None:
        check_fields(self, "cvnet config")  # types, finite numbers
        checks = [
            (len(self.coarse_levels) > 0, "coarse_levels needs at least one level"),
            (all(lv >= 0 for lv in self.coarse_levels), "coarse_levels must be >= 0"),
            (len(set(self.coarse_levels)) == len(self.coarse_levels), "coarse_levels repeat"),
            (self.embed_dim > 0, "embed_dim must be > 0"),
            (all(h > 0 for h in self.hidden), "hidden sizes must be > 0"),
            (all(p > 0 for p in self.time_periods_h), "time_periods_h must be > 0 hours"),
            (0 < self.gamma <= 1, "gamma must be in (0, 1]"),
            (self.time_unit_s > 0, "time_unit_s must be > 0 seconds"),
            (self.loss in ("mse", "hl-gauss"), f"loss must be mse or hl-gauss, got {self.loss!r}"),
            (self.hl_bins >= 2, "hl_bins must be >= 2"),
            (self.hl_max > self.hl_min, "hl_max must be > hl_min"),
            (self.hl_sigma > 0, "hl_sigma must be > 0 bin widths"),
            (self.lipschitz_norm in ("inf", "spectral"), "lipschitz_norm must be inf or spectral"),
        ]
        if self.base_resolution is not None:
            checks.append((0 <= self.base_resolution <= 15, "base_resolution must be 0..15"))
            checks.append(
                (max(self.coarse_levels) <= self.base_resolution, "coarse level below H3 res 0")
            )
        for ok, msg in checks:
            if not ok:
                raise ConfigError(f"cvnet config: {msg}")

    @property
    def discount(self) -> Discount:
        return Discount(self.gamma, self.time_unit_s)

    @property
    def n_time_features(self) -> int:
        return 2 * len(self.time_periods_h) + int(self.linear_time) + 7 * int(self.weekday_onehot)

    def resolutions(self, base: int) -> list[int]:
        """Absolute H3 resolutions coded on top of a base resolution."""
        return [base - lv for lv in self.coarse_levels]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CVNetConfig:
        d = dict(d)
        for k in ("coarse_levels", "hidden", "time_periods_h"):
            if k in d:
                d[k] = tuple(d[k])
        try:
            return cls(**d)
        except TypeError as e:
            raise ModelError(f"cvnet checkpoint: config does not fit this version ({e})") from None


# -- location coding


def _base_resolution(city: City, cfg: CVNetConfig) -> int:
    if cfg.base_resolution is not None:
        return cfg.base_resolution
    if city.h3_resolution is not None:
        return city.h3_resolution
    return _NON_H3_RESOLUTION


def city_tokens(city: City, cfg: CVNetConfig, base: int | None = None) -> list[list[str]]:
    """The coarse-code tokens of each city cell: its H3 cell at the base resolution and the
    parents at the configured levels (each followed by its 1-ring when ``rings``).

    The H3 cell is taken at the cell centre, so H3 cities, H3 cities of another resolution and
    non-H3 grids are coded alike; a non-H3 grid also gets its own cell id as a token.
    """
    res0 = _base_resolution(city, cfg) if base is None else base
    if max(cfg.coarse_levels) > res0:
        raise ConfigError(f"cvnet config: coarse level below H3 resolution 0 (base {res0})")
    to_cell = h3.latlng_to_cell
    out: list[list[str]] = []
    for i, (lat, lng) in enumerate(
        zip(city.cell_lat.tolist(), city.cell_lng.tolist(), strict=True)
    ):
        fine = to_cell(lat, lng, res0)
        toks = [] if city.h3_resolution is not None else [f"grid:{city.labels[i]}"]
        for lv in cfg.coarse_levels:
            c = h3.cell_to_parent(fine, res0 - lv) if lv else fine
            toks.append(c)
            if cfg.rings:
                toks.extend(sorted(h3.grid_ring(c, 1)))
        out.append(toks)
    return out


def build_vocabulary(city: City, cfg: CVNetConfig) -> list[str]:
    """Every token the training city activates, sorted (row ``2 + i`` of the embedding)."""
    return sorted({t for toks in city_tokens(city, cfg) for t in toks})


# -- time features


def time_features(t_s: torch.Tensor, weekday: torch.Tensor, cfg: CVNetConfig) -> torch.Tensor:
    """Time features, shape (B, ``cfg.n_time_features``): sin/cos of the time of day at each
    period, the fraction of the day elapsed (clamped to 0..1.5), the weekday one-hot."""
    t = t_s.to(torch.float32)
    feats = []
    for p in cfg.time_periods_h:
        a = t * (2.0 * math.pi / (p * 3600.0))
        feats.append(torch.sin(a))
        feats.append(torch.cos(a))
    if cfg.linear_time:
        feats.append(torch.clamp(t / DAY_S, 0.0, 1.5))
    out = torch.stack(feats, dim=1) if feats else t.new_zeros((t.shape[0], 0))
    if cfg.weekday_onehot:
        oh = torch.nn.functional.one_hot(weekday.to(torch.int64), 7).to(torch.float32)
        out = torch.cat([out, oh], dim=1)
    return out


# -- HL-Gauss


def hl_gauss_target(y: torch.Tensor, edges: torch.Tensor, sigma: float) -> torch.Tensor:
    """Project scalar targets onto bins as a Gaussian of std ``sigma`` (HL-Gauss).

    ``edges`` has ``bins + 1`` increasing entries; targets are clipped into the support and each
    row is the Gaussian's mass per bin renormalised to sum to 1. Shape (B, bins).
    """
    y = torch.clamp(y, float(edges[0]), float(edges[-1]))
    cdf = torch.special.ndtr((edges[None, :] - y[:, None]) / sigma)
    mass = cdf[:, 1:] - cdf[:, :-1]
    return mass / torch.clamp(cdf[:, -1:] - cdf[:, :1], min=1e-12)


# -- the network


class CVNet(nn.Module):
    """Coarse-coded location embedding + time features → MLP → value (or value-bin logits)."""

    value_scale: torch.Tensor
    """The unit values are learned in, currency units (a buffer)."""
    bin_edges: torch.Tensor
    """HL-Gauss bin edges, in units of the value scale (a buffer)."""
    bin_centres: torch.Tensor
    """HL-Gauss bin centres, in units of the value scale (a buffer)."""

    def __init__(
        self,
        cfg: CVNetConfig,
        vocabulary: Sequence[str],
        base_resolution: int,
        value_scale: float = 1.0,
    ) -> None:
        super().__init__()
        if value_scale <= 0 or not math.isfinite(value_scale):
            raise ConfigError(f"cvnet: value_scale must be a positive number, got {value_scale}")
        self.cfg = cfg
        self.base_resolution = int(base_resolution)
        self.vocabulary = tuple(vocabulary)
        self._row = {tok: i + 2 for i, tok in enumerate(self.vocabulary)}
        n_in = cfg.embed_dim + cfg.n_time_features
        self.embedding = nn.EmbeddingBag(
            len(self.vocabulary) + 2, cfg.embed_dim, mode="sum", padding_idx=PAD
        )
        n_levels = len(cfg.coarse_levels) * (7 if cfg.rings else 1)
        nn.init.normal_(self.embedding.weight, 0.0, 0.3 / math.sqrt(n_levels))
        with torch.no_grad():
            self.embedding.weight[PAD].zero_()
        layers: list[nn.Module] = []
        for h in cfg.hidden:
            layers += [nn.Linear(n_in, h), nn.ReLU()]
            n_in = h
        n_out = cfg.hl_bins if cfg.loss == "hl-gauss" else 1
        layers.append(nn.Linear(n_in, n_out))
        self.head = nn.Sequential(*layers)
        self.register_buffer("value_scale", torch.tensor(float(value_scale)))
        edges = torch.linspace(cfg.hl_min, cfg.hl_max, cfg.hl_bins + 1)
        self.register_buffer("bin_edges", edges)
        self.register_buffer("bin_centres", 0.5 * (edges[1:] + edges[:-1]))

    @property
    def discount(self) -> Discount:
        return self.cfg.discount

    @property
    def resolutions(self) -> list[int]:
        return self.cfg.resolutions(self.base_resolution)

    def bags_for_city(self, city: City) -> np.ndarray:
        """Embedding rows of each city cell's coarse code, shape (C, L), int64, padded with 0;
        ids outside the vocabulary map to the shared out-of-vocabulary row 1."""
        toks = city_tokens(city, self.cfg, self.base_resolution)
        width = max(len(t) for t in toks) if toks else 1
        bags = np.full((len(toks), width), PAD, dtype=np.int64)
        get = self._row.get
        for i, t in enumerate(toks):
            bags[i, : len(t)] = [get(x, OOV) for x in t]
        return bags

    def vocabulary_coverage(self, city: City) -> float:
        """Share of the city's coded ids (all levels) that the vocabulary knows."""
        bags = self.bags_for_city(city)
        used = bags[bags != PAD]
        return float(np.mean(used != OOV)) if used.size else 0.0

    def raw(self, bags: torch.Tensor, t_s: torch.Tensor, weekday: torch.Tensor) -> torch.Tensor:
        """The head's output: the value in units of the value scale, shape (B,), or bin logits,
        shape (B, bins), with the HL-Gauss loss."""
        x = torch.cat([self.embedding(bags), time_features(t_s, weekday, self.cfg)], dim=1)
        out = self.head(x)
        return out if self.cfg.loss == "hl-gauss" else out[:, 0]

    def scaled_value(self, raw: torch.Tensor) -> torch.Tensor:
        """Value in units of the value scale from :meth:`raw`'s output."""
        if self.cfg.loss == "hl-gauss":
            return torch.softmax(raw, dim=1) @ self.bin_centres
        return raw

    def forward(self, bags: torch.Tensor, t_s: torch.Tensor, weekday: torch.Tensor) -> torch.Tensor:
        """``V`` in currency units, shape (B,)."""
        return self.scaled_value(self.raw(bags, t_s, weekday)) * self.value_scale

    def lipschitz_bound(self) -> torch.Tensor:
        """An upper bound of the net's Lipschitz constant (differentiable).

        The product of the operator norms of the head's linear layers, times
        ``max(‖E‖, 1)`` for the input block (the embedding lookup ``E`` beside the identity on the
        time features). With ``inf``, ``‖W‖`` is the max abs row sum and ``‖E‖`` the largest
        absolute entry (a change of one coded cell moves each embedding feature by at most that);
        with ``spectral`` both are largest singular values. ReLU is 1-Lipschitz. For HL-Gauss the
        bound is on the logits.
        """
        emb = self.embedding.weight[2:]
        if self.cfg.lipschitz_norm == "inf":
            e = emb.abs().max() if emb.numel() else emb.new_zeros(())
        else:
            e = torch.linalg.matrix_norm(emb, ord=2)
        bound = torch.clamp(e, min=1.0)
        for m in self.head:
            if isinstance(m, nn.Linear):
                w = m.weight
                if self.cfg.lipschitz_norm == "inf":
                    bound = bound * w.abs().sum(dim=1).max()
                else:
                    bound = bound * torch.linalg.matrix_norm(w, ord=2)
        return bound

    def meta(self) -> dict[str, Any]:
        """What a checkpoint needs to rebuild this net (besides its state)."""
        return {
            "method": METHOD,
            "config": self.cfg.to_dict(),
            "base_resolution": self.base_resolution,
            "resolutions": self.resolutions,
            "gamma": self.cfg.gamma,
            "time_unit_s": self.cfg.time_unit_s,
            "value_scale": float(self.value_scale),
            "vocabulary": list(self.vocabulary),
            "version": __version__,
        }

    @classmethod
    def from_meta(cls, meta: dict[str, Any], state: dict[str, Any] | None = None) -> CVNet:
        """Rebuild a net from checkpoint metadata (and load ``state`` when given)."""
        try:
            cfg = CVNetConfig.from_dict(meta["config"])
            net = cls(cfg, meta["vocabulary"], int(meta["base_resolution"]), meta["value_scale"])
        except (KeyError, TypeError, ConfigError) as e:
            raise ModelError(f"cvnet checkpoint: incomplete metadata ({e})") from None
        if state is not None:
            try:
                net.load_state_dict(state)
            except (RuntimeError, KeyError) as e:
                raise ModelError(
                    f"cvnet checkpoint: weights do not fit the config ({first_line(e)})"
                ) from None
        return net


# -- the value function used by policies


class CVNetValue(ValueFunction):
    """A trained :class:`CVNet` as a batch value function for the simulator.

    :meth:`bind` runs the net once over every (cell, minute of the day) and keeps the table;
    :meth:`value` is then a numpy lookup with linear interpolation in time, microseconds per call
    instead of a forward pass per dispatch round. The trade-off: locations are resolved to their
    city cell (the coarse code of a cell is that of its centre, as in training), time to a
    piecewise-linear curve through minute knots (the net's own time features vary on periods of
    three hours or more, so the interpolation error is tiny), and changing the net's weights needs
    :meth:`refresh`. States at or after midnight (``t_s`` ≥ 24 h) are worth 0, the end of the day.
    """

    def __init__(self, net: CVNet, meta: dict[str, Any] | None = None, step_s: float = 60.0):
        if step_s <= 0:
            raise ConfigError(f"cvnet value: table step must be > 0 seconds, got {step_s}")
        self.net = net.eval()
        self.meta = dict(meta) if meta is not None else net.meta()
        self.discount = net.discount
        self.step_s = float(step_s)
        self._n_knots = int(math.ceil(DAY_S / self.step_s)) + 1
        self._cache: dict[tuple[Any, ...], tuple[np.ndarray, np.ndarray]] = {}
        self.table = np.zeros((0, self._n_knots))
        self.bags = np.zeros((0, 1), dtype=np.int64)

    def bind(self, city: City, weekday: int) -> None:
        super().bind(city, weekday)
        key = (city.name, city.n_cells, hash(city.labels), int(weekday))
        if key not in self._cache:
            bags = self.net.bags_for_city(city)
            self._cache = {key: (bags, self._table(bags, weekday))}
        self.bags, self.table = self._cache[key]
        self._flat = self.table.ravel()

    def refresh(self) -> None:
        """Recompute the table after the net's weights changed."""
        self.table = self._table(self.bags, self.weekday)
        self._flat = self.table.ravel()
        self._cache = {}

    @torch.no_grad()
    def _table(self, bags: np.ndarray, weekday: int) -> np.ndarray:
        n_cells = bags.shape[0]
        knots = np.minimum(np.arange(self._n_knots) * self.step_s, DAY_S)
        param = next(self.net.parameters())
        cell = np.repeat(np.arange(n_cells), knots.size)
        t = np.tile(knots, n_cells)
        out = np.empty(cell.size, dtype=np.float64)
        chunk = 1 << 13
        bags_t = torch.as_tensor(bags, device=param.device)
        for lo in range(0, cell.size, chunk):
            c = torch.as_tensor(cell[lo : lo + chunk], device=param.device)
            tt = torch.as_tensor(t[lo : lo + chunk], dtype=torch.float32, device=param.device)
            wd = torch.full_like(c, int(weekday))
            out[lo : lo + chunk] = self.net(bags_t[c], tt, wd).cpu().numpy()
        return out.reshape(n_cells, knots.size)

    def value(
        self, cell: np.ndarray, lat: np.ndarray, lng: np.ndarray, t_s: np.ndarray
    ) -> np.ndarray:
        cell, t = np.broadcast_arrays(np.asarray(cell, dtype=np.int64), np.asarray(t_s, float))
        pos = np.clip(t, 0.0, DAY_S) / self.step_s
        i = np.minimum(pos.astype(np.int64), self._n_knots - 2)
        w = pos - i
        base = cell * self._n_knots + i
        v = (1.0 - w) * self._flat[base] + w * self._flat[base + 1]
        return np.where(t >= DAY_S, 0.0, v)

    @torch.no_grad()
    def value_exact(self, cell: np.ndarray, t_s: np.ndarray) -> np.ndarray:
        """Values from a forward pass of the net (no table), for checks and online learners."""
        cell, t = np.broadcast_arrays(np.asarray(cell, dtype=np.int64), np.asarray(t_s, float))
        param = next(self.net.parameters())
        bags = torch.as_tensor(self.bags[cell.ravel()], device=param.device)
        tt = torch.as_tensor(t.ravel(), dtype=torch.float32, device=param.device)
        wd = torch.full((cell.size,), int(self.weekday), device=param.device)
        v = self.net(bags, tt, wd).cpu().numpy().astype(np.float64).reshape(cell.shape)
        return np.where(t >= DAY_S, 0.0, v)

    def save(self, path: Path, extra_meta: dict[str, Any] | None = None) -> Path:
        """Write the net and its metadata as a checkpoint (atomically)."""
        return save_cvnet(self.net, path, {**self.meta, **(extra_meta or {})})


def save_cvnet(net: CVNet, path: Path, extra_meta: dict[str, Any] | None = None) -> Path:
    """Write a CVNet checkpoint: the state dict and :meth:`CVNet.meta` plus ``extra_meta``
    (scenario, seeds, days, training config)."""
    from v1d3.value.checkpoint import save_checkpoint

    meta = {**(extra_meta or {}), **net.meta()}
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    save_checkpoint(Path(path), state, meta)
    return Path(path)


def load_cvnet(
    path: Path, city: City | None = None, scenario: Any = None, min_coverage: float = 0.5
) -> CVNetValue:
    """Load a CVNet checkpoint as a value function.

    ``scenario`` (a :class:`~v1d3.demand.config.ScenarioConfig` or a name): refuse a model
    trained on another scenario or H3 resolution. With ``city``: refuse (:class:`ModelError`) a
    model whose vocabulary knows less than ``min_coverage`` of the city's coded cells — a model
    trained on another city.
    """
    from v1d3.value.checkpoint import load_checkpoint

    state, meta = load_checkpoint(Path(path), expect_method=METHOD, scenario=scenario)
    net = CVNet.from_meta(meta, state)
    if city is not None:
        cov = net.vocabulary_coverage(city)
        if cov < min_coverage:
            raise ModelError(
                f"{path}: cvnet model knows {cov:.0%} of city {city.name!r}'s cells; "
                "train one for this city"
            )
    return CVNetValue(net, meta)
