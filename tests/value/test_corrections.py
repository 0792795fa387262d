"""The recorded online correction: on a tiny v1d3 run it equals the residual Δ read back from
the value at the recording times, it reaches the run folder as corrections.parquet, and runs
without an online value write nothing new."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from v1d3.eval.config import RunConfig
from v1d3.eval.run import run_simulation, write_run
from v1d3.learn.online_neural import ResidualOnline
from v1d3.policies.neural import make_v1d3
from v1d3.rounds import RoundOutcome
from v1d3.sim.config import SimConfig
from v1d3.value.base import ValueFunction
from v1d3.value.corrections import (
    CORRECTION_COLUMNS,
    CORRECTION_EVERY_S,
    cell_correction,
    correction_matrix,
)
from v1d3.value.online import ResidualValue
from value_fixtures import small_cvnet_models, small_cvnet_scenario

SCENARIO = small_cvnet_scenario(hours=1.0)
ENSEMBLE_S = 1800.0


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_cvnet_models(tmp_path_factory.mktemp("models"))


class _Snapshots(ResidualOnline):
    """The default learner, keeping a copy of Δ before and after each round's update."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[float, np.ndarray, np.ndarray]] = []

    def update(self, outcome: RoundOutcome, value: ValueFunction) -> None:
        assert isinstance(value, ResidualValue)
        before = value.table.copy()
        super().update(outcome, value)
        self.seen.append((outcome.batch.t, before, value.table.copy()))


def _delta(value: ResidualValue, table: np.ndarray, t_s: float) -> np.ndarray:
    """Σ of every cell's Δ entries at ``t_s`` in a copy of the table."""
    cells = np.arange(value.n_cells)
    return table[value.entries(cells, np.full(cells.size, t_s))].sum(axis=0)


def _run(models: Path, **params: Any) -> tuple[Any, Any]:
    policy = make_v1d3(models, SCENARIO, ensemble_every_s=ENSEMBLE_S, **params)
    cfg = RunConfig(scenario=SCENARIO, sim=SimConfig(), seed=4, models=str(models))
    return policy, run_simulation(cfg, dispatch=policy)


def test_recorded_correction_is_the_residual_at_those_times(models: Path) -> None:
    snaps = _Snapshots()
    policy = make_v1d3(models, SCENARIO, ensemble_every_s=ENSEMBLE_S)
    policy.learner = snaps  # type: ignore[attr-defined]
    cfg = RunConfig(scenario=SCENARIO, sim=SimConfig(), seed=4, models=str(models))
    result = run_simulation(cfg, dispatch=policy)
    value = policy.value  # type: ignore[attr-defined]
    t, pre, corr = correction_matrix(result.tables["corrections"], value.n_cells)
    start = SCENARIO.start_hour * 3600.0
    clock = t[~pre]
    want_clock = start + CORRECTION_EVERY_S * np.arange(4)  # 7:00, 7:15, 7:30, 7:45
    np.testing.assert_array_equal(clock, want_clock)
    # 7:30 is also the change point: the clock recording, then the one before the ensemble step
    np.testing.assert_array_equal(pre, [False, False, False, True, False])
    round_t = np.array([s[0] for s in snaps.seen])
    for k in range(len(t)):
        # the first round at or after the recording time: before its update (a clock time),
        # or after its update and before the ensemble step (a change point)
        i = int(np.searchsorted(round_t, t[k]))
        table = snaps.seen[i][2] if pre[k] else snaps.seen[i][1]
        if pre[k]:
            assert round_t[i] == t[k]
        np.testing.assert_allclose(corr[k], _delta(value, table, t[k]), rtol=0, atol=1e-12)
    assert np.abs(corr[1:]).max() > 0  # it learned something


def test_correction_of_any_online_function_is_the_difference(models: Path) -> None:
    policy, _ = _run(models)
    value = policy.value
    cells = np.arange(value.n_cells)
    lat = np.zeros(cells.size)
    t = SCENARIO.start_hour * 3600.0 + 3000.0
    value.add(cells, np.full(cells.size, t), np.linspace(-1.0, 1.0, cells.size))
    delta = cell_correction(value, value.offline, cells, lat, lat, t)
    diff = value.value(cells, lat, lat, np.full(cells.size, t)) - value.offline.value(
        cells, lat, lat, np.full(cells.size, t)
    )
    np.testing.assert_allclose(delta, diff, atol=1e-9)
    assert np.abs(delta).max() > 0.5


def test_run_folder_holds_the_corrections_and_only_when_there_are_some(
    models: Path, tmp_path: Path
) -> None:
    _, result = _run(models)
    out = write_run(result, tmp_path / "v1d3")
    table = pq.read_table(out / "corrections.parquet").to_pydict()
    assert tuple(table) == CORRECTION_COLUMNS
    for k in CORRECTION_COLUMNS:
        np.testing.assert_array_equal(table[k], result.tables["corrections"][k])
    cfg = RunConfig(scenario=SCENARIO, sim=SimConfig(), seed=4)
    plain = write_run(run_simulation(cfg), tmp_path / "distance")
    names = sorted(p.name for p in plain.iterdir())
    assert "corrections.parquet" not in names
    assert sorted(p.name for p in out.iterdir()) == sorted([*names, "corrections.parquet"])


def test_a_policy_table_may_not_take_a_run_files_name(models: Path) -> None:
    from v1d3.errors import ConfigError

    policy = make_v1d3(models, SCENARIO)
    policy.run_tables = lambda: {"events": {"x": np.zeros(1)}}  # type: ignore[method-assign]
    cfg = RunConfig(scenario=small_cvnet_scenario(hours=0.1), sim=SimConfig(), seed=4)
    with pytest.raises(ConfigError, match="table name 'events' is not free"):
        run_simulation(cfg, dispatch=policy)
