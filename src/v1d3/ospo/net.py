"""The pair-scoring network: an MLP from a pair's :data:`~v1d3.ospo.features.FEATURES` to a score,
trained in torch and evaluated in numpy.

A driver's choice among its candidate orders is the softmax of their scores (docs/method.md §13);
the dispatch matching then works on those probabilities. The columns are standardised with the
mean and spread saved with the weights (measured on the first rollout's pairs), so a model file
is all a policy needs. Evaluation runs the same layers in numpy (:class:`NumpyScorer`): a round's
few hundred pairs cost tens of microseconds that way, against a fixed overhead per call in torch.

Model files are checkpoints of :mod:`v1d3.value.checkpoint` (``ospo.pt``, ``grpo.pt``); loading
refuses a file for another method, scenario, city or feature list with one line naming it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from v1d3.errors import ConfigError, ModelError
from v1d3.geo.city import City
from v1d3.ospo.config import ScorerConfig
from v1d3.ospo.features import FEATURES
from v1d3.value.checkpoint import city_digest, load_checkpoint, save_checkpoint

__all__ = [
    "PairScorer",
    "NumpyScorer",
    "save_scorer",
    "load_scorer",
    "model_file",
    "check_city",
]


def model_file(method: str) -> str:
    """The model's file name in a models folder: ``ospo.pt`` or ``grpo.pt``."""
    return f"{method}.pt"


class PairScorer(nn.Module):
    """``score = MLP((x − mean) / std)``; the last layer starts at zero (every order equally
    likely), so the first rollout's policy is uniform whatever the features' scale."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, cfg: ScorerConfig, n_features: int = len(FEATURES)) -> None:
        super().__init__()
        widths = [n_features, *cfg.layers]
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:], strict=True):
            layers += [nn.Linear(a, b), nn.LeakyReLU(cfg.leak)]
        last = nn.Linear(widths[-1], 1)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.mlp = nn.Sequential(*layers, last)
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("std", torch.ones(n_features))
        self.cfg = cfg

    def set_scale(self, x: np.ndarray) -> None:
        """Standardise with the mean and spread of the raw feature rows ``x``. A column that
        never varies there (``weekend`` when every day learned from is a weekday) gets spread 1
        and no weight: it enters the network as 0 while learning, so it must not shift the
        scores of a day where it differs."""
        mean = x.mean(axis=0, dtype=np.float64)
        std = x.std(axis=0, dtype=np.float64)
        constant = std < 1e-6
        std[constant] = 1.0
        first = self.mlp[0]
        assert isinstance(first, nn.Linear)
        with torch.no_grad():
            first.weight[:, torch.as_tensor(constant)] = 0.0
        self.mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.std.copy_(torch.as_tensor(std, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Scores of raw feature rows, shape (n,)."""
        return self.mlp((x - self.mean) / self.std).squeeze(-1)  # type: ignore[no-any-return]

    def numpy_state(self) -> dict[str, np.ndarray]:
        """The weights as float32 numpy arrays (what :class:`NumpyScorer` and rollouts take)."""
        return {
            k: v.detach().cpu().numpy().astype(np.float32) for k, v in self.state_dict().items()
        }


class NumpyScorer:
    """The forward pass of :class:`PairScorer` in numpy (from :meth:`PairScorer.numpy_state`),
    on feature rows (features, pairs); the standardisation is folded into the first layer."""

    def __init__(self, state: dict[str, np.ndarray], cfg: ScorerConfig) -> None:
        self.leak = cfg.leak
        keys = sorted(
            (k for k in state if k.startswith("mlp.") and k.endswith(".weight")),
            key=lambda k: int(k.split(".")[1]),
        )
        layers = [
            (state[k].astype(np.float64), state[k[:-6] + "bias"].astype(np.float64)) for k in keys
        ]
        inv_std = 1.0 / state["std"].astype(np.float64)
        w0, b0 = layers[0]
        layers[0] = (w0 * inv_std, b0 - (w0 * inv_std) @ state["mean"].astype(np.float64))
        self.layers = [
            (np.ascontiguousarray(w, dtype=np.float32), b.astype(np.float32)[:, None])
            for w, b in layers
        ]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Scores (float32, shape (pairs,)) of raw feature rows ``x`` (features, pairs)."""
        h = x
        last = len(self.layers) - 1
        for i, (w, b) in enumerate(self.layers):
            h = w @ h
            h += b
            if i < last:
                np.maximum(h, self.leak * h, out=h)
        return h[0]


def save_scorer(net: PairScorer, path: Path, meta: dict[str, Any]) -> Path:
    """Write the model and its ``meta`` (method, scenario, city, train config, history, ...),
    with the scorer's config and :data:`FEATURES`, through a temporary file."""
    state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
    full = {**meta, "scorer": net.cfg.to_dict(), "features": list(FEATURES)}
    save_checkpoint(Path(path), state, full)
    return Path(path)


def load_scorer(path: Path, method: str, scenario: Any = None) -> tuple[PairScorer, dict[str, Any]]:
    """The network and meta of model file ``path``; a :class:`ModelError` naming the file when
    it holds another method, scenario or feature list, or weights of the wrong shape."""
    state, meta = load_checkpoint(path, expect_method=method, scenario=scenario)
    features = meta.get("features")
    if features != list(FEATURES):
        given = features if isinstance(features, list) else []
        pairs = zip(given, FEATURES, strict=False)
        at = next((i for i, (a, b) in enumerate(pairs) if a != b), min(len(given), len(FEATURES)))
        theirs = repr(given[at]) if at < len(given) else "nothing"
        raise ModelError(
            f"{path}: made for another feature list ({len(given)} features; feature {at} is "
            f"{theirs}, this version computes {FEATURES[at] if at < len(FEATURES) else 'none'!r}"
            f"); retrain it with: v1d3 train --method {method} ..."
        )
    try:
        net = PairScorer(ScorerConfig.from_dict(meta["scorer"]))
        net.load_state_dict(state)
    except (KeyError, TypeError, ValueError, RuntimeError, ConfigError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelError(f"{path}: not a usable {method} model ({first})") from None
    if not bool((net.std > 0).all()):
        raise ModelError(f"{path}: not a usable {method} model (a feature's spread is not > 0)")
    return net.eval(), meta


def check_city(path: Path | str, meta: dict[str, Any], city: City) -> None:
    """A :class:`ModelError` naming ``path`` when the model was trained on another city's cells."""
    if meta.get("city") != city_digest(city):
        raise ModelError(
            f"{path}: trained on another city's cells (digest {meta.get('city')}, this city's "
            f"is {city_digest(city)}); retrain it on this scenario"
        )
