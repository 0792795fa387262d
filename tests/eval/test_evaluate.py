"""evaluate(): the run grid, common random numbers, records, resume, retries and failures."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from v1d3.demand.config import ScenarioConfig
from v1d3.errors import ConfigError
from v1d3.eval.config import RunConfig
from v1d3.eval.evaluate import TIMING_KEYS, evaluate, read_record, run_record
from v1d3.eval.metrics import METRIC_KEYS
from v1d3.eval.run import run_simulation, write_run
from v1d3.eval.study import StudyConfig, run_key, study_command
from v1d3.sim.seeds import Stream

TINY = ScenarioConfig(name="synthetic", orders=3000, hours=1.0, start_hour=8.0)


def tiny_study(**kw: Any) -> StudyConfig:
    args: dict[str, Any] = {
        "dispatch": ["distance", "fare"],
        "weekdays": (2,),
        "seeds": (0, 1),
        "scenario": TINY,
    }
    args.update(kw)
    return StudyConfig.grid(**args)


def _table(path: Path) -> dict[str, list[Any]]:
    return pq.read_table(path).to_pydict()


# --- the study config ----------------------------------------------------------------------


def test_study_validates_its_inputs() -> None:
    with pytest.raises(ConfigError, match="dispatch: unknown policy 'nope'"):
        StudyConfig(policies=("nope/stay",))
    with pytest.raises(ConfigError, match="reposition: unknown policy"):
        StudyConfig(policies=("distance/nope",))
    with pytest.raises(ConfigError, match="seeds: empty"):
        StudyConfig(policies=("distance/stay",), seeds=())
    with pytest.raises(ConfigError, match="seeds: expected seeds >= 0, got -1"):
        StudyConfig(policies=("distance/stay",), seeds=(-1,))
    with pytest.raises(ConfigError, match="baseline"):
        StudyConfig(policies=("fare/stay",))
    with pytest.raises(ConfigError, match="weekdays"):
        StudyConfig(policies=("distance/stay",), weekdays=(7,))
    # a bare dispatch name means /stay, for the policies and the baseline
    s = StudyConfig(policies=("distance", "fare/demand"), baseline="distance")
    assert s.policies == ("distance/stay", "fare/demand") and s.baseline == "distance/stay"
    assert StudyConfig.from_dict(s.to_dict()) == s


def test_runs_differ_only_in_policy_names_per_weekday_and_seed() -> None:
    study = tiny_study(reposition=["stay", "demand"], weekdays=(1, 3), seeds=(0, 5))
    runs = study.runs()
    assert len(runs) == 4 * 2 * 2
    groups: dict[tuple[int, int], set[str]] = {}
    for cfg in runs:
        rest = dataclasses.replace(cfg, dispatch="-", reposition="-")
        groups.setdefault((cfg.scenario.weekday, cfg.seed), set()).add(json.dumps(rest.to_dict()))
    assert sorted(groups) == [(1, 0), (1, 5), (3, 0), (3, 5)]
    assert all(len(v) == 1 for v in groups.values())


def test_study_command_round_trips_the_options() -> None:
    study = tiny_study(weekdays=(0, 1, 2, 4), seeds=(3, 4))
    cmd = study_command(study, "reports/x")
    assert "--dispatch distance,fare --reposition stay" in cmd
    assert "--weekdays 0-2,4 --seeds 2 --first-seed 3" in cmd
    assert "--scenario synthetic" in cmd and "--orders 3000" in cmd and "--hours 1.0" in cmd
    assert cmd.endswith("--out reports/x --resume")


def test_variants_of_one_policy_run_side_by_side_under_their_written_names(
    tmp_path: Path,
) -> None:
    low, high = "fare[pickup_cost_per_km=0.2]", "fare[pickup_cost_per_km=5.0]"
    study = StudyConfig(
        policies=("distance", low, f"{high}/stay"), seeds=(0,), scenario=TINY, baseline="distance"
    )
    assert study.policies == ("distance/stay", f"{low}/stay", f"{high}/stay")
    runs = study.runs()
    assert [r.policy for r in runs] == list(study.policies)
    assert runs[1].dispatch == "fare" and runs[1].dispatch_params == {"pickup_cost_per_km": 0.2}
    assert len({run_key(r) for r in runs}) == 3
    cmd = study_command(study, "reports/x")
    assert f"--dispatch 'distance,{low},{high}' --reposition stay" in cmd
    ev = evaluate(study, tmp_path / "study", report=False)
    means = ev.means()
    assert set(means) == set(study.policies)
    assert means[f"{low}/stay"]["pickup_km_mean"] > means[f"{high}/stay"]["pickup_km_mean"]
    with pytest.raises(ConfigError, match="unexpected keyword argument 'nope'"):
        evaluate(
            StudyConfig(policies=("distance", "fare[nope=1]"), scenario=TINY),
            tmp_path / "bad",
            report=False,
        )
    assert not (tmp_path / "bad").exists()


# --- common random numbers -------------------------------------------------------------------


class _Recorder:
    """Wraps a generator and records every value it draws."""

    def __init__(self, gen: np.random.Generator, log: list[tuple[str, np.ndarray]]) -> None:
        self._gen = gen
        self._log = log

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._gen, name)
        if not callable(attr):
            return attr

        def wrapped(*a: Any, **k: Any) -> Any:
            out = attr(*a, **k)
            self._log.append((name, np.array(out, copy=True)))
            return out

        return wrapped


def _run_recording(
    cfg: RunConfig, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[tuple[int, ...], list[tuple[str, np.ndarray]]]:
    """Run ``cfg`` and record the engine's cancellation and idle-drift draws."""
    original = np.random.default_rng
    streams: dict[tuple[int, ...], list[tuple[str, np.ndarray]]] = {}

    def default_rng(seed: Any = None) -> Any:
        gen = original(seed)
        if isinstance(seed, np.random.SeedSequence) and seed.spawn_key in ((0,), (1,)):
            if list(np.atleast_1d(seed.entropy))[-1:] == [Stream.SIM]:  # the engine's stream
                return _Recorder(gen, streams.setdefault(seed.spawn_key, []))
        return gen

    with monkeypatch.context() as m:
        m.setattr(np.random, "default_rng", default_rng)
        result = run_simulation(cfg)
    write_run(result, folder)
    return streams


