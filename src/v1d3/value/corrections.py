"""What the online value has learned over the offline one, recorded through a simulated day.

The online correction of a cell at a time is ``V_on − V_off`` at the cell's centre: for a
:class:`~v1d3.value.online.ResidualValue` exactly its ``Δ`` (the summed entries of the cell and
its parents at that time), for any other online function the difference of the two values.
:class:`CorrectionRecorder` takes it for every cell of the city at fixed times of the day
(every :data:`CORRECTION_EVERY_S`) and just before each ensemble step; a policy that has one
hands the result to the run folder as the ``corrections`` table
(:meth:`~v1d3.rounds.RunReport.run_tables`; columns in :data:`CORRECTION_COLUMNS`), and the
study report maps it (docs/method.md §9).
"""

from __future__ import annotations

import numpy as np

from v1d3.errors import DataError
from v1d3.rounds import DayContext
from v1d3.value.base import ValueFunction
from v1d3.value.online import ResidualValue

__all__ = [
    "CORRECTION_EVERY_S",
    "CORRECTIONS_TABLE",
    "CORRECTION_COLUMNS",
    "CorrectionRecorder",
    "cell_correction",
    "correction_matrix",
    "hour_end_corrections",
]

CORRECTION_EVERY_S = 900.0
"""Seconds between two recordings of the online correction, on the day's clock (00:00, 00:15,
…); each ensemble step adds one recording just before it."""
CORRECTIONS_TABLE = "corrections"
"""Name of the table in the run folder (``corrections.parquet``)."""
CORRECTION_COLUMNS = ("t_s", "before_ensemble", "cell", "correction")
"""Its columns: the time (seconds after midnight), whether the recording was taken just before
an ensemble step (else at a clock time), the cell id and ``V_on − V_off`` there (currency
units). One row per cell and recording: recordings in time order, each with every cell in id
order."""


def cell_correction(
    online: ValueFunction,
    offline: ValueFunction,
    cell: np.ndarray,
    lat: np.ndarray,
    lng: np.ndarray,
    t_s: float,
) -> np.ndarray:
    """``V_on − V_off`` of the given cells (centres ``lat``, ``lng``) at ``t_s``: a residual
    over ``offline`` gives its summed ``Δ`` entries (read exactly, without evaluating the offline
    function; with ``horizon_s`` the faded correction, as the values read it), any other
    function the difference."""
    t = np.full(len(cell), float(t_s))
    if isinstance(online, ResidualValue) and online.offline is offline and online.horizon_s is None:
        return online.table[online.entries(cell, t)].sum(axis=0)  # exact, without the offline
    return online.value(cell, lat, lng, t) - offline.value(cell, lat, lng, t)


class CorrectionRecorder:
    """Records :func:`cell_correction` of every cell at every multiple of ``every_s`` of the
    day's clock and just before each ensemble step.

    The owner calls :meth:`tick` at the start of each observed round, before the round's
    update: a clock time passed since the previous round is then recorded with the values in
    force at it (they change only in updates and ensemble steps). It calls
    :meth:`before_ensemble` just before an ensemble step.
    """

    def __init__(
        self, online: ValueFunction, offline: ValueFunction, every_s: float = CORRECTION_EVERY_S
    ) -> None:
        self.online = online
        self.offline = offline
        self.every_s = float(every_s)
        self._cells = np.zeros(0, dtype=np.int64)
        self._lat = self._lng = np.zeros(0)
        self._next = np.inf
        self._t: list[float] = []
        self._pre: list[bool] = []
        self._rows: list[np.ndarray] = []

    def reset(self, context: DayContext) -> None:
        """Start a day: nothing recorded, the first clock time at or after the start."""
        city = context.city
        self._cells = np.arange(city.n_cells, dtype=np.int64)
        self._lat = np.asarray(city.cell_lat, dtype=np.float64)
        self._lng = np.asarray(city.cell_lng, dtype=np.float64)
        self._next = float(np.ceil(context.start_s / self.every_s - 1e-9) * self.every_s)
        self._t, self._pre, self._rows = [], [], []

    def tick(self, t_s: float) -> None:
        """Record every clock time up to ``t_s`` not recorded yet."""
        while t_s >= self._next:
            self._record(self._next, False)
            self._next += self.every_s

    def before_ensemble(self, t_s: float) -> None:
        """Record the correction at ``t_s``, the time of the ensemble step about to be taken."""
        self._record(t_s, True)

    def _record(self, t_s: float, before_ensemble: bool) -> None:
        c = cell_correction(self.online, self.offline, self._cells, self._lat, self._lng, t_s)
        self._t.append(float(t_s))
        self._pre.append(before_ensemble)
        self._rows.append(np.asarray(c, dtype=np.float64))

    def table(self) -> dict[str, np.ndarray]:
        """The day's recordings as the columns of :data:`CORRECTION_COLUMNS`."""
        n, k = self._cells.size, len(self._t)
        return {
            "t_s": np.repeat(np.asarray(self._t, dtype=np.float64), n),
            "before_ensemble": np.repeat(np.asarray(self._pre, dtype=bool), n),
            "cell": np.tile(self._cells.astype(np.int32), k),
            "correction": np.concatenate(self._rows) if k else np.zeros(0),
        }


def correction_matrix(
    table: dict[str, np.ndarray], n_cells: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A ``corrections`` table as ``(t_s, before_ensemble, correction)``: one entry per
    recording and a ``(recordings, n_cells)`` matrix. DataError when its rows are not laid out
    as :data:`CORRECTION_COLUMNS` says."""
    missing = [c for c in CORRECTION_COLUMNS if c not in table]
    if missing:
        raise DataError(f"{CORRECTIONS_TABLE}: missing column {missing[0]!r}")
    cell = np.asarray(table["cell"], dtype=np.int64)
    if n_cells <= 0 or cell.size % n_cells:
        raise DataError(f"{CORRECTIONS_TABLE}: {cell.size} rows are not whole recordings")
    k = cell.size // n_cells
    if not (cell.reshape(k, n_cells) == np.arange(n_cells)).all():
        raise DataError(f"{CORRECTIONS_TABLE}: each recording must list the cells 0..{n_cells - 1}")
    t = np.asarray(table["t_s"], dtype=np.float64).reshape(k, n_cells)[:, 0]
    pre = np.asarray(table["before_ensemble"], dtype=bool).reshape(k, n_cells)[:, 0]
    corr = np.asarray(table["correction"], dtype=np.float64).reshape(k, n_cells)
    return t, pre, corr


def hour_end_corrections(t_s: np.ndarray, correction: np.ndarray) -> np.ndarray:
    """Per hour of day, the correction at the hour's end: the last recording whose time falls
    in ``(h, h + 1]`` hours (at a change point, the one taken just before the ensemble step);
    NaN for an hour with none. Shape (24, cells)."""
    out = np.full((24, correction.shape[1]), np.nan)
    hour = np.ceil(np.asarray(t_s) / 3600.0 - 1e-9).astype(int) - 1
    for k in np.flatnonzero((hour >= 0) & (hour < 24)):  # in recording order: the last wins
        out[hour[k]] = correction[k]
    return out
