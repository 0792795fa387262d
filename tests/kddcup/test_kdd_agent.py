"""KDD Cup agents run unmodified: loading a submission folder, fault containment, end to end."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from v1d3.demand.config import KddConfig, ScenarioConfig
from v1d3.errors import ConfigError, PolicyError
from v1d3.eval.config import RunConfig
from v1d3.eval.run import write_run
from v1d3.kddcup.adapter import AGENT_POLICY, FAULT_KINDS, KddAgentPolicy
from v1d3.kddcup.runner import parse_agent_option, run_agent
from v1d3.kddcup.submission import AgentConfig, load_agent, unload_agents
from v1d3.sim.checker import check_run
from v1d3.sim.log import RunLog

HELPER = """
def greedy(observ):
    # nearest pairs first, each order and driver once
    used_o, used_d, out = set(), set(), []
    for p in sorted(observ, key=lambda p: p["order_driver_distance"]):
        if p["order_id"] in used_o or p["driver_id"] in used_d:
            continue
        used_o.add(p["order_id"])
        used_d.add(p["driver_id"])
        out.append({"order_id": p["order_id"], "driver_id": p["driver_id"]})
    return out
"""

MISBEHAVING = """
import json
import sys
import os
import time

from helper import greedy  # the agent's own module, found through sys.path

_HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(_HERE, "script.json")) as fh:  # a file next to the agent
    SCRIPT = json.load(fh)


class Agent:
    def __init__(self):
        self.rounds = 0
        self.repositions = 0

    def dispatch(self, dispatch_observ):
        self.rounds += 1
        mode = SCRIPT["dispatch"].get(str(self.rounds), "greedy")
        if mode == "raise":
            raise RuntimeError("boom in round %d" % self.rounds)
        if mode == "garbage":
            return "not a list"
        if mode == "garbage_entries":
            return [{"order": 1}, 42, {"order_id": "x", "driver_id": 1}]
        answer = greedy(dispatch_observ)
        if mode == "twice":
            return answer + [dict(answer[0])]
        if mode == "unknown":
            return [{"order_id": 10**9, "driver_id": 10**9}] + answer
        if mode == "sleep":
            time.sleep(SCRIPT["sleep_s"])
        return answer

    def reposition(self, repo_observ):
        self.repositions += 1
        info = repo_observ["driver_info"]
        if self.repositions == 1:
            raise ValueError("no idea where to go")
        if self.repositions == 2:
            return [{"driver_id": info[0]["driver_id"], "destination": "nowhere"}]
        return [{"driver_id": d["driver_id"], "destination": d["grid_id"]} for d in info]
