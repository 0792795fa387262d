"""Every path a command is given, made absolute when the command starts.

A parameter is a path when its type is :class:`~pathlib.Path` (``Path | None``,
``list[Path] | None``) or its annotation carries a :class:`PathValue` marker (a path held as
text: ``--models``, the config fields marked ``metadata={"path": True}`` such as ``--trips``,
``--grid`` and ``--kdd-orders``; :mod:`v1d3.options`). :func:`absolute_paths` wraps a command
so that it receives them all absolute (:func:`v1d3.files.absolute`), so nothing that changes the
current folder during a run (an agent's code, a library) moves where it reads or writes.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Union

from v1d3.files import absolute
from v1d3.options import config_options, replace_fields

__all__ = ["PathValue", "PATH", "absolute_paths", "absolute_fields", "path_parameters"]


@dataclass(frozen=True)
class PathValue:
    """Annotation marker of a parameter that holds a path as text. ``after``: only the text
    after the first ``after`` is the path (``NAME=PATH``; without it, the whole text is)."""

    after: str = ""

    def absolute(self, value: Any) -> Any:
        """``value`` (a path, text holding one, or a list of them) with the path made absolute."""
        if isinstance(value, list | tuple):
            return type(value)(self.absolute(v) for v in value)
        if isinstance(value, Path):
            return Path(absolute(value))
        if not isinstance(value, str):
            return value
        if self.after and self.after in value:
            head, sep, tail = value.partition(self.after)
            return f"{head}{sep}{absolute(tail)}"
        return absolute(value)


PATH = PathValue()
"""The marker of a parameter whose whole text is one path."""


def _is_path_type(tp: Any) -> bool:
    """Whether ``tp`` is ``Path``, or a union or list holding it."""
    if tp is Path:
        return True
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType, list, tuple):
        return any(_is_path_type(a) for a in typing.get_args(tp))
    return False


def path_parameters(fn: Callable[..., Any]) -> dict[str, PathValue]:
    """The parameters of command ``fn`` that are paths, with how each is made absolute."""
    out: dict[str, PathValue] = {}
    for name, tp in typing.get_type_hints(fn, include_extras=True).items():
        extras: tuple[Any, ...] = ()
        if typing.get_origin(tp) is Annotated:
            tp, *rest = typing.get_args(tp)
            extras = tuple(rest)
        marker = next((x for x in extras if isinstance(x, PathValue)), None)
        if marker is not None:
            out[name] = marker
        elif _is_path_type(tp):
            out[name] = PATH
    return out


def absolute_paths(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn``, as a command, receiving every path parameter (:func:`path_parameters`) made
    absolute against the folder the command started in."""
    paths = path_parameters(fn)
    if not paths:
        return fn

    @functools.wraps(fn)
    def command(*args: Any, **kwargs: Any) -> Any:
        for name, marker in paths.items():
            if kwargs.get(name) is not None:
                kwargs[name] = marker.absolute(kwargs[name])
        return fn(*args, **kwargs)

    command.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]
    return command


def absolute_fields(config: Any) -> Any:
    """``config`` with every field marked as a path (``metadata={"path": True}``) that is set
    made absolute (for a config read from a file, whose paths the options did not see)."""
    given = {}
    cls: type = type(config)
    for o in config_options(cls):
        value = functools.reduce(getattr, o.path, config)
        if o.is_path and value:
            given[o.name] = absolute(value)
    return replace_fields(config, given, type(config).__name__) if given else config
