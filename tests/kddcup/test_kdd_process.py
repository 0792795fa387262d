"""Agents in their own process: every way an agent can fail or tamper, contained and counted,
and the simulation's numbers those of a clean agent with the same answers."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from v1d3.demand.config import ScenarioConfig
from v1d3.errors import ConfigError, PolicyError
from v1d3.eval.config import RunConfig
from v1d3.kddcup import host
from v1d3.kddcup.adapter import FAULT_KINDS
from v1d3.kddcup.process import AgentProcess, AgentStopped, describe_exit
from v1d3.kddcup.runner import run_agent
from v1d3.kddcup.submission import AgentConfig, resolve_python

# A greedy agent that misbehaves on scripted calls. The call count lives in a file beside it,
# so a restarted process (its memory lost) goes on counting where the last one stopped.
SCRIPTED = r"""
import json, os, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = json.load(open(os.path.join(HERE, "script.json")))
with open(os.path.join(HERE, "python.txt"), "w") as fh:
    fh.write(sys.executable)


def calls():
    with open(os.path.join(HERE, "calls.txt"), "a+") as fh:
        fh.write("x\n")
        fh.seek(0)
        return len(fh.read().split())


def greedy(observ):
    used_o, used_d, out = set(), set(), []
    for p in sorted(observ, key=lambda p: (p["order_driver_distance"], p["order_id"])):
        if p["order_id"] in used_o or p["driver_id"] in used_d:
            continue
        used_o.add(p["order_id"])
        used_d.add(p["driver_id"])
        out.append({"order_id": p["order_id"], "driver_id": p["driver_id"]})
    return out


class Agent:
    def dispatch(self, observ):
        mode = SCRIPT.get(str(calls()), "greedy")
        if mode == "void":
            return []
        if mode == "loop":
            while True:
                pass
        if mode == "sleep":
            time.sleep(SCRIPT["sleep_s"])
        if mode == "segfault":
            import ctypes
            ctypes.string_at(0)
        if mode == "os_exit":
            os._exit(0)
        if mode == "sys_exit":
            sys.exit(3)
        if mode == "base":
            raise KeyboardInterrupt
        if mode == "memory":
            hog = bytearray(2 * 2**30)
            return hog
        if mode == "print":
            sys.stdout.write("x" * 2**20)
            print("to stderr too", file=sys.stderr)
        if mode == "none":
            return None
        if mode == "dict":
            return {"order_id": 1, "driver_id": 2}
        if mode == "string":
            return "0:1"
        if mode == "ints":
            return [1, 2, 3]
        if mode == "nan":
            return [{"order_id": float("nan"), "driver_id": float("nan")}]
        if mode == "bad_repr":
            class Evil(list):
                def __iter__(self):
                    raise RuntimeError("no iterating me")
                def __len__(self):
                    return 1
            return Evil()
        return greedy(observ)

    def reposition(self, observ):
        return []
"""

TAMPER = r"""
import os, random, signal, sys, threading, time
import numpy as np

from helper import Agent as Clean


class Agent(Clean):
    def __init__(self):
        super().__init__()
        np.random.default_rng = lambda *a, **k: None  # what broke common random numbers
        np.random.seed(123)
        random.seed(7)
        np.argsort = lambda *a, **k: [0]
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        threading.Thread(target=lambda: time.sleep(10**6), daemon=False).start()

    def dispatch(self, observ):
        os.chdir("/")
        sys.path.insert(0, "/nonexistent")
        return super().dispatch(observ)
"""

BUDGET_S = 0.3
CALL = 3
"""The scripted call: the third dispatch round of the day."""


def _cfg() -> RunConfig:
    sc = ScenarioConfig(name="synthetic", orders=6000, start_hour=8.0, hours=0.25)
    return RunConfig(scenario=sc, seed=3)


def _agent(tmp_path: Path, name: str, script: dict[str, object], source: str = SCRIPTED) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "agent.py").write_text(source)
    (folder / "script.json").write_text(json.dumps(script))
    return folder


def _config(**kw: object) -> AgentConfig:
    return AgentConfig(**{"time_budget_s": BUDGET_S, "grace_factor": 4.0, **kw})  # type: ignore[arg-type]


_NUMBERS = ("orders", "completed", "cancelled", "total_income", "wait_mean_s", "utilisation")


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The clean agent with the same answers: greedy, and nothing on the scripted call."""
    folder = _agent(tmp_path_factory.mktemp("twin"), "twin", {str(CALL): "void"})
    return run_agent(_cfg(), folder, config=_config()).metrics


