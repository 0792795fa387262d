"""Named, ready-to-run policies: every name usable on the command line and in ``evaluate``.

The registries :data:`DISPATCH` and :data:`REPOSITION` (name → factory), the factories of the
value-based policies (``tabular-td``, ``online-td``, ``cvnet``, ``v1d3``, reposition ``value``;
docs/method.md §6–§9, §11), of the critic-free ``ospo`` and ``grpo`` (§13) and of the field's
rebalancers (``min-cost-flow``, ``zhang-pavone``; §11.1), which load the packaged models when
no models folder is given, and :func:`~v1d3.policies.describe.describe`, which reads off a
policy the constants a run saves in ``policies.json``.

A combination is written ``dispatch/reposition`` (e.g. ``distance/stay``, ``v1d3/value``).
Your own policy plugs in by subclassing :class:`~v1d3.dispatch.base.DispatchPolicy` or
:class:`~v1d3.reposition.base.RepositionPolicy` and passing an instance to
:func:`v1d3.eval.run.run_simulation`, or by adding a factory to :data:`DISPATCH` /
:data:`REPOSITION`. A policy may add entries to its finished run's metrics and log meta
(``run_metrics``, ``run_meta``; a KDD agent adds its faults that way).

:func:`make_dispatch` and :func:`make_reposition` check the parameters against the factory's
signature before calling it (:mod:`v1d3.policies.params`): an unknown or missing one is a
:class:`~v1d3.errors.ConfigError` naming the policy and the parameter. The value policies live
in :mod:`~v1d3.policies.table_values` and :mod:`~v1d3.policies.neural` (imported on first use,
so torch loads only when needed) and find their model files with
:func:`~v1d3.policies.models.find_model`.
"""

from __future__ import annotations

import importlib
import inspect
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
from v1d3.kddcup.adapter import AGENT_POLICY, make_agent_dispatch, make_agent_reposition
from v1d3.policies.params import check_param_types, check_params
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
    """A factory of a policy class whose constructor takes the parameters (its signature is the
    registry's three arguments and the constructor's parameters, so they are checked)."""

    def make(
        models: Path | None = None, scenario: Any = None, dispatch: Any = None, **params: Any
    ) -> Any:
        return cls(**params)

    head = list(inspect.signature(make).parameters.values())[:3]
    own = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for p in inspect.signature(cls).parameters.values()
    ]
    make.__signature__ = inspect.Signature(head + own)  # type: ignore[attr-defined]
    make.param_owner = cls  # type: ignore[attr-defined]
    make.__doc__ = cls.__doc__
    return make


class _Lazy:
    """A factory that imports its module on first use (torch loads only when needed)."""

    def __init__(self, module: str, name: str, doc: str) -> None:
        self.module = f"v1d3.policies.{module}"
        self.name = name
        self.__doc__ = doc

    def load(self) -> Callable[..., Any]:
        """The factory itself (importing its module)."""
        return getattr(importlib.import_module(self.module), self.name)  # type: ignore[no-any-return]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.load()(*args, **kwargs)


def _build(
    kind: str,
    name: str,
    factory: Callable[..., Any],
    context: dict[str, Any],
    params: dict[str, Any],
) -> Any:
    """``factory(**context, **params)`` once the arguments bind to its signature and the user's
    ``params`` match its annotations: an unknown, missing or mistyped parameter is a ConfigError
    naming the policy; a TypeError inside the factory propagates."""
    target = factory.load() if isinstance(factory, _Lazy) else factory
    label = f"{kind} policy {name!r}"
    check_params(target, label, **context, **params)
    check_param_types(target, label, params)
    return target(**context, **params)


DISPATCH: dict[str, DispatchFactory] = {
    "fcfs": _plain(FirstComeFirstServed),
    "nearest": _plain(NearestDriver),
    "distance": _plain(DistanceMatching),
    "fare": _plain(FareMatching),
    "tabular-td": _Lazy(
        "table_values",
        "make_tabular_td",
        "Offline tabular TD values (Xu et al. 2018; models/tabular-td.pt), advantage matching.",
    ),
    "online-td": _Lazy(
        "table_values",
        "make_online_td",
        "KDD Cup 2020 champion: online tile-coded TD values reset daily, cancel-weighted edges.",
    ),
    "cvnet": _Lazy(
        "neural",
        "make_cvnet",
        "Offline CVNet values (Tang et al. 2019; models/cvnet.pt), advantage matching.",
    ),
    "v1d3": _Lazy(
        "neural",
        "make_v1d3",
        "V1D3 (Tang et al. 2021): offline CVNet + online updates every round, faded back to it.",
    ),
    "ospo": _Lazy(
        "ospo",
        "make_ospo",
        "OSPO (Zhao & Li 2025): critic-free pair scores from one-step group rewards (ospo.pt).",
    ),
    "grpo": _Lazy(
        "ospo",
        "make_grpo",
        "GRPO: critic-free pair scores from group-normalised rewards-to-go (grpo.pt).",
    ),
    "remote": _Lazy(
        "remote",
        "make_remote",
        "Decisions from a running `v1d3 serve` (url=http://HOST:PORT): its policy, learning there.",
    ),
    AGENT_POLICY: make_agent_dispatch,
}
"""Dispatch policy factories by name: ``factory(models=folder, scenario=cfg, **params)``."""

REPOSITION: dict[str, RepositionFactory] = {
    "stay": _plain(Stay),
    "random": _plain(RandomNeighbour),
    "demand": _plain(TowardsDemand),
    "value": _Lazy(
        "table_values",
        "make_value_reposition",
        "Sample destinations with P ∝ exp(beta·gamma^dt·V) over the dispatch policy's values.",
    ),
    "min-cost-flow": _Lazy(
        "rebalancers",
        "make_min_cost_flow",
        "MATSim DRT min-cost-flow rebalancing: surplus over alpha·D+beta (forecast D) moved.",
    ),
    "zhang-pavone": _Lazy(
        "rebalancers",
        "make_zhang_pavone",
        "Zhang & Pavone (2016) real-time rebalancing: excess vehicles spread evenly.",
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
    context = {"models": models, "scenario": scenario}
    policy: DispatchPolicy = _build("dispatch", name, factory, context, params)
    return policy


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
    context = {"models": models, "scenario": scenario, "dispatch": dispatch}
    policy: RepositionPolicy = _build("reposition", name, factory, context, params)
    return policy


def split_policy(spec: str) -> tuple[str, str]:
    """``"distance/stay"`` → ``("distance", "stay")``; a bare dispatch name means ``/stay``."""
    d, _, r = spec.partition("/")
    return d, (r or "stay")
