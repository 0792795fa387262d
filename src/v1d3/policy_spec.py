"""Policies written with their parameters: ``v1d3[omega=0.5,ensemble_every_s=1800]/value``.

A study compares variants of one policy side by side by writing each with its parameters in
brackets after the name; the written form (normalised: parameters in alphabetical order, numbers
as Python writes them) is the variant's name in every table, plot and run folder. Values are
numbers, ``true``/``false``, ``none``, tuples ``(7,6)`` or bare words (``start=zero``); they are
parsed as literals, never evaluated as code. Parameter names are checked against the policy's
factory when the policy is built (:mod:`v1d3.policies.params`).

A name with a label (``kdd-agent:team``) is shown by that name alone: the parameters of such a
policy are given by the study (the agent's folder), not written by the user."""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping
from typing import Any

from v1d3.errors import ConfigError

__all__ = ["split_top", "parse_name", "format_name", "parse_policy", "policy_label"]

_PAIRS = {"[": "]", "(": ")"}
_NAME = re.compile(r"[A-Za-z0-9_.:-]+")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_WORDS = {"true": True, "false": False, "none": None, "null": None}


def split_top(text: str, sep: str) -> list[str]:
    """``text`` split at every ``sep`` outside brackets and quotes (``a[x=1,y=2],b`` → two
    parts; ``a[model='x,y.pt']`` → one)."""
    parts, depth, start = [], 0, 0
    quote = ""
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
            if depth < 0:
                raise ConfigError(f"policy {text!r}: unbalanced {ch!r}")
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth != 0 or quote:
        raise ConfigError(f"policy {text!r}: a bracket or quote is not closed")
    parts.append(text[start:])
    return parts


def _value(text: str, where: str) -> Any:
    t = text.strip()
    if t.lower() in _WORDS:
        return _WORDS[t.lower()]
    if _WORD.fullmatch(t):
        return t  # a bare word: a string
    try:
        v = ast.literal_eval(t)
    except (ValueError, SyntaxError):
        raise ConfigError(
            f"{where}: expected a number, true/false, none, a word or a tuple like (7,6), got {t!r}"
        ) from None
    if isinstance(v, list):
        v = tuple(v)
    scalar = (int, float, str, bool)
    items = v if isinstance(v, tuple) else (v,)
    if any(isinstance(x, float) and not math.isfinite(x) for x in items):
        raise ConfigError(f"{where}: expected a finite number, got {t!r}")
    if isinstance(v, scalar) or (isinstance(v, tuple) and all(isinstance(x, scalar) for x in v)):
        return v
    raise ConfigError(f"{where}: expected a number, a word or a tuple of them, got {t!r}")


def parse_name(text: str) -> tuple[str, dict[str, Any]]:
    """``"v1d3[omega=0.5]"`` → ``("v1d3", {"omega": 0.5})``; a bare name has no parameters."""
    t = text.strip()
    name, bracket, rest = t.partition("[")
    name = name.strip()
    if not _NAME.fullmatch(name):
        raise ConfigError(f"policy {text!r}: expected a name like v1d3 or v1d3[omega=0.5]")
    if not bracket:
        return name, {}
    if not rest.endswith("]"):
        raise ConfigError(f"policy {text!r}: parameters must end with ']'")
    params: dict[str, Any] = {}
    body = rest[:-1]
    for item in split_top(body, ",") if body.strip() else []:
        key, eq, val = item.partition("=")
        key = key.strip()
        if not eq or not _WORD.fullmatch(key):
            raise ConfigError(f"policy {text!r}: expected name=value, got {item.strip()!r}")
        if key in params:
            raise ConfigError(f"policy {text!r}: parameter {key!r} given twice")
        params[key] = _value(val, f"policy {name!r}: parameter {key!r}")
    return name, params


def _fmt(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return {True: "true", False: "false", None: "none"}[v]
    if isinstance(v, (tuple, list)):
        return "(" + ",".join(_fmt(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, str):
        return v if _WORD.fullmatch(v) and v.lower() not in _WORDS else repr(v)
    return repr(v)


def format_name(name: str, params: Mapping[str, Any]) -> str:
    """The written form of a policy and its parameters, names in alphabetical order so that a
    variant has one name however it was written (:func:`parse_name` reads it back); a labelled
    name (``kdd-agent:team``) is written alone."""
    if not params or ":" in name:
        return name
    return f"{name}[{','.join(f'{k}={_fmt(params[k])}' for k in sorted(params))}]"


def parse_policy(spec: str) -> tuple[str, dict[str, Any], str, dict[str, Any]]:
    """``"dispatch[...]/reposition[...]"`` → both names and parameter mappings; a bare dispatch
    means ``/stay``."""
    parts = split_top(spec.strip(), "/")
    if len(parts) > 2:
        raise ConfigError(f"policy {spec!r}: expected dispatch/reposition")
    d, dp = parse_name(parts[0])
    r, rp = parse_name(parts[1]) if len(parts) == 2 else ("stay", {})
    return d, dp, r, rp


def policy_label(
    dispatch: str, dispatch_params: Mapping[str, Any], reposition: str,
    reposition_params: Mapping[str, Any],
) -> str:  # fmt: skip
    """The name of a dispatch/reposition pair in tables: ``v1d3[omega=0.5]/value``."""
    return f"{format_name(dispatch, dispatch_params)}/{format_name(reposition, reposition_params)}"