def test_crn_two_policies_see_identical_orders_shifts_and_draws(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = RunConfig(scenario=dataclasses.replace(TINY, hours=2.0, weekday=4), seed=3)
    a = dataclasses.replace(base, dispatch="distance", reposition="stay")
    b = dataclasses.replace(base, dispatch="fare", reposition="demand")
    draws_a = _run_recording(a, tmp_path / "a", monkeypatch)
    draws_b = _run_recording(b, tmp_path / "b", monkeypatch)

    # the same orders (everything but their outcome) and the same shifts
    oa, ob = _table(tmp_path / "a" / "orders.parquet"), _table(tmp_path / "b" / "orders.parquet")
    inputs = ["order_id", "source_id", "t_request_s", "fare", "trip_s", "trip_m", "origin_lat",
              "origin_lng", "dest_lat", "dest_lng", "origin_cell", "dest_cell"]  # fmt: skip
    assert len(oa["order_id"]) > 100
    for col in inputs:
        assert oa[col] == ob[col], col
    assert oa["status"] != ob["status"]  # the policies did decide differently
    assert _table(tmp_path / "a" / "drivers.parquet") == _table(tmp_path / "b" / "drivers.parquet")

    # the same cancellation uniforms (spawn key 0) and idle-drift draws (1), value for value
    assert set(draws_a) == set(draws_b) == {(0,), (1,)}
    for key in draws_a:
        assert len(draws_a[key]) == len(draws_b[key]) > 0
        for (name_a, xa), (name_b, xb) in zip(draws_a[key], draws_b[key], strict=True):
            assert name_a == name_b
            np.testing.assert_array_equal(xa, xb)
    assert len(draws_a[(1,)]) >= 3 * 100  # three draws per idle-drift tick, 120 ticks


# --- records ----------------------------------------------------------------------------------


def test_run_record_round_trips(tmp_path: Path) -> None:
    from v1d3.eval.evaluate import write_record

    cfg = RunConfig(scenario=TINY, dispatch="nearest", seed=2)
    rec = run_record(cfg)
    assert rec.cell_orders.shape == rec.cell_unserved.shape == rec.cell_idle_min.shape
    assert rec.cell_orders.sum() == rec.metrics["orders"]
    assert rec.cell_unserved.sum() == rec.metrics["orders"] - rec.metrics["matched"]
    assert rec.pickup_km.size == rec.metrics["completed"]
    assert rec.h3_resolution == 8 and rec.cell_labels.size == rec.cell_orders.shape[1]
    write_record(rec, tmp_path / "r")
    back = read_record(tmp_path / "r")
    assert back.config == cfg and back.metrics == rec.metrics
    assert back.policies == rec.policies and rec.policies["dispatch"]["class"].endswith("Driver")
    for name in ("cell_orders", "cell_unserved", "cell_idle_min", "pickup_km",
                 "driver_hourly_income", "cell_labels"):  # fmt: skip
        np.testing.assert_array_equal(getattr(back, name), getattr(rec, name))


# --- evaluate ---------------------------------------------------------------------------------


def test_evaluate_writes_the_study(tmp_path: Path) -> None:
    study = tiny_study()
    events: list[tuple[str, str]] = []
    ev = evaluate(
        study, tmp_path / "s", workers=2, progress=lambda k, t, d: events.append((k, t.key))
    )
    out = tmp_path / "s"
    for name in ("study.json", "results.parquet", "summary.csv", "failures.json", "report.html"):
        assert (out / name).is_file(), name
    keys = [run_key(c) for c in study.runs()]
    assert sorted(p.name for p in (out / "runs").iterdir()) == sorted(keys)
    assert sorted(k for kind, k in events if kind == "done") == sorted(keys)
    res = _table(out / "results.parquet")
    assert res["policy"] == ["distance/stay"] * 2 + ["fare/stay"] * 2
    assert res["seed"] == [0, 1, 0, 1] and res["weekday"] == [2] * 4
    assert res["status"] == ["ok"] * 4
    assert all(k in res for k in METRIC_KEYS)
    assert not ev.failures and json.loads((out / "failures.json").read_text()) == []
    # CRN through the harness: both policies saw the same orders per cell and hour
    recs = {r.key: r for r in ev.records}
    for seed in (0, 1):
        a = recs[f"distance__stay__w2__s{seed}"]
        b = recs[f"fare__stay__w2__s{seed}"]
        np.testing.assert_array_equal(a.cell_orders, b.cell_orders)
    summary = (out / "summary.csv").read_text().splitlines()
    assert summary[0].startswith("policy,metric,mean,ci_low,ci_high,rel_diff,")
    assert len(summary) == 1 + 2 * len(METRIC_KEYS)


def _metrics_without_timing(path: Path) -> dict[str, list[Any]]:
    t = _table(path)
    return {k: v for k, v in t.items() if k not in TIMING_KEYS}


def test_resume_skips_finished_runs(tmp_path: Path) -> None:
    study = tiny_study()
    out = tmp_path / "s"
    evaluate(study, out, workers=2, report=False)
    first = _metrics_without_timing(out / "results.parquet")
    # lose one run, as an interrupted study would
    lost = run_key(study.runs()[3])
    for f in (out / "runs" / lost).iterdir():
        f.unlink()
    (out / "runs" / lost).rmdir()
    # and find one half-written by hand (records are written atomically, so only by hand)
    broken = run_key(study.runs()[0])
    (out / "runs" / broken / "aggregates.npz").write_bytes(b"not a zip")
    stamp = {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir() if p.name != broken}
    events: list[tuple[str, str]] = []
    ev = evaluate(
        study, out, workers=2, resume=True, progress=lambda k, t, d: events.append((k, t.key))
    )
    assert sorted(k for kind, k in events if kind == "start") == sorted([lost, broken])
    assert sorted(k for kind, k in events if kind == "skip") == sorted(stamp)
    assert ev.resumed == 2
    for name, t in stamp.items():
        assert (out / "runs" / name).stat().st_mtime_ns == t
    assert _metrics_without_timing(out / "results.parquet") == first


def test_resume_reuses_records_written_before_a_metric_existed(tmp_path: Path) -> None:
    study = tiny_study()
    out = tmp_path / "s"
    evaluate(study, out, report=False)
    # records of an earlier release: one metric of today's missing in every run of `fare`
    for cfg in study.runs():
        if cfg.dispatch == "fare":
            path = out / "runs" / run_key(cfg) / "record.json"
            doc = json.loads(path.read_text())
            del doc["metrics"]["income_per_online_hour_managed_kdd"]
            path.write_text(json.dumps(doc))
    ev = evaluate(study, out, resume=True)  # the report too
    assert ev.resumed == len(study.runs())  # reused, not rerun
    assert (out / "report.html").is_file()
    rows = {(r.policy, r.metric): r for r in ev.summary}
    kdd = rows[("fare/stay", "income_per_online_hour_managed_kdd")]
    assert kdd.n == 0 and np.isnan(kdd.mean) and np.isnan(kdd.rel_diff)
    assert rows[("fare/stay", "total_income")].n == 2
    assert rows[("distance/stay", "income_per_online_hour_managed_kdd")].n == 2


def test_a_different_study_is_refused_without_resume(tmp_path: Path) -> None:
    out = tmp_path / "s"
    evaluate(tiny_study(seeds=(0,)), out, report=False)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    with pytest.raises(ConfigError, match="holds a different study"):
        evaluate(tiny_study(seeds=(0, 1)), out)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before
    # with --resume the study is extended: the finished runs are kept
    ev = evaluate(tiny_study(seeds=(0, 1)), out, resume=True, report=False)
    assert ev.resumed == 2 and len(ev.records) == 4


def test_a_folder_that_is_no_study_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    for resume in (False, True):
        with pytest.raises(ConfigError, match="holds no v1d3 evaluate study"):
            evaluate(tiny_study(), tmp_path, resume=resume)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def flaky_runner(marker: str, cfg: RunConfig) -> Any:
    """fare seed 1 always raises; distance seed 0 raises on its first attempt only."""
    key = run_key(cfg)
    Path(marker, f"{key}.{uuid.uuid4().hex}").touch()
    if cfg.dispatch == "fare" and cfg.seed == 1:
        raise RuntimeError("boom (always)")
    if (
        cfg.dispatch == "distance"
        and cfg.seed == 0
        and len(list(Path(marker).glob(key + ".*"))) < 2
    ):
        raise RuntimeError("boom (once)")
    return run_record(cfg)


def dying_runner(cfg: RunConfig) -> Any:
    """The worker running fare seed 0 dies (as on a segfault or the OOM killer)."""
    if cfg.dispatch == "fare" and cfg.seed == 0:
        os._exit(3)
    return run_record(cfg)


def _attempts(marker: Path, key: str) -> int:
    return len(list(marker.glob(key + ".*")))


def test_a_run_that_raises_is_retried_once_then_reported(tmp_path: Path) -> None:
    marker = tmp_path / "attempts"
    marker.mkdir()
    out = tmp_path / "s"
    ev = evaluate(tiny_study(), out, workers=2, runner=functools.partial(flaky_runner, str(marker)))
    assert _attempts(marker, "fare__stay__w2__s1") == 2
    assert _attempts(marker, "distance__stay__w2__s0") == 2
    assert _attempts(marker, "distance__stay__w2__s1") == 1
    assert [f["key"] for f in ev.failures] == ["fare__stay__w2__s1"]
    assert "RuntimeError: boom (always)" in ev.failures[0]["error"]
    assert json.loads((out / "failures.json").read_text()) == ev.failures
    res = _table(out / "results.parquet")
    assert res["status"] == ["ok", "ok", "ok", "failed"]
    assert "boom (always)" in res["error"][3] and res["orders"][3] is None
    assert not (out / "runs" / "fare__stay__w2__s1").exists()
    assert len(ev.records) == 3
    rows = [r for r in ev.summary if r.metric == "answer_rate"]
    assert [(r.policy, r.n, r.failed) for r in rows] == [
        ("distance/stay", 2, 0),
        ("fare/stay", 1, 1),
    ]
    assert "Failed runs" in (out / "report.html").read_text()
    # resume runs only the failed one again
    events: list[str] = []
    evaluate(
        tiny_study(), out, workers=2, resume=True, report=False,
        progress=lambda k, t, d: events.append(f"{k}:{t.key}"),
    )  # fmt: skip
    assert [e for e in events if e.startswith("start")] == ["start:fare__stay__w2__s1"]


def test_a_dying_worker_is_retried_once_then_reported(tmp_path: Path) -> None:
    ev = evaluate(tiny_study(), tmp_path / "s", workers=2, runner=dying_runner, report=False)
    assert [f["key"] for f in ev.failures] == ["fare__stay__w2__s0"]
    assert ev.failures[0]["attempts"] == 2
    assert "worker process died" in ev.failures[0]["error"]
    # the runs that shared the pool with the dying one were kept
    assert sorted(r.key for r in ev.records) == [
        "distance__stay__w2__s0", "distance__stay__w2__s1", "fare__stay__w2__s1",
    ]  # fmt: skip


def test_bad_report_hour_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="report_hour"):
        evaluate(tiny_study(), tmp_path / "s", report_hour=24)
    assert not (tmp_path / "s").exists()
