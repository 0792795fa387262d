"""Model checkpoints: one ``torch.save`` file ``{"meta": {...}, "state": {...}}``, atomically.

``meta`` says what the model is and what it fits; :func:`load_checkpoint` refuses a file that does
not fit the method or scenario asked for. Keys written by every V1D3 model:

- ``method``: the training method (``tabular-td``, ``cvnet``, ...);
- ``scenario``: the scenario name it was trained on;
- ``h3_resolution``: H3 resolution of the city's cells (None for a grid that is not H3);
- ``h3_resolutions``: (optional) every resolution a coarse coding uses;
- ``gamma``, ``time_unit_s``: the discount; ``bucket_s``: time-bucket length (None if none);
- ``version``: the package version that wrote it (added here).

``state`` holds tensors and plain Python values only, so files load with ``weights_only=True``.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import torch

from v1d3 import __version__
from v1d3.errors import ModelError, first_line
from v1d3.files import atomic_file
from v1d3.geo.city import City
from v1d3.text_files import non_finite

__all__ = ["save_checkpoint", "load_checkpoint", "city_digest", "TABULAR_FILE", "CVNET_FILE"]

TABULAR_FILE = "tabular-td.pt"
"""File name of the tabular model inside a models folder."""
CVNET_FILE = "cvnet.pt"
"""File name of the CVNet model inside a models folder."""


def city_digest(city: City) -> str:
    """A short fingerprint of a city's dense cells (their public ids, in order)."""
    return hashlib.sha1("\n".join(city.labels).encode()).hexdigest()[:16]


def save_checkpoint(path: Path, state: dict[str, Any], meta: dict[str, Any]) -> None:
    """Write ``{"meta": meta + version, "state": state}`` to ``path`` through a temporary file.

    A bad ``path`` (see :func:`~v1d3.files.check_output_path`: a folder, or under a file) is a
    :class:`~v1d3.errors.ConfigError` before anything is written.
    """
    payload = {"meta": {**meta, "version": __version__}, "state": state}
    bad = _unusable(payload)
    if bad:  # a file every later load would refuse: fail here, before writing it
        raise ModelError(f"{path}: not written: {bad} holds NaN or infinite numbers")
    with atomic_file(path) as tmp:
        torch.save(payload, tmp)


_WEIGHTS_ONLY = "WeightsUnpickler error:"
"""Where torch's weights-only loader puts what it met, below a paragraph of advice."""
_GLOBAL = re.compile(r"\bGLOBAL ([\w.]+)")


def _refusal(path: Path, e: Exception) -> str:
    """The one line for a file torch's weights-only loader refused. A file that names code
    (a pickled global: a class, a function) holds objects a model file must not hold: say so,
    and never relay torch's advice, which is to allow that code or to load the file with
    ``weights_only=False``, either of which runs whatever the file was made to run."""
    text = str(e)
    if _WEIGHTS_ONLY in text:
        met = text.split(_WEIGHTS_ONLY, 1)[1]
        name = _GLOBAL.search(met)
        if name is not None or "global" in met.lower():
            what = f" (it refers to {name.group(1)})" if name is not None else ""
            return (
                f"{path}: holds objects a model file must not hold{what}, only tensors and plain "
                "values; refused unread. Use a model file written by v1d3 train"
            )
        # an operand the loader does not know: damaged bytes; the sentence before any advice
        cause = first_line(e, after=_WEIGHTS_ONLY).split(". ")[0].rstrip(".")
    else:
        cause = first_line(e)
    if "weights_only" in cause or "safe_globals" in cause:  # advice, not a cause
        cause = type(e).__name__
    return f"{path}: not a readable v1d3 checkpoint ({cause})"


def _finite_tensor(obj: Any) -> bool | None:
    """Whether a tensor is all finite (None: not a tensor)."""
    if not isinstance(obj, torch.Tensor):
        return None
    return not obj.is_floating_point() or bool(torch.isfinite(obj).all())


def _unusable(payload: dict[str, Any]) -> str:
    """The key path of the first non-finite number a model uses: the weights and the metadata,
    apart from the training history (a record of the epochs, where an epoch's NaN loss may stand
    beside a finite best net)."""
    meta = {k: v for k, v in payload["meta"].items() if k != "history"}
    return non_finite({"meta": meta, "state": payload["state"]}, _finite_tensor)[0]


def load_checkpoint(
    path: Path, expect_method: str | None = None, scenario: Any = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read a checkpoint; returns ``(state, meta)``.

    ``expect_method``: the method the file must hold. ``scenario``: a
    :class:`~v1d3.demand.config.ScenarioConfig` whose name and H3 resolution the file must match,
    or just a scenario name.
    Every failure is a :class:`~v1d3.errors.ModelError` that names the file.
    """
    path = Path(path)
    method = expect_method or path.stem
    if not path.is_file():
        raise ModelError(
            f"{path}: model file not found (train it with: v1d3 train --method {method} ...)"
        )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # junk bytes trip torch's loader in many ways (OSError, EOFError, ...)
        raise ModelError(_refusal(path, e)) from None
    if not isinstance(payload, dict) or not {"meta", "state"} <= set(payload):
        raise ModelError(f"{path}: not a V1D3 model file (no meta/state)")
    meta, state = payload["meta"], payload["state"]
    if not isinstance(meta, dict) or not isinstance(state, dict):
        raise ModelError(f"{path}: not a V1D3 model file (meta/state are not dictionaries)")
    bad = _unusable(payload)
    if bad:
        raise ModelError(
            f"{path}: {bad} holds NaN or infinite numbers; a model file holds finite ones only"
        )
    if expect_method is not None and meta.get("method") != expect_method:
        raise ModelError(
            f"{path}: holds a {meta.get('method')!r} model, expected {expect_method!r}"
        )
    if scenario is not None:
        name = scenario if isinstance(scenario, str) else getattr(scenario, "name", None)
        if meta.get("scenario") is not None and meta["scenario"] != name:
            raise ModelError(
                f"{path}: trained on scenario {meta['scenario']!r}, not {name!r}; "
                f"train it with: v1d3 train --scenario {name} --method {method} ..."
            )
        res = getattr(scenario, "h3_resolution", None)
        if res is not None and meta.get("h3_resolution") not in (None, res):
            raise ModelError(
                f"{path}: trained on H3 resolution {meta['h3_resolution']}, the scenario uses {res}"
            )
    return state, meta
