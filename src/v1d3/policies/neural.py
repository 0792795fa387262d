"""Named neural value-based dispatch policies: ``cvnet`` and ``v1d3``.

Factories have the registry's signature ``factory(models, scenario, dispatch=None, **params)``;
``params`` are the fields of :class:`~v1d3.dispatch.advantage.ValueDispatchConfig` (e.g.
``top_k=5``) and of :class:`~v1d3.learn.config.OnlineTrainConfig` (``omega=0.2``,
``ensemble_every_s=3600``) plus the online learner's own settings.

Without a models folder the packaged ``manhattan`` model is used
(:func:`~v1d3.policies.models.find_model`).

- ``cvnet`` (Tang et al. 2019): the offline CVNet from ``<models>/cvnet.pt``, advantage matching.
- ``v1d3`` (Tang et al. 2021): the same offline CVNet as the starting point of online values that
  learn from every dispatch round and fade back to the offline ones (:data:`V1D3_SCHEDULE`;
  the paper's hourly ensemble step with ``omega = 0.2`` is a parameter away); see
  :mod:`v1d3.learn.online_neural`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Literal

from v1d3.dispatch.advantage import ValueDispatch, ValueDispatchConfig
from v1d3.dispatch.base import DispatchPolicy
from v1d3.errors import ConfigError, ModelError
from v1d3.fields import check_value
from v1d3.learn.config import OnlineTrainConfig
from v1d3.learn.online_neural import NeuralOnline, ResidualOnline, residual_ensemble
from v1d3.policies.models import model_path, value_dispatch_params
from v1d3.policies.params import config_from_params
from v1d3.value.base import ZeroValue
from v1d3.value.checkpoint import CVNET_FILE
from v1d3.value.cvnet import CVNetValue, load_cvnet
from v1d3.value.online import OnlineCVNetValue, ResidualValue
from v1d3.value.prior import PriorCorrectedValue, file_sha256, load_prior

__all__ = ["V1D3_SCHEDULE", "make_cvnet", "make_v1d3", "load_offline_cvnet"]

V1D3_SCHEDULE: dict[str, Any] = {"forget_s": 3600.0, "omega": 1.0}
"""How ``v1d3`` (residual, from the offline start) pulls its online correction back, unless a
parameter says otherwise: it fades continuously, ``Δ ← Δ · exp(−dt / forget_s)`` every round
(``forget_s`` in seconds), and the hourly ensemble step leaves it (``omega`` 1). The paper's
schedule, the correction cut to ``ω = 0.2`` of itself on the hour, is
``v1d3[forget_s=none,omega=0.2]``. Chosen on days outside every study: docs/results/tuning.md
§11."""


def load_offline_cvnet(
    models: Path | None, scenario: Any, method: str, file: str = CVNET_FILE
) -> CVNetValue:
    """``<models>/<file>`` (``cvnet.pt``) as a value function (the packaged model when ``models``
    is None); a :class:`ModelError` naming the missing file and the command that trains it
    otherwise. ``file`` is a file name in the models folder, never a path."""
    note = ""
    if file != CVNET_FILE:  # train writes cvnet.pt: name where the other file comes from
        note = f" (it writes {CVNET_FILE}; copy it as {file}, e.g. after --loss hl-gauss)"
    path = model_path(models, file, method, scenario, "cvnet", note)
    return load_cvnet(path, scenario=scenario)


def with_prior(
    value: CVNetValue,
    models: Path | None,
    scenario: Any,
    method: str,
    prior: str | None,
    scale: float,
    model: str,
) -> Any:
    """``value`` (loaded from ``<models>/<model>``) plus the prior correction
    ``<models>/<prior>`` (:mod:`v1d3.value.prior`) at weight ``scale``, or ``value`` itself when
    ``prior`` is None or ``none``. A prior learned over another offline model is refused."""
    if prior is None or prior == "none":
        if scale != 1.0:
            raise ConfigError(f"{method}: prior_scale needs a prior (prior=v1d3-prior.npz)")
        return value
    if Path(prior).name != prior or Path(prior).suffix != ".npz":
        raise ConfigError(
            f"{method}: prior must be an .npz file name in the models folder or none, got {prior!r}"
        )
    path = model_path(models, prior, method, scenario, "prior")
    got = load_prior(path)
    net = model_path(models, model, method, scenario, "cvnet")
    if got.model_sha256 != file_sha256(net):
        raise ModelError(
            f"{path}: learned over another offline model than {net}; rebuild it with "
            f"v1d3 train --method prior"
        )
    return PriorCorrectedValue(value, got.prior, got.labels, scale, source=str(path))


def make_cvnet(
    models: Path | None = None,
    scenario: Any = None,
    dispatch: Any = None,
    model: str = CVNET_FILE,
    prior: str | None = None,
    prior_scale: float = 1.0,
    **params: Any,
) -> DispatchPolicy:
    """Offline CVNet values (``<models>/<model>``, default ``cvnet.pt``) with advantage
    matching; ``prior``/``prior_scale`` as for ``v1d3`` (the offline half of it alone)."""
    value = load_offline_cvnet(models, scenario, "cvnet", model)
    value = with_prior(value, models, scenario, "cvnet", prior, prior_scale, model)
    online, params = OnlineTrainConfig.split(params)
    params = value_dispatch_params(params)
    cfg = config_from_params(ValueDispatchConfig, "dispatch policy 'cvnet'", params)
    return ValueDispatch(value, cfg, online=OnlineTrainConfig(**online))


def make_v1d3(
    models: Path | None = None,
    scenario: Any = None,
    dispatch: Any = None,
    online: Literal["residual", "neural"] = "residual",
    lr: float | None = None,
    bucket_s: float | None = None,
    parents: tuple[int, ...] = (7, 6),
    centred: bool = True,
    start: Literal["offline", "zero"] = "offline",
    model: str = CVNET_FILE,
    horizon_s: float | None = None,
    prior: str | None = None,
    prior_scale: float = 1.0,
    **params: Any,
) -> DispatchPolicy:
    """V1D3: offline CVNet (``<models>/cvnet.pt``) + online updates every round, pulled back
    towards the offline values (by default continuously, :data:`V1D3_SCHEDULE`).

    ``online``: ``residual`` (default; an online table over the offline values, closed-form
    population TD steps, a fraction of a millisecond per round) or ``neural`` (a copy of the net,
    one Adam step per round; slower). ``lr``: the learner's rate (default 0.005 per driver and
    level for ``residual``, 1e-4 Adam for ``neural``). ``bucket_s``: time-bucket length of the
    residual table, seconds (default None: by location only, so a correction learned now also
    applies to the drop-off states of trips, docs/method.md §10). ``parents``: coarser H3
    resolutions whose cells carry shared residual entries (coarse coding, like the offline
    net's location code), so that a correction learned from the few drivers free in one cell
    reaches its neighbours. ``centred``: each round's TD errors minus their mean, so that the
    online values learn where drivers do better or worse than the offline values expect rather
    than a shift of all values (a shift acts as a heavier time discount and trades income for
    short trips). ``start``: ``offline`` (V1D3) or ``zero``: the residual table learned from
    nothing over ``V = 0``, never blended (the ablation "online only"; the offline model gives
    only the discount). ``model``: the offline model's file in the models folder.
    ``horizon_s``: the residual's correction fades into the future with this time constant,
    seconds (None = it applies in full to every later state, such as a drop-off 40 minutes
    ahead). ``forget_s`` (an :class:`~v1d3.learn.config.OnlineTrainConfig` field, as ``omega``
    and ``ensemble_every_s``): the correction fades continuously with this time constant,
    seconds (None = only the ensemble step pulls it back). ``prior``: a prior correction file in
    the models folder (``v1d3-prior.npz``, :mod:`v1d3.value.prior`; None = none): the day
    starts from, and is pulled back to, the offline values plus ``prior_scale`` times the
    correction learned on historical days.

    How these defaults were chosen: docs/results/tuning.md §3 and §11.
    """
    if "forget_s" in params:  # an OnlineTrainConfig field, read here: checked here
        check_value(params["forget_s"], float | None, "dispatch policy 'v1d3'", "forget_s")
    if online == "residual" and start == "offline":
        params = {**V1D3_SCHEDULE, **params}
    forget_s = params.pop("forget_s", None)
    offline = load_offline_cvnet(models, scenario, "v1d3", model)
    base = with_prior(offline, models, scenario, "v1d3", prior, prior_scale, model)
    schedule, params = OnlineTrainConfig.split(params)
    learning = OnlineTrainConfig(**schedule, lr=lr, centred=centred, forget_s=forget_s)
    params = value_dispatch_params(params)
    cfg = config_from_params(ValueDispatchConfig, "dispatch policy 'v1d3'", params)
    if start not in ("offline", "zero"):
        raise ConfigError(f"v1d3: start must be 'offline' or 'zero', got {start!r}")
    if start == "zero":
        if online != "residual" or base is not offline or forget_s is not None:
            raise ConfigError("v1d3: start='zero' needs online='residual', no prior, no forget_s")
        zero = ZeroValue(offline.discount)
        value0 = ResidualValue(zero, bucket_s, parents=tuple(parents), horizon_s=horizon_s)
        learner0 = ResidualOnline.from_config(learning)
        learning = dataclasses.replace(learning, lr=learner0.lr)
        return ValueDispatch(value0, cfg, learner0, online=learning)
    if online == "residual":
        value: Any = ResidualValue(base, bucket_s, parents=tuple(parents), horizon_s=horizon_s)
        learner: Any = ResidualOnline.from_config(learning)
    elif online == "neural":
        if horizon_s is not None or forget_s is not None or base is not offline:
            raise ConfigError("v1d3: horizon_s, forget_s and prior need online='residual'")
        value = OnlineCVNetValue(offline)
        learner = NeuralOnline.from_config(learning)
    else:
        raise ConfigError(f"v1d3: online must be 'residual' or 'neural', got {online!r}")
    learning = dataclasses.replace(learning, lr=learner.lr)  # the rate it resolved to
    return ValueDispatch(value, cfg, learner, base, ensemble=residual_ensemble, online=learning)