CASES = [
    # mode, fault kind (dispatch), restarts, extra config
    ("loop", "hung", 1, {}),
    ("sleep", "timeout", 0, {}),
    ("segfault", "crash", 1, {}),
    ("os_exit", "crash", 1, {}),
    ("sys_exit", "crash", 1, {}),
    ("base", "crash", 1, {}),
    ("memory", "memory", 1, {"memory_mb": 1024}),
    ("none", "malformed", 0, {}),
    ("dict", "malformed", 0, {}),
    ("string", "malformed", 0, {}),
    ("ints", "malformed", 0, {}),
    ("nan", "malformed", 0, {}),
    ("bad_repr", "malformed", 0, {}),
]


@pytest.mark.parametrize(("mode", "kind", "restarts", "extra"), CASES, ids=[c[0] for c in CASES])
def test_each_fault_is_contained_counted_and_changes_nothing_else(
    tmp_path: Path, twin: dict[str, object], mode: str, kind: str, restarts: int, extra: dict
) -> None:
    folder = _agent(tmp_path, mode, {str(CALL): mode, "sleep_s": 2 * BUDGET_S})
    result = run_agent(_cfg(), folder, config=_config(**extra))
    faults = result.metrics["agent_faults"]
    n = 3 if mode == "ints" else 1  # three entries void, one by one
    assert faults["dispatch"] == dict.fromkeys(FAULT_KINDS, 0) | {kind: n}, mode
    assert faults["restarts"] == restarts
    for k in _NUMBERS:
        assert result.metrics[k] == twin[k], (mode, k)
    record = result.log.meta["agent_fault_log"][0]
    assert record["kind"] == kind and record["method"] == "dispatch"
    if mode == "segfault":  # the agent's last words: faulthandler's stack on its stderr
        assert "Segmentation fault" in (record["traceback"] or "")
    if mode == "sys_exit":
        assert "SystemExit" in record["message"]


def test_printing_agents_output_is_kept_apart(tmp_path: Path, twin, capfd) -> None:
    folder = _agent(tmp_path, "printer", {str(CALL): "print"})
    result = run_agent(_cfg(), folder, config=_config())
    out, err = capfd.readouterr()
    assert "xxxx" not in out and "xxxx" not in err  # nothing of it on our streams
    output = result.log.meta["agent_output"]
    assert output["stdout_bytes"] == 2**20 and len(output["stdout_tail"]) <= 8192
    assert "to stderr too" in output["stderr_tail"]
    assert result.metrics["agent_fault_count"] == 0


def test_a_tampering_agent_changes_nothing(tmp_path: Path, twin) -> None:
    """Patched numpy, reseeded generators, another folder and sys.path, a signal handler and a
    thread left running: all in the agent's process, none of it in the simulation's."""
    folder = _agent(tmp_path, "tamper", {str(CALL): "void"}, TAMPER)
    (folder / "helper.py").write_text(SCRIPTED)
    cwd, path = os.getcwd(), list(sys.path)
    result = run_agent(_cfg(), folder, config=_config())
    for k in _NUMBERS:
        assert result.metrics[k] == twin[k], k
    assert result.metrics["agent_fault_count"] == 0
    assert os.getcwd() == cwd and sys.path == path


def test_past_the_restart_limit_the_run_stops_naming_the_agent(tmp_path: Path) -> None:
    script = {str(i): "os_exit" for i in range(1, 50)}
    folder = _agent(tmp_path, "dying", script)
    with pytest.raises(AgentStopped, match=r"dying: stopped after 2 restarts.*exit code 0"):
        run_agent(_cfg(), folder, config=_config(max_restarts=2))


