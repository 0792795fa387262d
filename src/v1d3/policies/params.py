"""Checking the parameters given to a policy against what its factory or config accepts.

A parameter comes from a user (``config.json``, ``study.json``, ``export-agent``), so an unknown
or missing one is a :class:`~v1d3.errors.ConfigError` naming the policy and the parameter. The
check binds the parameters to the signature before the call, so a ``TypeError`` raised inside a
factory, a bug, is never mistaken for one and reaches the caller as it is.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from v1d3.errors import ConfigError

__all__ = ["check_params", "config_from_params"]

T = TypeVar("T")


def check_params(fn: Callable[..., Any], label: str, /, **params: Any) -> None:
    """Raise ``ConfigError("<label>: bad parameters (...)")`` unless ``fn(**params)`` binds.

    ``label`` names the policy (``"dispatch policy 'fare'"``); the message names the parameter
    (``got an unexpected keyword argument 'top'``, ``missing a required argument: 'path'``).
    """
    try:
        inspect.signature(fn).bind(**params)
    except TypeError as e:
        raise ConfigError(f"{label}: bad parameters ({e})") from None


def config_from_params(cls: Callable[..., T], label: str, params: Mapping[str, Any]) -> T:
    """``cls(**params)`` (a policy's config dataclass) once :func:`check_params` passes."""
    check_params(cls, label, **params)
    return cls(**params)
