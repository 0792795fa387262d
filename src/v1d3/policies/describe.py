"""What a policy instance is made of, as JSON: the constants a run is saved with.

A run's ``config.json`` names its policies and the parameters given to them; the constants they
then resolved to (defaults included: edge-weight settings, discount, learning rates, ensemble
weight, sampling temperature, network sizes, checkpoint metadata) are read off the instances by
:func:`describe` and saved beside it. Custom policies are described the same way, so keeping
their constants in public attributes (a config dataclass is best) is all it takes.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import Any

__all__ = ["describe"]

SKIP = frozenset({"context", "city"})
"""Attributes that hold the day's state, not the policy's constants."""
MAX_DEPTH = 6
"""How deep components (value function, learner, network) are followed."""
MAX_ITEMS = 64
"""Longest sequence or mapping kept; longer ones are data, not constants."""
_FOREIGN = frozenset({"numpy", "torch", "scipy", "pandas", "pyarrow", "builtins", "collections"})
"""Packages whose objects are data or machinery, never a policy's constants."""
_DROP = object()
"""What :func:`_value` answers for a value that is left out."""


def describe(**objects: Any) -> dict[str, Any]:
    """The class and public constants of each named object, recursively, as JSON-ready values.

    ``describe(dispatch=d, reposition=r)`` → ``{"dispatch": {...}, "reposition": {...}}``.
    Kept: numbers, strings, booleans, ``None``, short sequences and mappings of those,
    dataclasses, and objects of this package or of the caller's (followed ``MAX_DEPTH`` levels
    deep). An object met a second time — a value function shared by dispatch and repositioning —
    is given as ``{"class": ..., "same_as": "dispatch.value"}``. Left out: private attributes,
    arrays, tensors and the day's context.
    """
    seen: dict[int, str] = {}
    return {name: _object(obj, 0, seen, name) for name, obj in objects.items()}


def _object(obj: Any, depth: int, seen: dict[int, str], path: str) -> dict[str, Any]:
    out: dict[str, Any] = {"class": f"{type(obj).__module__}.{type(obj).__qualname__}"}
    if id(obj) in seen:
        out["same_as"] = seen[id(obj)]
        return out
    seen[id(obj)] = path
    if depth >= MAX_DEPTH:
        return out
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        items = [(f.name, getattr(obj, f.name)) for f in dataclasses.fields(obj)]
    else:
        items = list(getattr(obj, "__dict__", {}).items())
    for key, value in items:
        if key.startswith("_") or key in SKIP:
            continue
        v = _value(value, depth + 1, seen, f"{path}.{key}")
        if v is not _DROP:
            out[key] = v
    return out


def _value(v: Any, depth: int, seen: dict[int, str], path: str) -> Any:
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, enum.Enum):
        return v.value if isinstance(v.value, (int, float, str)) else v.name
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return float(v) if math.isfinite(v) else str(v)  # JSON has no inf/nan
    if type(v).__module__ == "numpy" and getattr(v, "ndim", None) == 0:
        return _value(v.item(), depth, seen, path)  # numpy scalars
    if isinstance(v, (list, tuple)):
        if len(v) > MAX_ITEMS:
            return _DROP
        items = [_value(x, depth, seen, f"{path}[{i}]") for i, x in enumerate(v)]
        return _DROP if any(x is _DROP for x in items) else items
    if isinstance(v, dict):
        if len(v) > MAX_ITEMS:
            return _DROP
        d = {str(k): _value(x, depth, seen, f"{path}.{k}") for k, x in v.items()}
        return {k: x for k, x in d.items() if x is not _DROP}
    if callable(v) and hasattr(v, "__qualname__"):  # a function or class plugged in
        return f"{getattr(v, '__module__', '?')}.{v.__qualname__}"
    module = type(v).__module__.split(".")[0]
    if dataclasses.is_dataclass(v) or module not in _FOREIGN:
        return _object(v, depth, seen, path)
    return _DROP
