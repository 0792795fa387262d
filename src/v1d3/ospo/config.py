"""The settings of the critic-free pair scorer and of its two trainers (OSPO, GRPO).

- :class:`ScorerConfig`: what the network is (its hidden layers, ``layers``);
- :class:`PolicyTrainConfig`: how ``v1d3 train --method ospo|grpo`` learns it on simulated days
  (rollouts per update, the reward, the group advantage, PPO-clip with its KL and entropy terms).

Both are frozen, checked on construction and saved with the model (``meta["scorer"]``,
``meta["train"]``), so a model file says every constant it was made with; docs/method.md §13.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from v1d3.errors import ConfigError
from v1d3.fields import check_fields

__all__ = ["ScorerConfig", "PolicyTrainConfig", "METHODS"]

METHODS = ("ospo", "grpo")
"""The two trainers: one-step group rewards (OSPO) or bounded rewards-to-go (GRPO)."""


@dataclass(frozen=True)
class ScorerConfig:
    """The pair-scoring network and its inputs."""

    layers: tuple[int, ...] = (32, 32)
    """Widths of the hidden layers of the MLP (LeakyReLU between them, a linear score out);
    32 × 32 scores a 500-pair round in about 0.1 ms in numpy, 64 × 64 in 0.2 ms."""
    leak: float = 0.01
    """Negative slope of the LeakyReLU between layers (the authors' value)."""

    def __post_init__(self) -> None:
        check_fields(self, "scorer config")
        if not self.layers or min(self.layers) < 1:
            raise ConfigError("scorer config: layers must be one or more widths >= 1")
        if not 0 <= self.leak < 1:
            raise ConfigError("scorer config: leak must be in [0, 1)")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "layers": list(self.layers)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ScorerConfig:
        return cls(**{**d, "layers": tuple(d["layers"])})


@dataclass(frozen=True)
class PolicyTrainConfig:
    """How a pair scorer is learned on simulated days (docs/method.md §13)."""

    days_per_update: int = 2
    """Simulated days rolled out with the current policy before each update (one per worker)."""
    rollout_hours: float | None = None
    """Each rollout simulates this many hours of its day, the start moving on by as much from one
    rollout to the next (0 h, 6 h, 12 h, 18 h for 6), so that more updates fit in the same
    time and every hour of the day is still seen; None = the scenario's own horizon."""
    group_s: float = 60.0
    """A group is the drivers assigned within one window of this length, seconds (the
    authors' one-minute step; a 2-second round alone assigns one or two drivers on a quiet
    day, too few to compare)."""
    groups_per_day: int = 100
    """Windows of each rollout (a day, or its part with ``rollout_hours``) recorded for
    learning: each window is recorded with the probability that makes this many expected."""
    policy_epochs: int = 4
    """Passes over an update's rounds."""
    minibatch_rounds: int = 64
    """Rounds per minibatch step (each round's drivers form one group)."""
    policy_lr: float = 3e-4
    """Adam's learning rate."""
    clip: float = 0.2
    """PPO's clip range: the probability ratio is clipped to [1 − clip, 1 + clip]."""
    kl_weight: float = 0.05
    """Weight of the KL divergence from the policy that rolled the days out (dimensionless)."""
    entropy_weight: float = 0.01
    """Weight of the entropy bonus of each driver's choice among its orders (dimensionless)."""
    grad_clip: float = 1.0
    """Largest gradient norm of a step."""
    explore: float = 1.0
    """Temperature of the Gumbel noise added to the pairs' scores while rolling out (1 = a
    driver's favourite among its orders is a draw from the policy's distribution over them,
    before conflicts are resolved; 0 = no exploration)."""
    pickup_penalty_per_km: float = 10.0
    """The reward of a served trip is also charged this much per km of pickup, currency units
    per km (the authors' reward, too, charges the pickup apart from the trip); without it the
    scorer learned pickups 1.8× those of ``distance``. 10 $/km was the value policies' edge
    penalty when the packaged scorers were trained (theirs is tuned apart since:
    docs/results/tuning.md §10)."""
    time_cost_per_h: float | None = None
    """The reward of a served trip is its fare minus the driver's time it takes (pickup and
    trip) priced at this rate, currency units per hour; a cancelled assignment earns 0. None:
    each rolled-out day's own income per driver online hour (what an hour of a driver's time
    earned that day)."""
    horizon_s: float = 1800.0
    """GRPO: the rewards of a driver's trips that start within this time after the round are
    summed (discounted), seconds."""
    to_go_gamma: float = 0.99
    """GRPO: discount per ``to_go_unit_s`` of the rewards-to-go."""
    to_go_unit_s: float = 60.0
    """GRPO: the discount's time unit, seconds."""
    seed: int = 0
    """Seed of the initial weights, of the exploration noise and of the minibatch order."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """Where the learner runs: ``cpu``, ``cuda`` or ``auto`` (CUDA when available); rollouts
    always run on CPU."""

    def __post_init__(self) -> None:
        check_fields(self, "policy train config")
        checks = [
            (self.days_per_update >= 1, "days_per_update must be >= 1"),
            (
                self.rollout_hours is None or 0 < self.rollout_hours <= 24,
                "rollout_hours must be in (0, 24]",
            ),
            (self.group_s > 0, "group_s must be > 0 seconds"),
            (self.groups_per_day >= 1, "groups_per_day must be >= 1"),
            (self.policy_epochs >= 1, "policy_epochs must be >= 1"),
            (self.minibatch_rounds >= 1, "minibatch_rounds must be >= 1"),
            (self.policy_lr > 0, "policy_lr must be > 0"),
            (0 < self.clip < 1, "clip must be in (0, 1)"),
            (self.kl_weight >= 0, "kl_weight must be >= 0"),
            (self.entropy_weight >= 0, "entropy_weight must be >= 0"),
            (self.grad_clip > 0, "grad_clip must be > 0"),
            (self.pickup_penalty_per_km >= 0, "pickup_penalty_per_km must be >= 0 per km"),
            (self.explore >= 0, "explore must be >= 0"),
            (
                self.time_cost_per_h is None or self.time_cost_per_h >= 0,
                "time_cost_per_h must be >= 0 per hour",
            ),
            (self.horizon_s > 0, "horizon_s must be > 0 seconds"),
            (0 < self.to_go_gamma <= 1, "to_go_gamma must be in (0, 1]"),
            (self.to_go_unit_s > 0, "to_go_unit_s must be > 0 seconds"),
            (self.seed >= 0, "seed must be >= 0"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ConfigError(f"policy train config: {msg}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
