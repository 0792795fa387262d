"""Where the value policies find their model files, and the settings the model-based ones share.

:func:`find_model` is the one place a policy factory resolves ``<models>/<file>``: the given
models folder, else the models shipped in the package (:data:`PACKAGED_MODELS`, ``manhattan``;
see its README.md); :func:`model_path` adds the checks and the one-line refusals every factory
gives. :func:`packaged_models` is that folder when it exists (the default of
``v1d3 evaluate --models``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from v1d3.errors import ConfigError, ModelError

__all__ = [
    "PACKAGED_MODELS",
    "VALUE_DISPATCH_DEFAULTS",
    "value_dispatch_params",
    "find_model",
    "model_path",
    "packaged_models",
]

PACKAGED_MODELS = Path(__file__).resolve().parent.parent / "data" / "models"
"""The models shipped with the package (``manhattan``; see its README.md), used when no models
folder is given."""

VALUE_DISPATCH_DEFAULTS: dict[str, Any] = {"pickup_penalty_per_km": 15.0, "pair_bonus": 20.0}
"""Dispatch settings of ``tabular-td``, ``cvnet`` and ``v1d3`` that differ from
:class:`~v1d3.dispatch.advantage.ValueDispatchConfig`'s defaults (a parameter overrides them);
shared, so that these methods compare value functions, not edge weights.

``pickup_penalty_per_km`` (currency units per km of pickup, docs/method.md §3): the advantage
already charges a pickup its discounting, but with that alone value-based matching buys income
with pickups 1.6× those of ``distance``. ``pair_bonus`` (currency units per served order): the
matching serves an order only where that is worth more than its advantage costs, instead of
always serving as many as it can. How 15 $/km and $20 were chosen (together, on days outside
every study): docs/results/tuning.md §1 and §10. With more drivers the bonus leaves orders
that were worth serving; ``slack_drivers_per_order=2.0`` (off here) serves every order it can
in the rounds with drivers to spare (§12)."""


def value_dispatch_params(params: dict[str, Any]) -> dict[str, Any]:
    """A value policy's dispatch settings: :data:`VALUE_DISPATCH_DEFAULTS` under the given
    ones. Asking for ``drop_negative`` (another rule for when a pair is worth serving) sets the
    default ``pair_bonus`` aside; ``pair_bonus=none`` brings back the lexicographic lift."""
    merged = {**VALUE_DISPATCH_DEFAULTS, **params}
    if params.get("drop_negative") and "pair_bonus" not in params:
        merged.pop("pair_bonus")
    return merged


def packaged_models() -> Path | None:
    """The models folder shipped inside the package (``v1d3/data/models``), if there is one."""
    return PACKAGED_MODELS if PACKAGED_MODELS.is_dir() else None


def find_model(models: Path | str | None, file: str) -> Path | None:
    """The model file a policy reads: ``<models>/<file>`` when a models folder is given (whether
    or not the file is there: the caller names what is missing), else the packaged ``file`` when
    the package ships it, else None (the caller says how to train it)."""
    if models is not None:
        return Path(models) / file
    packaged = PACKAGED_MODELS / file
    return packaged if packaged.is_file() else None


def model_path(
    models: Path | None, file: str, policy: str, scenario: Any, method: str = "", note: str = ""
) -> Path:
    """The existing model file ``file`` of policy ``policy`` (:func:`find_model`), or a one-line
    refusal: a :class:`ConfigError` when ``file`` is not a bare file name, a
    :class:`ModelError` naming the missing file and the ``v1d3 train --method METHOD``
    (default ``policy``) command that writes it, followed by ``note``."""
    if not file or Path(file).name != file or file in (".", ".."):
        raise ConfigError(f"{policy}: model must be a file name in the models folder, got {file!r}")
    name = None if scenario is None else str(getattr(scenario, "name", scenario))
    train = f"v1d3 train --scenario {name or 'SCENARIO'} --method {method or policy} --out DIR"
    train += note
    path = find_model(models, file)
    if path is None:
        raise ModelError(f"{policy} needs {file} in a models folder (--models DIR); {train}")
    if not path.is_file():
        raise ModelError(f"{policy}: model file {path} not found; train it with: {train}")
    return path
