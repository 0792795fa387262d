"""Backends: the scheduling loop's retries, crash isolation, and identical results everywhere."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from processes import ended, python_env, wait_for
from v1d3.demand.config import ScenarioConfig
from v1d3.errors import ConfigError
from v1d3.eval.backends import LocalExecutor, Task, execute, make_executor
from v1d3.eval.evaluate import TIMING_KEYS, evaluate
from v1d3.eval.study import StudyConfig

TINY = ScenarioConfig(name="synthetic", orders=3000, hours=1.0, start_hour=8.0)


def _study() -> StudyConfig:
    return StudyConfig.grid(
        ["nearest", "distance"], ["stay", "demand"], weekdays=(1, 2), seeds=(0,), scenario=TINY
    )


def _results(path: Path) -> dict[str, list[Any]]:
    """results.parquet without the columns that time the machine."""
    t = pq.read_table(path)
    return {k: v for k, v in t.to_pydict().items() if k not in TIMING_KEYS}


# --- functions the workers run (module level, so they pickle by reference) --------------------


def square(x: int) -> int:
    return x * x


def raise_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("three is not allowed")
    return x


def slow_or_die(x: str) -> str:
    """``"die"`` kills its worker; anything else takes a moment and succeeds."""
    if x == "die":
        os._exit(7)
    time.sleep(1.0)
    return x


def worker_pid(_: Any) -> int:
    return os.getpid()


def _tasks(args: list[Any]) -> list[Task]:
    return [Task(str(a), f"task {a}", a) for a in args]


def test_local_executor_runs_everything() -> None:
    ex = LocalExecutor(2)
    try:
        out = {r.task.key: r for r in execute(ex, square, _tasks([1, 2, 3, 4]))}
    finally:
        ex.close()
    assert {k: r.value for k, r in out.items()} == {"1": 1, "2": 4, "3": 9, "4": 16}
    assert all(r.ok and r.attempts == 1 for r in out.values())


def test_an_error_is_retried_once_then_reported() -> None:
    events: list[tuple[str, str]] = []
    ex = LocalExecutor(2)
    try:
        out = {
            r.task.key: r
            for r in execute(
                ex, raise_on_three, _tasks([1, 2, 3]), lambda k, t, d: events.append((k, t.key))
            )
        }
    finally:
        ex.close()
    assert out["3"].error is not None and "ValueError: three is not allowed" in out["3"].error
    assert out["3"].attempts == 2
    assert out["1"].value == 1 and out["2"].value == 2
    assert [k for k, key in events if key == "3"] == ["start", "retry", "start", "failed"]


def test_a_dying_worker_fails_only_its_own_run() -> None:
    # "die" breaks the pool while another run is in flight: both are retried, each alone, and
    # only "die" is reported
    ex = LocalExecutor(2)
    try:
        out = {r.task.key: r for r in execute(ex, slow_or_die, _tasks(["a", "die", "b"]))}
    finally:
        ex.close()
    assert out["die"].error is not None and "worker process died" in out["die"].error
    assert out["die"].attempts == 2
    assert out["a"].ok and out["a"].value == "a"
    assert out["b"].ok and out["b"].value == "b"


def test_a_worker_dying_between_wait_and_submit_does_not_stop_the_study() -> None:
    # the pool breaks after the last wait returned: the next submit goes to a fresh pool,
    # and the lost run is reported as a crash by the following wait
    ex = LocalExecutor(1)
    try:
        lost = ex.submit(slow_or_die, "die")
        assert wait_for(lambda: lost.done(), 60)  # seen broken here, not by ex.wait
        kind, pid = ex.submit(worker_pid, None).result(timeout=60)
        assert kind == "ok"
        assert ex.wait([lost]) == [(lost, ("crash", "worker process died (BrokenProcessPool)"))]
        # reporting the old pool's loss leaves the fresh pool, and its one worker, in place
        assert ex.submit(worker_pid, None).result(timeout=60) == ("ok", pid)
    finally:
        ex.close()


def test_closing_with_kill_ends_the_runs_in_flight_at_once() -> None:
    ex = LocalExecutor(1)
    try:
        kind, pid = ex.submit(worker_pid, None).result(timeout=60)
        assert kind == "ok"
        ex.submit(time.sleep, 120)
        started = time.monotonic()
    finally:
        ex.close(kill=True)
    assert time.monotonic() - started < 20
    assert wait_for(lambda: ended(pid), 10)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_end_when_their_parent_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(
        "import os, time\n"
        "from v1d3.eval.backends import LocalExecutor\n"
        "if __name__ == '__main__':\n"
        "    ex = LocalExecutor(1)\n"
        "    print(ex.submit(os.readlink, '/proc/self').result()[1], flush=True)  # its pid\n"
        "    ex.submit(time.sleep, 120)\n"
        "    time.sleep(120)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, str(script)], env=python_env(), stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    worker = int(parent.stdout.readline())
    _kill_expecting_the_end_of(parent, worker, "the worker outlived its parent")


def _kill_expecting_the_end_of(parent: subprocess.Popen[str], pid: int, why: str) -> None:
    """SIGKILL ``parent`` (it cleans up nothing), then ``pid`` must end within 10 s."""
    parent.kill()
    parent.wait()
    try:
        assert wait_for(lambda: ended(pid), 10), why
    finally:
        if not ended(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_watchdog_ends_a_process_whose_parent_died(tmp_path: Path) -> None:
    # where prctl is missing, a thread watches the parent; here it is run alone
    child = (
        "import os, sys\n"
        "from v1d3.eval.backends import watch_parent\n"
        "print(os.getpid(), flush=True)\n"
        "watch_parent(int(sys.argv[1]), every_s=0.05)\n"
    )
    parent = (
        "import os, subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, '-c', {child!r}, str(os.getpid())])\n"
        "time.sleep(120)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", parent], env=python_env(), stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    watcher = int(proc.stdout.readline())
    assert not ended(watcher)
    _kill_expecting_the_end_of(proc, watcher, "the watchdog did not end its process")


def test_bad_backend_arguments() -> None:
    with pytest.raises(ConfigError, match="backend: expected one of local, ray"):
        make_executor("dask", 2)
    with pytest.raises(ConfigError, match="workers must be >= 1"):
        make_executor("local", 0)
    with pytest.raises(ConfigError, match="only used with --backend ray"):
        make_executor("local", 2, address="auto")
    with pytest.raises(ConfigError, match="cannot reach a Ray cluster at 127.0.0.1:1"):
        make_executor("ray", 2, address="127.0.0.1:1")
    with pytest.raises(ConfigError, match="expected 'auto', host:port"):
        make_executor("ray", 2, address="nowhere")


def test_two_local_workers_give_the_results_of_one(tmp_path: Path) -> None:
    evaluate(_study(), tmp_path / "w1", workers=1, report=False)
    evaluate(_study(), tmp_path / "w2", workers=2, report=False)
    one = _results(tmp_path / "w1" / "results.parquet")
    assert len(one["policy"]) == 8 and set(one["status"]) == {"ok"}
    assert _results(tmp_path / "w2" / "results.parquet") == one
    assert (tmp_path / "w1" / "summary.csv").read_text().count("\n") == (
        tmp_path / "w2" / "summary.csv"
    ).read_text().count("\n")


# --- Ray --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    """A local Ray with 2 CPUs for this module (skipped where Ray cannot start)."""
    try:
        import ray
    except ImportError:
        pytest.skip("ray is not installed (pip install 'v1d3[ray]')")
    import logging

    try:
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            object_store_memory=100 * 1024**2,
            logging_level=logging.WARNING,
            log_to_driver=False,
        )
    except Exception as e:  # no shared memory, no ports, a sandbox...
        pytest.skip(f"ray cannot start a local instance here: {type(e).__name__}: {e}")
    # the test's own worker functions travel by value (Ray workers cannot import this file)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        yield ray
    finally:
        ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
        ray.shutdown()


def test_ray_gives_the_results_of_local_processes(tmp_path: Path, local_ray: Any) -> None:
    evaluate(_study(), tmp_path / "local", workers=2, report=False)
    evaluate(_study(), tmp_path / "ray", backend="ray", workers=2, report=False)
    assert local_ray.is_initialized()  # evaluate joined the running Ray and left it running
    assert _results(tmp_path / "ray" / "results.parquet") == _results(
        tmp_path / "local" / "results.parquet"
    )


def test_ray_retries_errors_and_dead_workers(local_ray: Any) -> None:
    ex = make_executor("ray", 2)
    assert ex.slots == 2
    try:
        errors = {r.task.key: r for r in execute(ex, raise_on_three, _tasks([1, 3]))}
        deaths = {r.task.key: r for r in execute(ex, slow_or_die, _tasks(["a", "die"]))}
    finally:
        ex.close()
    assert errors["1"].value == 1 and errors["3"].attempts == 2
    assert errors["3"].error is not None and "three is not allowed" in errors["3"].error
    assert deaths["a"].ok and deaths["a"].attempts == 1
    assert deaths["die"].attempts == 2 and deaths["die"].error is not None
