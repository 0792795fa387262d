"""SIGTERM ends a command as Ctrl-C does: exit code 143, one line, nothing half-written, and
``evaluate``'s workers end with it. Real processes (a signal to the test process would end it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from processes import ended, python_env, wait_for

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc to see handlers and workers"
)

LONG_RUN = ["--scenario", "synthetic", "--orders", "40000", "--hours", "24"]
"""A day that takes seconds, so the signal arrives while it runs."""


def _start(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-c", "from v1d3.cli.main import main; main()", *args]
    return subprocess.Popen(
        cmd,
        cwd=tmp_path,
        env=python_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _catches_sigterm(pid: int) -> bool:
    """Whether process ``pid`` has a handler for SIGTERM (its SigCgt mask in /proc)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    mask = next(ln.split()[1] for ln in status.splitlines() if ln.startswith("SigCgt:"))
    return bool(int(mask, 16) >> (signal.SIGTERM - 1) & 1)


def _workers(pid: int) -> list[int]:
    """The worker processes ``pid`` spawned (multiprocessing's, not its resource tracker)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"--multiprocessing-fork" in cmdline:
            found.append(int(entry))
    return found


def _terminate(proc: subprocess.Popen[str]) -> tuple[int, str]:
    # the handler is there once main() runs; an old version never gets one and is sent the
    # signal anyway after the wait
    wait_for(lambda: _catches_sigterm(proc.pid) or proc.poll() is not None, 20)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


def test_sigterm_during_a_run_exits_143_and_leaves_nothing(tmp_path: Path) -> None:
    proc = _start(tmp_path, "simulate", *LONG_RUN, "--out", "run")
    time.sleep(0.5)
    code, err = _terminate(proc)
    assert code == 143, err
    assert err == "terminated; nothing half-written was kept\n"
    assert os.listdir(tmp_path) == []


def test_sigterm_ends_evaluate_and_its_workers_at_once(tmp_path: Path) -> None:
    args = ["evaluate", *LONG_RUN, "--dispatch", "nearest,distance", "--baseline"]
    proc = _start(tmp_path, *args, "nearest/stay", "--workers", "2", "--out", "study")
    workers: list[int] = []
    try:
        assert wait_for(lambda: len(_workers(proc.pid)) == 2, 60), "no workers started"
        workers = _workers(proc.pid)
        time.sleep(1.0)  # the runs are under way
        started = time.monotonic()
        code, err = _terminate(proc)
        assert code == 143, err
        assert err == "terminated; nothing half-written was kept\n"
        assert time.monotonic() - started < 15  # the runs were not waited for
        assert wait_for(lambda: all(ended(w) for w in workers), 10), "workers still running"
        assert [n for n in os.listdir(tmp_path / "study") if n.startswith(".")] == []
    finally:
        if proc.poll() is None:
            proc.kill()
        for w in workers:
            if not ended(w):
                os.kill(w, signal.SIGKILL)
