"""Type checks for the fields of the typed configs, from their annotations.

Configs reach the code from the command line (typed by the CLI) and from JSON files written or
edited by hand (``config.json``, ``study.json``), where a ``"hours": "0.5"`` or ``"seed": -1``
would otherwise travel on and fail far away, or, like ``"cancellations": "no"``, silently mean
the opposite. :func:`check_fields` turns each into one :class:`~v1d3.errors.ConfigError` that
names the field.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Literal, Union

from v1d3.errors import ConfigError

__all__ = ["check_fields", "check_value"]


def check_fields(obj: Any, label: str) -> None:
    """Raise ConfigError when a field of dataclass ``obj`` does not match its annotation.

    Numbers: ``float`` fields take ints and floats, which must be finite (in a tuple too: no
    NaN, no infinity anywhere, as a JSON config cannot hold them and no quantity of ours is
    infinite); ``int`` fields take ints only; neither takes a bool. ``label`` prefixes the
    message (``"sim config"``).
    """
    hints = _hints(type(obj))
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        tp = hints[f.name]
        if not _matches(value, tp):
            raise ConfigError(f"{label}: {f.name} must be {_describe(tp)}, got {value!r}")
        _check_finite(value, label, f.name)


def check_value(value: Any, tp: Any, label: str, name: str) -> None:
    """Raise ConfigError ``"<label>: <name> must be <tp>, got <value>"`` unless ``value`` matches
    the annotation ``tp`` (the rules of :func:`check_fields`; a JSON list or a numpy array stands
    for a tuple, a numpy scalar for its Python number)."""
    if hasattr(value, "tolist") and callable(value.tolist):  # a numpy scalar or array
        value = value.tolist()
    v = tuple(value) if isinstance(value, list) else value
    if not _matches(v, tp):
        raise ConfigError(f"{label}: {name} must be {_describe(tp)}, got {value!r}")
    _check_finite(v, label, name)


def _check_finite(value: Any, label: str, name: str) -> None:
    """A float, or a tuple of them, that is NaN or infinite: a ConfigError naming the field."""
    items = value if isinstance(value, tuple) else (value,)
    bad = [x for x in items if isinstance(x, float) and not math.isfinite(x)]
    if bad:
        what = "a finite number" if items is not value else "finite numbers"
        raise ConfigError(f"{label}: {name} must be {what}, got {value}")


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _matches(v: Any, tp: Any) -> bool:
    if tp is Any:
        return True
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Union or origin is types.UnionType:
        return any(_matches(v, a) for a in args)
    if origin is Literal:
        return any(v == a and type(v) is type(a) for a in args)
    if origin is tuple:  # the configs' tuples are tuple[X, ...]
        return isinstance(v, tuple) and all(_matches(x, args[0]) for x in v)
    if origin is dict:
        return isinstance(v, dict) and all(isinstance(k, str) for k in v)
    if tp is type(None):
        return v is None
    if tp is float:
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if tp is int:
        return isinstance(v, int) and not isinstance(v, bool)
    if isinstance(tp, type):
        return isinstance(v, tp)
    return True  # an annotation this checker does not know: leave it to the config's own checks


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Union or origin is types.UnionType:
        return " or ".join(_describe(a) for a in args)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is tuple:
        plural = {float: "numbers", int: "integers", str: "strings", bool: "booleans"}
        return f"a list of {plural.get(args[0], _describe(args[0]))}"
    if origin is dict:
        return "a mapping"
    if tp is type(None):
        return "null"
    names = {float: "a number", int: "an integer", bool: "true or false", str: "a string"}
    if tp in names:
        return names[tp]
    return getattr(tp, "__name__", str(tp))
