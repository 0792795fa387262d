"""Text files in and out: UTF-8 and strict JSON, with one-line errors that name the file.

Every JSON the package writes goes through :func:`json_text`, so it is strict JSON (RFC 8259:
no ``NaN``, no ``Infinity``, which most JSON readers refuse): a non-finite number is a
:class:`~v1d3.errors.DataError` that names the file and the key holding it, raised before the
file is written. Every text file the package reads goes through :func:`read_text` (UTF-8; a
file that is not is one line naming the file and the first bad byte, not a
``UnicodeDecodeError`` traceback), and every JSON file through :func:`read_json` (the same, and
strict: ``NaN`` and ``Infinity`` are refused as the invalid JSON they are, and so is a number
too large for a float, like ``1e999``, which would be read as infinity).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from v1d3.errors import DataError, V1D3Error, first_line

__all__ = ["json_text", "read_text", "read_json", "not_utf8", "non_finite"]


def json_text(obj: Any, where: str = "JSON output", **kw: Any) -> str:
    """``obj`` as strict JSON text (keyword arguments as :func:`json.dumps`'s: ``indent``,
    ``sort_keys``, ``separators``). Numpy scalars and arrays are written as the Python numbers
    and lists they hold. A NaN or an infinity anywhere in ``obj`` is a DataError naming
    ``where`` (the file to be written) and the key that holds it."""
    try:
        return json.dumps(obj, allow_nan=False, default=_plain, **kw)
    except ValueError:  # allow_nan=False: an out-of-range float somewhere in obj
        key, value = non_finite(obj)
        raise DataError(
            f"{where}: {key or 'the value'} is {value}, not a finite number (JSON has no NaN "
            "or infinity)"
        ) from None


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic | np.ndarray):
        return v.tolist()
    raise TypeError(f"Object of type {type(v).__name__} is not JSON serializable")


def non_finite(
    obj: Any, leaf: Callable[[Any], bool | None] | None = None, key: str = ""
) -> tuple[str, Any]:
    """The first non-finite number in ``obj`` (dicts, lists and tuples walked) and the key path
    to it (``("", None)``: none). ``leaf(x)`` tells for values of other kinds whether they are
    all finite (None: not one of its kind), e.g. a tensor."""
    if leaf is not None:
        finite = leaf(obj)
        if finite is not None:
            return ("", None) if finite else (key, obj)
    if isinstance(obj, np.generic | np.ndarray):
        obj = obj.tolist()
    if isinstance(obj, float) and not math.isfinite(obj):
        return key, obj
    items: Any = ()
    if isinstance(obj, dict):
        items = ((f"{key}.{k}" if key else str(k), v) for k, v in obj.items())
    elif isinstance(obj, list | tuple):
        items = ((f"{key}[{i}]", v) for i, v in enumerate(obj))
    for k, v in items:
        found = non_finite(v, leaf, k)
        if found[0]:
            return found
    return "", None


def read_text(
    path: str | os.PathLike[str], what: str = "file", error: type[V1D3Error] = DataError
) -> str:
    """The text of a UTF-8 file. A missing, unreadable or non-UTF-8 file is an ``error``
    naming the file and ``what`` it should be (``"run config"``)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: file not found (expected a {what})") from None
    except IsADirectoryError:
        raise error(f"{path}: a folder, not a {what}") from None
    except OSError as e:
        raise error(f"{path}: cannot read the {what} ({e.strerror or first_line(e)})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise not_utf8(path, e, what, error, offset=e.start) from None


def not_utf8(
    path: str | os.PathLike[str],
    e: UnicodeDecodeError,
    what: str,
    error: type[V1D3Error] = DataError,
    offset: int | None = None,
) -> V1D3Error:
    """The one-line error of a file that is not UTF-8 text: its name, the first bad byte (at
    ``offset`` in the file when known: a reader that decodes in chunks does not know it)."""
    at = f" at byte {offset}" if offset is not None else ""
    bad = e.object[e.start : e.start + 1]
    return error(f"{path}: not UTF-8 text ({bad!r}{at}); expected a {what}")


def read_json(
    path: str | os.PathLike[str], what: str = "JSON file", error: type[V1D3Error] = DataError
) -> Any:
    """The value of a strict JSON file (UTF-8; ``NaN`` and ``Infinity`` are not JSON). A
    missing, unreadable, non-UTF-8 or invalid file is an ``error`` naming the file and
    ``what`` it should be."""
    text = read_text(path, what, error)
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except ValueError as e:
        raise error(f"{path}: not valid JSON ({first_line(e)}); expected a {what}") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):
        raise ValueError(f"{text} is beyond the range of a float")
    return v
