"""The study scripts under ``scripts/`` run end to end on a small synthetic city."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPTS / name), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_reposition_headroom_on_a_synthetic_day() -> None:
    res = _script(
        "reposition_headroom.py",
        *("--scenario", "synthetic", "--dispatch", "distance", "--weekdays", "2"),
        *("--seeds", "2", "--workers", "1"),
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["reposition_after_s"] == 300.0 and out["managed_share"] == 0.1
    assert out["fleet_scale"] == 1.0
    assert [(d["weekday"], d["seed"]) for d in out["days"]] == [(2, 1), (2, 2)]
    assert sum(out["actionable_share_by_hour"]) == pytest.approx(1.0, abs=1e-3)
    for d in out["days"]:
        assert 0.0 < d["actionable_share"] < d["idle_share"] < 1.0
        assert d["headroom"] == pytest.approx(
            d["actionable_share"] / (1.0 - d["idle_share"]), rel=1e-3
        )
    mean = sum(d["headroom"] for d in out["days"]) / 2
    assert out["headroom"]["mean"] == pytest.approx(mean, abs=1e-5)
    assert out["headroom"]["ci_low"] < mean < out["headroom"]["ci_high"]


def test_reposition_headroom_bad_option_is_one_line() -> None:
    res = _script("reposition_headroom.py", "--weekdays", "x")
    assert res.returncode == 2
    assert res.stderr.strip() == "error: weekdays: expected numbers like 0-4 or 1,3,5, got 'x'"
    res = _script("reposition_headroom.py", "--fleet-scale", "0")
    assert res.returncode == 2
    assert res.stderr.strip() == "error: fleet_scale must be a finite number > 0, got 0.0"
