"""Helpers for tests that start real processes (imported as a plain module from tests/): the
package on their path, waiting for a condition, whether a process has ended."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import v1d3

SRC = str(Path(v1d3.__file__).resolve().parents[1])


def python_env() -> dict[str, str]:
    """The environment for a child Python that imports this package (the one under test)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}


def wait_for(cond: Callable[[], bool], timeout_s: float) -> bool:
    """Whether ``cond()`` came true within ``timeout_s`` seconds (checked every 50 ms)."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def ended(pid: int) -> bool:
    """Whether process ``pid`` is gone, or a zombie nobody reaped yet (Linux: reads /proc)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