"""

SCRIPT = {
    "dispatch": {
        "1": "raise",
        "2": "garbage",
        "3": "garbage_entries",
        "4": "twice",
        "5": "sleep",
        "6": "unknown",
    },
    "sleep_s": 1.0,
}
BUDGET_S = 0.5


def _kdd_cfg(kdd_files) -> RunConfig:
    sc = ScenarioConfig(
        name="kdd",
        kdd=KddConfig(grid=str(kdd_files.grid), orders=str(kdd_files.orders)),
        date="2016-11-09",
        start_hour=8.0,
        hours=1.0,
    )
    return RunConfig(scenario=sc, seed=2)


def test_misbehaving_agent_is_contained_on_a_kdd_city(kdd_files, write_agent, tmp_path) -> None:
    folder = write_agent(MISBEHAVING, helper__py=HELPER, script__json=json.dumps(SCRIPT))
    result = run_agent(_kdd_cfg(kdd_files), folder, time_budget_s=BUDGET_S)
    assert check_run(result.log).ok
    faults = result.metrics["agent_faults"]
    assert faults["dispatch"] == dict.fromkeys(FAULT_KINDS, 0) | {
        "exception": 1,
        "timeout": 1,
        "malformed": 4,  # a non-list answer, then three bad entries
        "non_candidate": 1,
        "duplicate": 1,
    }
    assert faults["reposition"] == dict.fromkeys(FAULT_KINDS, 0) | {
        "exception": 1,
        "unknown_cell": 1,
    }
    assert faults["total"] == 10 == result.metrics["agent_fault_count"]
    # the simulation went on: the other rounds were served
    assert result.metrics["completed"] > 100
    assert result.config.dispatch == AGENT_POLICY == result.config.reposition
    assert result.config.dispatch_params["path"] == str(folder)
    # records with the agent's own traceback travel in the run folder
    out = write_run(result, tmp_path / "run")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["agent_faults"] == faults
    records = RunLog.read(out).meta["agent_fault_log"]
    exc = [r for r in records if r["kind"] == "exception" and r["method"] == "dispatch"]
    assert "boom in round 1" in exc[0]["message"] and 'agent.py", line' in exc[0]["traceback"]
    assert [r["kind"] for r in records if r["method"] == "dispatch"] == [
        "exception",
        "malformed",
        "malformed",
        "duplicate",
        "timeout",
        "non_candidate",
    ]


def test_a_well_behaved_agent_matches_its_native_twin(kdd_files, write_agent) -> None:
    """A nearest-first agent decides as the native ``nearest`` policy: same metrics."""
    from v1d3.eval.run import run_simulation

    folder = write_agent(
        "from helper import greedy\n\n\nclass Agent:\n    def dispatch(self, o):\n"
        "        return greedy(o)\n\n    def reposition(self, o):\n        return []\n",
        helper__py=HELPER,
    )
    cfg = _kdd_cfg(kdd_files)
    agent = run_agent(cfg, folder)
    native = run_simulation(dataclasses.replace(cfg, dispatch="nearest"))
    for k in ("orders", "completed", "cancelled", "total_income", "wait_mean_s", "utilisation"):
        assert agent.metrics[k] == native.metrics[k], k
    assert agent.metrics["agent_faults"]["total"] == 0


def test_agents_with_same_named_modules_do_not_mix(write_agent) -> None:
    src = (
        "from helper import NAME\n\n\nclass Agent:\n    name = NAME\n\n"
        "    def dispatch(self, o):\n        return []\n\n    def reposition(self, o):\n"
        "        return []\n"
    )
    a = write_agent(src, name="a", helper__py="NAME = 'a'\n")
    b = write_agent(src, name="b", helper__py="NAME = 'b'\n")
    assert load_agent(a).name == "a"
    assert load_agent(b).name == "b"
    assert load_agent(a).name == "a"
    unload_agents()
    assert "agent" not in sys.modules and "helper" not in sys.modules
    assert str(a) not in sys.path and str(b) not in sys.path


@pytest.mark.parametrize(
    ("source", "error", "match"),
    [
        ("def broken(:\n", PolicyError, r"agent.py: import failed \(SyntaxError"),
        ("import no_such_module_here\n", PolicyError, "import failed .ModuleNotFoundError"),
        ("X = 1\n", PolicyError, "defines no Agent class"),
        (
            "class Agent:\n    def __init__(self):\n"
            "        raise RuntimeError('no model\\nfile')\n",
            PolicyError,
            r"Agent\(\) failed \(RuntimeError: no model\)",
        ),
        (
            "class Agent:\n    def dispatch(self, o):\n        return []\n",
            PolicyError,
            r"has no reposition\(observation\) method",
        ),
    ],
)
def test_agents_that_cannot_start_give_one_line(write_agent, source, error, match) -> None:
    folder = write_agent(source)
    with pytest.raises(error, match=match) as e:
        load_agent(folder)
    assert "\n" not in str(e.value)


def test_missing_folder_or_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="agent folder not found"):
        load_agent(tmp_path / "nope")
    with pytest.raises(ConfigError, match="no agent.py"):
        load_agent(tmp_path)
    with pytest.raises(ConfigError, match="time_budget_s"):
        AgentConfig(time_budget_s=0)


def test_agent_option_parsing() -> None:
    assert parse_agent_option("champ=subs/polar") == ("champ", "subs/polar")
    assert parse_agent_option("subs/polar/") == ("polar", "subs/polar/")
    with pytest.raises(ConfigError, match="NAME=PATH"):
        parse_agent_option("=x")


def test_adapter_is_a_policy_pair_sharing_one_agent() -> None:
    from v1d3.dispatch.base import DispatchPolicy
    from v1d3.kddcup.adapter import make_agent_reposition
    from v1d3.reposition.base import RepositionPolicy

    policy = KddAgentPolicy(object())
    d, r = policy
    assert isinstance(d, DispatchPolicy) and isinstance(r, RepositionPolicy)
    assert d.owner is r.owner is policy
    # both halves hand the run the one agent's faults (the run keeps the dispatch half's)
    assert d.run_metrics() == r.run_metrics() == policy.run_metrics()
    assert d.run_metrics()["agent_fault_count"] == 0 and r.run_meta()["agent_fault_log"] == []
    assert d.learns_online  # it passes each round's outcome on to the agent's extras
    assert make_agent_reposition(dispatch=d) is r
    assert policy.faults.as_dict()["total"] == 0
    assert np.isfinite(policy.config.time_budget_s)
