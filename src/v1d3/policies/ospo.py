"""The critic-free dispatch policies ``ospo`` and ``grpo``: a pair scorer's model file, loaded.

``<models>/ospo.pt`` or ``grpo.pt`` (the packaged ``manhattan`` models when no models folder is
given; :func:`~v1d3.policies.models.model_path`), written by ``v1d3 train --method ospo|grpo``.
A file for another method, scenario, feature list or city is refused with one line naming it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from v1d3.dispatch.base import DispatchPolicy
from v1d3.ospo.config import ScorerConfig
from v1d3.ospo.net import check_city, load_scorer, model_file
from v1d3.ospo.policy import ScorerDispatch
from v1d3.policies.models import model_path
from v1d3.rounds import DayContext

__all__ = ["make_ospo", "make_grpo", "ModelScorerDispatch"]


class ModelScorerDispatch(ScorerDispatch):
    """A :class:`~v1d3.ospo.policy.ScorerDispatch` from a model file: it refuses, at the day's
    start, a city whose cells differ from those it was trained on."""

    def __init__(self, path: Path, meta: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._path = path
        self._meta = meta

    def _check_city(self, context: DayContext) -> None:
        check_city(self._path, self._meta, context.city)


def _load(method: str, models: Path | None, scenario: Any, model: str) -> DispatchPolicy:
    path = model_path(models, model, method, scenario)
    net, meta = load_scorer(path, method, scenario)
    about = {
        "file": path.name,
        "method": meta.get("method"),
        "scenario": meta.get("scenario"),
        "days": len(meta.get("days", [])),
        "train": meta.get("train"),
        "version": meta.get("version"),
    }
    return ModelScorerDispatch(
        path,
        meta,
        state=net.numpy_state(),
        cfg=ScorerConfig.from_dict(meta["scorer"]),
        name=method,
        model=about,
    )


def make_ospo(
    models: Path | None = None, scenario: Any = None, dispatch: Any = None, model: str = ""
) -> DispatchPolicy:
    """OSPO (Zhao & Li 2025): pair scores learned from one-step rewards normalised across each
    round's assigned drivers (``<models>/ospo.pt``)."""
    return _load("ospo", models, scenario, model or model_file("ospo"))


def make_grpo(
    models: Path | None = None, scenario: Any = None, dispatch: Any = None, model: str = ""
) -> DispatchPolicy:
    """GRPO: pair scores learned from rewards-to-go over a bounded horizon, normalised across
    each round's assigned drivers (``<models>/grpo.pt``)."""
    return _load("grpo", models, scenario, model or model_file("grpo"))
