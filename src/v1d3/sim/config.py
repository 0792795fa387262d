"""Typed configuration of the simulation model (KDD Cup 2020 semantics by default)."""

from __future__ import annotations

from dataclasses import dataclass, field

from v1d3.demand.orders import KDD_CANCEL_CURVE
from v1d3.errors import ConfigError
from v1d3.fields import check_fields

__all__ = ["SimConfig"]

DAY_S = 86_400.0
"""One day, seconds: the longest interval a config may ask for, and the end of a day's clock."""


@dataclass(frozen=True)
class SimConfig:
    """How the simulated platform behaves. Every field is saved with each run."""

    round_s: float = 2.0
    """Time between two dispatch rounds, seconds (0.1 to 3600)."""
    patience_s: float = 60.0
    """How long an order waits for a match before it is lost, seconds (unless the data set one)."""
    pickup_radius_m: float = field(default=2000.0, metadata={"flag": "--radius-m"})
    """Largest straight-line driver-to-origin distance of a candidate pair, metres."""
    k_nearest: int = 11
    """Keep only the K nearest available drivers per order (0 = every driver within the radius)."""
    cancellations: bool = True
    """Whether passengers may cancel after assignment (``--no-cancellations``: they never do)."""
    cancel_curve: tuple[float, ...] = KDD_CANCEL_CURVE
    """Cancellation probability at pickup distances 200, 400, ... 2000 m (linear in between)."""
    idle_stay_prob: float = 0.9
    """Probability that an idle driver stays in its cell during one idle-move interval."""
    idle_move_every_s: float = 60.0
    """Interval of idle drift and of repositioning calls, seconds."""
    reposition_after_s: float = 300.0
    """Idle time after which a managed driver is offered to the repositioning policy, seconds."""
    managed_share: float = 1.0
    """Share of the fleet whose idle drivers the repositioning policy manages (0..1)."""
    managed_drivers: int | None = None
    """Number of managed drivers (None = `managed_share` of the fleet). When set it replaces
    `managed_share`, which must then keep its default (1.0): the two would contradict each
    other. The drivers are the first of the same random order `managed_share` takes its share
    from, so for one seed 5 managed drivers are among those of any larger count or share. At
    most the run's number of drivers (rows of `drivers.parquet`)."""
    shift_mean_h: float = field(default=6.0, metadata={"flag": "--shift-hours"})
    """Mean shift length, hours (0 = every driver online the whole horizon)."""
    shift_std_h: float = 2.0
    """Standard deviation of shift lengths, hours."""
    overnight_shifts: bool = True
    """Whole-day runs only: shifts that cross midnight carry over, as on the days before and
    after. The part of a shift past the day's end is worked from the day's start (the previous
    evening's drivers, still online after midnight); each such part is a driver of its own, so
    a run has more drivers than the shifts drawn. ``--no-overnight-shifts`` cuts shifts at the
    horizon instead, as on a platform's first day, when nobody was online the evening before."""

    def __post_init__(self) -> None:
        check_fields(self, "sim config")
        checks = [
            (0.1 <= self.round_s <= 3600, "round_s must be in [0.1, 3600] seconds"),
            (0 <= self.patience_s <= DAY_S, "patience_s must be in [0, 1 day] seconds"),
            (0 < self.pickup_radius_m <= 100_000, "pickup_radius_m must be in (0, 100 km]"),
            (self.k_nearest >= 0, "k_nearest must be >= 0"),
            (len(self.cancel_curve) == 10, "cancel_curve needs 10 probabilities (200..2000 m)"),
            (all(0 <= p <= 1 for p in self.cancel_curve), "cancel_curve values must be in [0, 1]"),
            (0 <= self.idle_stay_prob <= 1, "idle_stay_prob must be in [0, 1]"),
            (0 < self.idle_move_every_s <= DAY_S, "idle_move_every_s must be in (0, 1 day] s"),
            (0 <= self.reposition_after_s <= DAY_S, "reposition_after_s must be in [0, 1 day] s"),
            (0 <= self.managed_share <= 1, "managed_share must be in [0, 1]"),
            (
                self.managed_drivers is None or self.managed_drivers >= 0,
                "managed_drivers must be >= 0 drivers",
            ),
            (
                self.managed_drivers is None or self.managed_share == 1.0,
                "managed_drivers replaces managed_share: give one of the two",
            ),
            (0 <= self.shift_mean_h <= 24, "shift_mean_h must be in [0, 24] hours"),
            (0 <= self.shift_std_h <= 24, "shift_std_h must be in [0, 24] hours"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ConfigError(f"sim config: {msg}")
