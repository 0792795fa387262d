"""``import v1d3`` registers ``v1d3/Dispatch-v0`` cheaply, in either import order, once."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import warnings

import gymnasium

import v1d3
from processes import SRC, python_env
from v1d3.gym_registry import ENTRY_POINT, ENV_ID

# v1d3 first, gymnasium after: the finder registers on gymnasium's first import, the env runs,
# the keyword arguments reach its config; every warning is an error
V1D3_FIRST = f"""
import json, sys
import v1d3
light = not {{"gymnasium", "numpy", "torch", "v1d3.gym"}} & set(sys.modules)
import gymnasium as gym
env = gym.make({ENV_ID!r}, orders=1500, hours=0.25, max_pairs=16)
obs, info = env.reset(seed=5)
obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
cfg = env.unwrapped.scenario_config
print(json.dumps(dict(
    light=light, scenario=cfg.name, hours=cfg.hours, orders=cfg.orders,
    max_pairs=env.unwrapped.max_pairs, shape=list(obs["pairs"].shape), reward=float(reward),
    ended=terminated or truncated, finders=sum(
        getattr(f, "v1d3_registers_envs", False) for f in sys.meta_path),
    loader=type(gym.__loader__).__module__,
)))
"""


def _python(code: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "error", *flags, "-c", code],
        capture_output=True,
        text=True,
        env=python_env(),
        timeout=120,
    )


def test_v1d3_first_then_gymnasium_make_runs_the_env() -> None:
    out = _python(V1D3_FIRST)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["light"]  # registering imported neither gymnasium, numpy, torch nor the env
    assert (got["scenario"], got["hours"], got["orders"]) == ("synthetic", 0.25, 1500)
    assert got["max_pairs"] == 16 and got["shape"][0] == 16
    assert got["reward"] >= 0 and not got["ended"]
    assert got["finders"] == 0  # the one-shot finder is gone after gymnasium's import
    assert got["loader"] != "v1d3.gym_registry"  # gymnasium keeps its own loader


def test_without_gymnasium_v1d3_imports_and_gymnasium_is_just_missing() -> None:
    # -S: no site-packages, so neither gymnasium nor numpy can be found; only src is on the path
    code = (
        "import sys, v1d3\n"
        "print(v1d3.__version__)\n"
        "try:\n    import gymnasium\nexcept ModuleNotFoundError as e:\n    print(e.name)\n"
    )
    out = subprocess.run(
        [sys.executable, "-S", "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": SRC, "PATH": ""},
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [v1d3.__version__, "gymnasium"]


def test_gymnasium_first_registers_at_import_and_reimports_stay_silent() -> None:
    spec = gymnasium.registry.pop(ENV_ID, None)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # gymnasium warns when an id is registered twice
            importlib.reload(v1d3)  # gymnasium is imported here: registered at once
            assert gymnasium.registry[ENV_ID].entry_point == ENTRY_POINT
            importlib.reload(v1d3)
            importlib.reload(importlib.import_module("v1d3.gym"))
        assert not [f for f in sys.meta_path if getattr(f, "v1d3_registers_envs", False)]
    finally:
        if spec is not None:
            gymnasium.registry[ENV_ID] = spec


def test_reloading_v1d3_before_gymnasium_leaves_one_finder() -> None:
    code = (
        "import importlib, sys, v1d3\n"
        "importlib.reload(v1d3)\n"
        "importlib.reload(v1d3)\n"
        "n = sum(getattr(f, 'v1d3_registers_envs', False) for f in sys.meta_path)\n"
        "import gymnasium\n"
        f"print(n, {ENV_ID!r} in gymnasium.registry)\n"
    )
    out = _python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "True"]
