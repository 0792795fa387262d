"""Checking the parameters given to a policy against what its factory or config accepts.

A parameter comes from a user (``config.json``, ``study.json``, ``export-agent``), so an unknown
or missing one is a :class:`~v1d3.errors.ConfigError` naming the policy and the parameter. The
check binds the parameters to the signature before the call, so a ``TypeError`` raised inside a
factory, a bug, is never mistaken for one and reaches the caller as it is.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from v1d3.errors import ConfigError
from v1d3.fields import check_value

__all__ = ["check_params", "check_param_types", "config_from_params"]

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


def check_param_types(fn: Callable[..., Any], label: str, params: Mapping[str, Any]) -> None:
    """Raise ``ConfigError("<label>: <name> must be ...")`` when a parameter given by a user does
    not match the factory's annotation of it (``parents=5`` where ``tuple[int, ...]`` is
    expected), before the factory runs. Parameters passed on through ``**params`` are checked by
    the config they reach. A factory made by the registry for a policy class checks against the
    class's constructor (``fn.param_owner``)."""
    owner: Any = getattr(fn, "param_owner", None)
    try:
        hints = typing.get_type_hints(fn if owner is None else owner.__init__)
    except (NameError, TypeError):  # an annotation that does not resolve: nothing to check
        return
    for name, value in params.items():
        if name in hints:
            check_value(value, hints[name], label, name)


def config_from_params(cls: Callable[..., T], label: str, params: Mapping[str, Any]) -> T:
    """``cls(**params)`` (a policy's config dataclass) once :func:`check_params` passes."""
    check_params(cls, label, **params)
    return cls(**params)
