"""Named, ready-to-run policies: every name usable on the command line and in ``evaluate``.

The registries :data:`DISPATCH` and :data:`REPOSITION` (name → factory), the factories of the
value-based policies (``tabular-td``, ``online-td``, ``cvnet``, ``v1d3``, reposition ``value``;
docs/method.md §6–§9, §11), which load the packaged models when no models folder is given, and
:func:`~v1d3.policies.describe.describe`, which reads off a policy the constants a run saves in
``policies.json``.

A combination is written ``dispatch/reposition`` (e.g. ``distance/stay``, ``v1d3/value``).
Your own policy plugs in by subclassing :class:`~v1d3.dispatch.base.DispatchPolicy` or
:class:`~v1d3.reposition.base.RepositionPolicy` and passing an instance to
:func:`v1d3.eval.run.run_simulation`, or by adding a factory to :data:`DISPATCH` /
:data:`REPOSITION`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from v1d3.dispatch.base import DispatchPolicy
from v1d3.dispatch.baselines import (
    DistanceMatching,
    FareMatching,
    FirstComeFirstServed,
    NearestDriver,
)
from v1d3.errors import ConfigError
from v1d3.kddcup.agent import AGENT_POLICY, make_agent_dispatch, make_agent_reposition
from v1d3.reposition.base import RepositionPolicy
from v1d3.reposition.baselines import RandomNeighbour, Stay, TowardsDemand

__all__ = [
    "DISPATCH",
    "REPOSITION",
    "make_dispatch",
    "make_reposition",
    "split_policy",
    "agent_label",
]

DispatchFactory = Callable[..., DispatchPolicy]
RepositionFactory = Callable[..., RepositionPolicy]


def _plain(cls: type) -> Callable[..., Any]:
    def make(
        models: Path | None = None, scenario: Any = None, dispatch: Any = None, **params: Any
    ) -> Any:
        return cls(**params)

    make.__doc__ = cls.__doc__
    return make


def _lazy(module: str, name: str, doc: str) -> Callable[..., Any]:
    """A factory that imports its module on first use (torch loads only when needed)."""

    def make(*args: Any, **kwargs: Any) -> Any:
        mod = __import__(f"v1d3.policies.{module}", fromlist=[name])
        return getattr(mod, name)(*args, **kwargs)

    make.__doc__ = doc
    return make


DISPATCH: dict[str, DispatchFactory] = {
    "fcfs": _plain(FirstComeFirstServed),
    "nearest": _plain(NearestDriver),
    "distance": _plain(DistanceMatching),
    "fare": _plain(FareMatching),
    "tabular-td": _lazy(
        "value_based",
        "make_tabular_td",
        "Offline tabular TD values (Xu et al. 2018; models/tabular-td.pt), advantage matching.",
    ),
    "online-td": _lazy(
        "value_based",
        "make_online_td",
        "KDD Cup 2020 champion: online tile-coded TD values reset daily, cancel-weighted edges.",
    ),
    "cvnet": _lazy(
        "neural",
        "make_cvnet",
        "Offline CVNet values (Tang et al. 2019; models/cvnet.pt), advantage matching.",
    ),
    "v1d3": _lazy(
        "neural",
        "make_v1d3",
        "V1D3: offline CVNet + online updates every round + hourly ensemble (Tang et al. 2021).",
    ),
    AGENT_POLICY: make_agent_dispatch,
}
"""Dispatch policy factories by name: ``factory(models=folder, scenario=cfg, **params)``."""

REPOSITION: dict[str, RepositionFactory] = {
    "stay": _plain(Stay),
    "random": _plain(RandomNeighbour),
    "demand": _plain(TowardsDemand),
    "value": _lazy(
        "value_based",
        "make_value_reposition",
        "Sample destinations with P ∝ exp(beta·gamma^dt·V) over the dispatch policy's values.",
    ),
    AGENT_POLICY: make_agent_reposition,
}
"""Repositioning policy factories by name: ``factory(models=..., scenario=..., dispatch=...)``."""


def agent_label(name: str) -> str | None:
    """``kdd-agent:<label>`` → ``<label>`` (it tells the agents of one study apart); other
    policy names → None."""
    head, sep, label = name.partition(":")
    return label if sep and head == AGENT_POLICY else None


def _base(name: str) -> str:
    """The registry name of a policy: ``kdd-agent:<label>`` → ``kdd-agent``."""
    return AGENT_POLICY if agent_label(name) is not None else name


def make_dispatch(
    name: str, models: Path | None = None, scenario: Any = None, **params: Any
) -> DispatchPolicy:
    """A fresh dispatch policy by name."""
    try:
        factory = DISPATCH[_base(name)]
    except KeyError:
        raise ConfigError(
            f"unknown dispatch policy {name!r}; expected one of {', '.join(DISPATCH)}"
        ) from None
    try:
        return factory(models=models, scenario=scenario, **params)
    except TypeError as e:
        raise ConfigError(f"dispatch policy {name!r}: bad parameters ({e})") from None


def make_reposition(
    name: str,
    models: Path | None = None,
    scenario: Any = None,
    dispatch: DispatchPolicy | None = None,
    **params: Any,
) -> RepositionPolicy:
    """A fresh repositioning policy by name (``dispatch`` lets it share a value function)."""
    try:
        factory = REPOSITION[_base(name)]
    except KeyError:
        raise ConfigError(
            f"unknown reposition policy {name!r}; expected one of {', '.join(REPOSITION)}"
        ) from None
    try:
        return factory(models=models, scenario=scenario, dispatch=dispatch, **params)
    except TypeError as e:
        raise ConfigError(f"reposition policy {name!r}: bad parameters ({e})") from None


def split_policy(spec: str) -> tuple[str, str]:
    """``"distance/stay"`` → ``("distance", "stay")``; a bare dispatch name means ``/stay``."""
    d, _, r = spec.partition("/")
    return d, (r or "stay")