def test_cli_restart_limit_is_one_line_exit_2_nothing_written(tmp_path: Path) -> None:
    folder = _agent(tmp_path, "dying", {str(i): "segfault" for i in range(1, 50)})
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "v1d3.cli.main", "simulate", "--scenario", "synthetic"]
    cmd += ["--hours", "0.1"]
    cmd += ["--agent", str(folder), "--agent-max-restarts", "1", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "stopped after 1 restarts" in lines[0] and "SIGSEGV" in lines[0]
    assert "Traceback" not in proc.stderr and not out.exists()


def test_a_missing_module_names_it_and_both_remedies(tmp_path: Path) -> None:
    folder = _agent(tmp_path, "needs", {}, "import v1d3_no_such_module\n")
    with pytest.raises(PolicyError) as e:
        AgentProcess(folder)
    msg = str(e.value)
    assert "v1d3_no_such_module" in msg and "v1d3[kdd]" in msg and "--agent-python" in msg
    assert "\n" not in msg


@pytest.mark.parametrize(
    ("source", "match"),
    [
        ("raise SystemExit(4)\n", r"import failed \(SystemExit"),
        ("class Agent:\n    def __init__(self):\n        1/0\n", r"Agent\(\) failed"),
        ("Agent = 3\n", "defines no Agent class"),
        ("class Agent:\n    def dispatch(self, o):\n        return []\n", "no reposition"),
        ("import os\nos._exit(9)\n", r"ended while starting \(exit code 9\)"),
    ],
)
def test_agents_that_cannot_start_are_one_line(tmp_path: Path, source: str, match: str) -> None:
    folder = _agent(tmp_path, "bad", {}, source)
    with pytest.raises(PolicyError, match=match):
        AgentProcess(folder)


def test_a_slow_start_is_given_up_on(tmp_path: Path) -> None:
    folder = _agent(tmp_path, "slow", {}, "import time\ntime.sleep(30)\n")
    tic = time.monotonic()
    with pytest.raises(PolicyError, match="not ready within 0.5 s"):
        AgentProcess(folder, AgentConfig(start_timeout_s=0.5))
    assert time.monotonic() - tic < 10


def test_the_agent_side_needs_only_the_standard_library(tmp_path: Path) -> None:
    """A bare venv (no numpy, no v1d3) runs an agent: nothing couples the two sides' packages."""
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    probe = subprocess.run([python, "-c", "import numpy"], capture_output=True)
    assert probe.returncode != 0  # really bare
    folder = _agent(tmp_path, "plain", {str(CALL): "void"})
    result = run_agent(_cfg(), folder, config=_config(python=python))
    assert result.log.meta["agent_output"]["python"] == python
    assert result.metrics["agent_fault_count"] == 0


OLD_PYTHONS = [p for p in ("/root/.pyenv/versions/3.6.15/bin/python",) if os.path.exists(p)]


@pytest.mark.skipif(not OLD_PYTHONS, reason="no Python 3.6 on this machine")
def test_the_agent_side_runs_on_python_3_6(tmp_path: Path, twin) -> None:
    folder = _agent(tmp_path, "old", {str(CALL): "void"})
    result = run_agent(_cfg(), folder, config=_config(python=OLD_PYTHONS[0]))
    assert result.log.meta["agent_output"]["python_version"].startswith("3.6")
    for k in _NUMBERS:
        assert result.metrics[k] == twin[k], k


def test_the_agent_side_parses_as_python_3_6() -> None:
    import ast

    ast.parse(Path(host.__file__).read_text(), feature_version=(3, 6))


def test_python_option_is_resolved_or_refused(tmp_path: Path) -> None:
    assert resolve_python(None) is None
    assert resolve_python(os.path.basename(sys.executable)) is not None
    with pytest.raises(ConfigError, match="no such interpreter"):
        resolve_python(str(tmp_path / "python9"))
    with pytest.raises(ConfigError, match="isolation"):
        AgentConfig(isolation="docker")
    with pytest.raises(ConfigError, match="uses this Python"):
        AgentConfig(isolation="none", python=sys.executable)


def test_describe_exit() -> None:
    assert describe_exit(-11) == "killed by SIGSEGV"
    assert describe_exit(3) == "exit code 3"
    assert describe_exit(None) == "still running"


def test_in_a_study_one_agents_tampering_never_reaches_the_next_run(tmp_path: Path) -> None:
    """``evaluate`` with one worker: the tampering agent's runs come first, then the clean
    agent's, in the same worker; both decide alike, so every number is equal, and so are the
    days (common random numbers intact); a crashing agent's study still writes its results."""
    from v1d3.eval.evaluate import evaluate
    from v1d3.eval.study import StudyConfig

    tamper = _agent(tmp_path, "tamper", {}, TAMPER)
    (tamper / "helper.py").write_text(SCRIPTED)
    clean = _agent(tmp_path, "clean", {})
    dying = _agent(tmp_path, "dying", {str(i): "sys_exit" for i in range(1, 999)})
    cfg = _cfg()
    study = StudyConfig(
        policies=tuple(f"kdd-agent:{n}/kdd-agent:{n}" for n in ("tamper", "clean", "dying")),
        baseline="kdd-agent:clean/kdd-agent:clean",
        weekdays=(2,),
        seeds=(3, 4),
        scenario=cfg.scenario,
        agents={"tamper": str(tamper), "clean": str(clean), "dying": str(dying)},
        agent=_config(max_restarts=1),
    )
    ev = evaluate(study, tmp_path / "study", workers=1, report=False)
    rows = {(r["policy"], r["seed"]): r for r in ev.results}
    for seed in (3, 4):
        a = rows[("kdd-agent:tamper/kdd-agent:tamper", seed)]
        b = rows[("kdd-agent:clean/kdd-agent:clean", seed)]
        for k in _NUMBERS:
            assert a[k] == b[k], (seed, k)
    assert {f["policy"] for f in ev.failures} == {"kdd-agent:dying/kdd-agent:dying"}
    assert "stopped after 1 restarts" in ev.failures[0]["error"]
    assert (tmp_path / "study" / "results.parquet").is_file()


def test_evaluate_takes_an_interpreter_per_agent_and_records_it(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    from cli_inprocess import SMALL_RUN, assert_one_line_error, run_v1d3

    a, b = _agent(tmp_path, "a", {}), _agent(tmp_path, "b", {})
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    bare = str(venv / "bin" / "python")
    out = tmp_path / "study"
    code, _, err = run_v1d3(
        monkeypatch, capsys, "evaluate", *SMALL_RUN, "--hours", "0.1", "--policies",
        "nearest/stay", "--baseline", "nearest/stay", "--agent", f"a={a}", "--agent", f"b={b}",
        "--agent-python", f"b={bare}",
        "--agent-budget-s", "1.5", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    study = json.loads((out / "study.json").read_text())["study"]
    assert study["agent_python"] == {"b": bare} and study["agent"]["time_budget_s"] == 1.5
    assert (a / "python.txt").read_text() == sys.executable  # each ran under its own Python
    assert (b / "python.txt").read_text() == bare
    for bad, needle in [
        (["--agent-python", "c=/usr/bin/python3", "--agent", f"a={a}"], "not one of the --agent"),
        (["--agent-python", sys.executable], "give --agent too"),
        (["--agent-memory-mb", "10"], "give --agent too"),
    ]:
        code, _, err = run_v1d3(
            monkeypatch, capsys, "evaluate", *SMALL_RUN, "--policies", "nearest/stay", *bad,
            "--out", str(tmp_path / "bad"),
        )  # fmt: skip
        assert_one_line_error(code, err, needle)


FORGER = r"""
import os, struct, sys, time

from helper import SCRIPT, calls, greedy


class Agent:
    def reposition(self, observ):
        return []

    def dispatch(self, observ):
        n = calls()
        mode = SCRIPT.get(str(n), "greedy")
        fd = int(sys.argv[2])  # the reply pipe, as the host was started
        if mode == "deep":  # a frame no JSON decoder survives: 200,000 nested lists
            body = b"[" * 200000 + b"]" * 200000
            os.write(fd, struct.pack("<I", len(body)) + body)
        if mode == "many":  # a small frame that would decode into millions of entries
            body = b'{"seq": %d, "status": "ok", "answer": [' % n + b"{}," * 400000 + b"{}]}"
            os.write(fd, struct.pack("<I", len(body)) + body)
        if mode == "lie":  # the host's own reply, patched to report no time at all
            main = sys.modules["__main__"]
            real = main._answer

            def fake(*a, **k):
                reply, rest = real(*a, **k)
                reply["took_s"] = 0.0
                return reply, rest

            main._answer = fake
            time.sleep(SCRIPT["sleep_s"])
        return greedy(observ)
"""


@pytest.mark.parametrize(
    ("mode", "kind"), [("deep", "crash"), ("many", "crash"), ("lie", "timeout")]
)
def test_forged_replies_and_times_are_caught(tmp_path: Path, twin, mode: str, kind: str) -> None:
    """An agent writing its own frames, or lying about its time, gets the round voided (and
    for a forged frame its process replaced); the run goes on as the clean twin's."""
    folder = _agent(tmp_path, mode, {str(CALL): mode, "sleep_s": 1.0}, FORGER)
    (folder / "helper.py").write_text(SCRIPTED)
    result = run_agent(_cfg(), folder, config=_config())
    faults = result.metrics["agent_faults"]
    assert faults["dispatch"][kind] == 1 and faults["total"] == 1, faults
    for k in _NUMBERS:
        assert result.metrics[k] == twin[k], (mode, k)


LAZY = r"""
import time


class Slow(list):
    def __iter__(self):
        time.sleep(1.0)
        return super().__iter__()


class Agent:
    def dispatch(self, observ):
        return Slow()

    def reposition(self, observ):
        return []
"""


@pytest.mark.parametrize("isolation", ["process", "none"])
def test_an_answer_read_lazily_is_timed_too(tmp_path: Path, isolation: str) -> None:
    folder = _agent(tmp_path, "lazy", {}, LAZY)
    cfg = dataclasses.replace(_cfg(), scenario=ScenarioConfig(name="synthetic", hours=0.01))
    result = run_agent(cfg, folder, config=_config(isolation=isolation))
    faults = result.metrics["agent_faults"]["dispatch"]
    assert faults["timeout"] >= 1 and faults["timeout"] == sum(faults.values())


SPAWNER = r"""
import os, subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
child = subprocess.Popen(["sleep", "600"])
with open(os.path.join(HERE, "grandchild.pid"), "w") as fh:
    fh.write(str(child.pid))


class Agent:
    def dispatch(self, observ):
        return []

    def reposition(self, observ):
        return []
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_the_agents_own_subprocesses_die_with_a_killed_simulator(tmp_path: Path) -> None:
    folder = _agent(tmp_path, "spawner", {}, SPAWNER)
    code = (
        "import sys, time\n"
        "from v1d3.kddcup.process import AgentProcess\n"
        f"p = AgentProcess({str(folder)!r})\n"
        "print('ready', flush=True)\n"
        "time.sleep(600)\n"
    )
    sim = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert sim.stdout is not None and sim.stdout.readline().strip() == "ready"
    grandchild = int((folder / "grandchild.pid").read_text())
    assert _alive(grandchild)
    sim.kill()  # SIGKILL: no cleanup of ours runs
    sim.wait()
    deadline = time.monotonic() + 10
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild)


def test_a_relative_interpreter_is_taken_from_where_the_run_started(
    tmp_path: Path, monkeypatch
) -> None:
    folder = _agent(tmp_path, "rel", {})
    monkeypatch.chdir(Path(sys.executable).parent.parent)
    proc = AgentProcess(folder, AgentConfig(python=os.path.join("bin", Path(sys.executable).name)))
    try:
        assert os.path.isabs(proc.python)
    finally:
        proc.close()


OLDEST = [p for p in ("/root/.pyenv/versions/2.7.18/bin/python",) if os.path.exists(p)]


@pytest.mark.skipif(not OLDEST, reason="no Python 2.7 on this machine")
def test_an_interpreter_too_old_is_one_line() -> None:
    with pytest.raises(ConfigError, match="not a Python interpreter that runs here|3.6 or newer"):
        resolve_python(OLDEST[0])
