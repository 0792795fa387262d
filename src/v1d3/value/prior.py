"""The online correction learned on historical days, applied from the start of a new day.

On plain days what the online half of V1D3 learns is mostly systematic, not particular to the
day: the offline network's misfit to the policy that is deployed (it was fitted to ``distance``
trajectories, and its time features have periods of hours). :class:`PriorCorrectedValue` adds
that misfit back offline: ``V_base(s) = V_off(s) + scale · P(hour(t), cell)``, with ``P`` the
mean, over simulated historical days, of the hour-end corrections ``V_on − V_off`` that
``v1d3`` recorded there (:func:`~v1d3.value.corrections.hour_end_corrections`). The online half
then starts every day from ``V_base``, its ensemble steps pull back to ``V_base``, and what it
learns is what is new on the day (docs/method.md §9).

The table is a model file (:data:`PRIOR_FILE`, an ``.npz``): ``prior`` (24 × cells, currency
units), ``cell_labels`` (the city's grid ids it was learned on, checked when a day is bound),
``days`` (how many simulated days it averages) and ``model_sha256`` (the SHA-256 of the offline
model file it was learned over: a correction of one network is no correction of another, so a
policy refuses the pair). ``v1d3 train --method prior`` writes it.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from v1d3.errors import ModelError
from v1d3.files import atomic_file
from v1d3.geo.city import City
from v1d3.sim.config import DAY_S
from v1d3.value.base import ValueFunction

__all__ = [
    "PRIOR_FILE",
    "PriorFile",
    "PriorCorrectedValue",
    "file_sha256",
    "save_prior",
    "load_prior",
]

PRIOR_FILE = "v1d3-prior.npz"
"""File name of the prior correction in a models folder."""
HOURS = 24


class PriorCorrectedValue(ValueFunction):
    """``V_off(s) + scale · P(hour(t), cell)``, 0 added at or after midnight."""

    def __init__(
        self,
        offline: ValueFunction,
        prior: np.ndarray,
        labels: tuple[str, ...],
        scale: float = 1.0,
        source: str = "prior",
    ) -> None:
        """``prior``: the table, shape (24, cells), currency units; ``labels``: the grid ids of
        its cells (the city bound must have the same); ``scale``: its weight, dimensionless;
        ``source``: what the refusals name (the file)."""
        table = np.asarray(prior, dtype=np.float64)
        if table.ndim != 2 or table.shape != (HOURS, len(labels)):
            raise ModelError(f"{source}: expected a 24 x {len(labels)} table, got {table.shape}")
        self.source = source
        self.offline = offline
        self.discount = offline.discount
        self.labels = tuple(labels)
        # one extra always-zero hour for states at or after the end of the day
        self.table = np.vstack((float(scale) * table, np.zeros((1, table.shape[1]))))
        self.scale = float(scale)

    def bind(self, city: City, weekday: int) -> None:
        """Bind the offline function; refuse a city whose cells are not the table's."""
        if tuple(city.labels) != self.labels:
            raise ModelError(
                f"{self.source}: learned on a city of {len(self.labels)} cells, this one has "
                f"{city.n_cells} (or other grid ids); rebuild it for this city"
            )
        self.offline.bind(city, weekday)
        super().bind(city, weekday)

    def value(
        self, cell: np.ndarray, lat: np.ndarray, lng: np.ndarray, t_s: np.ndarray
    ) -> np.ndarray:
        """``V_off + scale · P``."""
        c, t = np.broadcast_arrays(np.asarray(cell, dtype=np.int64), np.asarray(t_s, float))
        hour = np.where(t < DAY_S, np.clip(t // 3600.0, 0, HOURS - 1), HOURS).astype(np.int64)
        return self.offline.value(cell, lat, lng, t_s) + self.table[hour, c]


@dataclass(frozen=True, eq=False)
class PriorFile:
    """What a prior file holds (see the module's docstring)."""

    prior: np.ndarray
    labels: tuple[str, ...]
    days: int
    model_sha256: str


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def save_prior(
    path: Path, prior: np.ndarray, labels: tuple[str, ...], days: int, model_sha256: str
) -> None:
    """Write the table atomically (:func:`~v1d3.files.atomic_file`)."""
    with atomic_file(path) as tmp, open(tmp, "wb") as f:
        np.savez(
            f,
            prior=np.asarray(prior, dtype=np.float64),
            cell_labels=np.asarray(labels, dtype=str),
            days=np.int64(days),
            model_sha256=np.asarray(model_sha256, dtype=str),
        )


def load_prior(path: Path) -> PriorFile:
    """A prior file's contents; ModelError naming the file otherwise. Never unpickles
    (``allow_pickle=False``)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            prior = np.asarray(z["prior"], dtype=np.float64)
            labels = tuple(str(s) for s in z["cell_labels"].tolist())
            days = int(z["days"])
            sha = str(z["model_sha256"])
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, TypeError) as e:
        raise ModelError(f"{path}: not a prior correction file ({str(e)[:100]})") from None
    if prior.shape != (HOURS, len(labels)) or not np.isfinite(prior).all():
        raise ModelError(f"{path}: expected a finite 24 x {len(labels)} table 'prior'")
    return PriorFile(prior, labels, days, sha)
