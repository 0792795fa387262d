"""Learner settings as two sibling configs: learning offline from past days, and online during one.

- :class:`OfflineTrainConfig`: how :func:`~v1d3.learn.train_neural.train_cvnet` fits a CVNet to
  historical transitions (epochs, minibatches, Adam, target network, early stopping);
- :class:`OnlineTrainConfig`: how a value function learns while a day is simulated (the step
  size of the per-round update, the learner's options, the daily reset and the periodic
  ensemble step towards the offline function).

Both are frozen and checked on construction; the policies of :mod:`v1d3.policies` build them
from their parameters, and a run's ``policies.json`` records what they resolved to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from v1d3.errors import ConfigError
from v1d3.fields import check_fields

if TYPE_CHECKING:
    import torch

__all__ = ["OfflineTrainConfig", "OnlineTrainConfig", "SCHEDULE_FIELDS"]


@dataclass(frozen=True)
class OfflineTrainConfig:
    """How :func:`~v1d3.learn.train_neural.train_cvnet` fits a CVNet to historical transitions."""

    epochs: int = 30
    """Most passes over the training transitions."""
    batch_size: int = 4096
    """Transitions per minibatch."""
    lr: float = 1e-3
    """Adam learning rate."""
    target_sync_steps: int = 200
    """Minibatch steps between two copies of the net into the target network."""
    lipschitz_weight: float = 1e-4
    """Weight ``lambda`` of the Lipschitz-bound penalty (dimensionless).

    Values are learned in units of the value scale, so the weight does not depend on currency."""
    patience: int = 4
    """Stop after this many epochs without a lower held-out TD error (0 = never stop early)."""
    seed: int = 0
    """Seed of the initial weights and of the minibatch order."""
    device: str = "auto"
    """``cpu``, ``cuda`` or ``auto`` (CUDA when available)."""

    def __post_init__(self) -> None:
        check_fields(self, "train config")  # types, finite numbers
        checks = [
            (self.epochs >= 1, "epochs must be >= 1"),
            (self.batch_size >= 1, "batch_size must be >= 1"),
            (self.lr > 0, "lr must be > 0"),
            (self.target_sync_steps >= 1, "target_sync_steps must be >= 1"),
            (self.lipschitz_weight >= 0, "lipschitz_weight must be >= 0"),
            (self.patience >= 0, "patience must be >= 0 epochs"),
            (self.device in ("cpu", "cuda", "auto"), "device must be cpu, cuda or auto"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ConfigError(f"train config: {msg}")

    def torch_device(self) -> torch.device:
        """The device to train on (``auto`` → CUDA when available)."""
        import torch  # only the neural trainer needs it; the configs stay light to import

        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ConfigError("train config: device cuda asked for but CUDA is not available")
        return torch.device(self.device)


@dataclass(frozen=True)
class OnlineTrainConfig:
    """How a value function learns during a simulated day, and how it is pulled back to the
    offline function (V1D3, docs/method.md §9).

    Each learner of :mod:`v1d3.learn` reads the fields it uses (``from_config``);
    :class:`~v1d3.dispatch.advantage.ValueDispatch` applies the daily reset and the ensemble step.
    """

    lr: float | None = None
    """Step size of the per-round update (None = the learner's own default): the fraction of each
    driver's TD error applied per round, dimensionless, for ``ChampionOnlineTD`` (its ``alpha``,
    default 0.025, in (0, 1]), ``PopulationOnlineTD`` (0.025) and ``ResidualOnline`` (0.005 per
    driver and level); Adam's learning rate for ``NeuralOnline`` (1e-4)."""
    centred: bool = True
    """``ResidualOnline``: subtract the round's mean TD error, so that the online values learn
    where drivers do better or worse than the offline ones expect, not a shift of all of them."""
    forget_s: float | None = None
    """``ResidualOnline``: the online corrections fade continuously, ``Δ ← Δ · exp(−dt /
    forget_s)`` every round, seconds (None = only the ensemble step pulls them back)."""
    per_round_decay: bool = True
    """``ChampionOnlineTD``: an idle driver's value decays by the discount of the time since the
    previous observed round (True), or by a whole time unit every round (False, the champion as
    published)."""
    daily_reset: Literal["none", "zero", "offline"] = "none"
    """Before each day: keep the values, set them to 0, or copy the offline function."""
    ensemble_every_s: float = 3600.0
    """Interval of the ensemble step towards the offline function, seconds (needs one)."""
    omega: float = 0.2
    """Weight of the online values in the ensemble step, ``V ← ω V_on + (1 − ω) V_off``
    (dimensionless, in [0, 1])."""

    def __post_init__(self) -> None:
        check_fields(self, "online learning")  # also the Literal fields' allowed values
        if self.ensemble_every_s <= 0:
            raise ConfigError("ensemble_every_s must be > 0 seconds")
        if not 0 <= self.omega <= 1:
            raise ConfigError(f"omega must be in [0, 1], got {self.omega}")
        if self.forget_s is not None and self.forget_s <= 0:
            raise ConfigError(f"forget_s must be > 0 seconds, got {self.forget_s}")

    @staticmethod
    def split(params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """A value policy's parameters as ``(schedule fields, everything else)``: the fields
        every value-based dispatch policy takes (:data:`SCHEDULE_FIELDS`); a policy passes the
        learner's fields (``lr``, ...) from its own named parameters."""
        mine = {k: v for k, v in params.items() if k in SCHEDULE_FIELDS}
        return mine, {k: v for k, v in params.items() if k not in SCHEDULE_FIELDS}


SCHEDULE_FIELDS = ("daily_reset", "ensemble_every_s", "omega")
"""The fields of :class:`OnlineTrainConfig` that say when values are reset or blended, the same
for every learner (the others configure the per-round update)."""
