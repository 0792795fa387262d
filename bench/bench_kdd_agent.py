"""A KDD Cup agent in its own process against the same agent in the simulator's: what isolation
costs. Prints one JSON object.

- ``day``: a greedy agent (nearest pairs first, each order and driver once; plain Python, as
  submissions were) on the full Manhattan weekday, once in its own process (the default) and
  once with isolation ``none``; wall time of each and their ratio (the figure asked: at most
  1.3×), with the day's income to show both decided alike.
- ``round``: the per-round cost on a 20,000-pair round, p50/p99 over repeated calls of an agent
  that answers at once: the round trip through the agent's process; of it, building the
  observation there (decoding the columns, making the dicts) and the protocol itself (encoding,
  the pipes, the reply: the rest); against building the same observation in this process (what
  isolation ``none`` pays instead).
- ``h3_3_agent``: an agent written for h3 3.x run under its own interpreter (a throwaway venv
  with ``h3<4``; needs PyPI), as docs/method.md §12 tells users to.
- ``serialisation``: how the round's observation travels, measured before choosing: the wire's
  raw columns (both sides' work: encoding, decoding and building the dicts) against JSON and
  pickle of the finished list of dicts (dumps and loads; building the dicts first, which those
  two need on this side, is ``round.observation_in_process``).

    python bench/bench_kdd_agent.py                  # all of it (the day: several minutes)
    python bench/bench_kdd_agent.py --hours 2 --skip-day   # quicker looks
"""

from __future__ import annotations

import json
import pickle
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from v1d3.cli.script_args import ArgumentParser
from v1d3.text_files import json_text

GREEDY = """
class Agent:
    def dispatch(self, observ):
        used_o, used_d, out = set(), set(), []
        for p in sorted(observ, key=lambda p: p["order_driver_distance"]):
            o, d = p["order_id"], p["driver_id"]
            if o in used_o or d in used_d:
                continue
            used_o.add(o)
            used_d.add(d)
            out.append({"order_id": o, "driver_id": d})
        return out

    def reposition(self, observ):
        return []
"""

QUICK = """
class Agent:
    def dispatch(self, observ):
        return []

    def reposition(self, observ):
        return []
"""

H3_AGENT = """
import h3  # 3.x: geo_to_h3, h3_to_geo, k_ring (renamed in 4.0)


class Agent:
    def __init__(self):
        self.cells = set()  # the city's cells, as drivers were seen in them

    def dispatch(self, observ):
        return []

    def reposition(self, observ):
        out = []
        for d in observ["driver_info"]:
            self.cells.add(d["grid_id"])
            lat, lng = h3.h3_to_geo(d["grid_id"])
            here = h3.geo_to_h3(lat, lng, h3.h3_get_resolution(d["grid_id"]))
            known = sorted((h3.k_ring(here, 1) - {here}) & self.cells)
            out.append({"driver_id": d["driver_id"], "destination": (known or [here])[0]})
        return out
"""

PAIRS = 20_000


def _folder(root: Path, name: str, source: str) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "agent.py").write_text(source)
    return folder


def day(root: Path, hours: float | None, seed: int) -> dict[str, Any]:
    from v1d3.demand.config import ScenarioConfig
    from v1d3.eval.config import RunConfig
    from v1d3.kddcup.runner import run_agent
    from v1d3.kddcup.submission import AgentConfig

    sc = ScenarioConfig(name="manhattan", weekday=2)
    if hours is not None:
        sc = ScenarioConfig(name="manhattan", weekday=2, start_hour=17.0, hours=hours)
    cfg = RunConfig(scenario=sc, seed=seed)
    folder = _folder(root, "greedy", GREEDY)
    out: dict[str, Any] = {"hours": hours or 24.0}
    for how, config in (("process", AgentConfig()), ("none", AgentConfig(isolation="none"))):
        tic = time.perf_counter()
        result = run_agent(cfg, folder, config=config, check=False)
        wall = time.perf_counter() - tic
        m = result.metrics
        out[how] = {
            "wall_s": round(wall, 2),
            "orders": m["orders"],
            "total_income": round(m["total_income"], 2),
            "agent_faults": m["agent_fault_count"],
        }
    out["ratio"] = round(out["process"]["wall_s"] / out["none"]["wall_s"], 3)
    return out


def _request(seed: int) -> Any:
    from v1d3.kddcup import host
    from v1d3.kddcup.observation import AgentRequest

    rng = np.random.default_rng(seed)
    n = PAIRS
    cols = {
        "order": rng.integers(0, 2000, n).astype(np.int64),
        "driver": rng.integers(0, 4000, n).astype(np.int64),
        **{k: rng.uniform(0, 1, n) for k in host.DISPATCH_FLOATS},
        "finish": 1.5e9 + rng.uniform(0, 3600, n),
    }
    return AgentRequest("dispatch", {"timestamp": 1500000000, "day_of_week": 2}, cols)


def _quantiles(xs: list[float]) -> dict[str, float]:
    qs = np.quantile(np.asarray(xs) * 1e3, [0.5, 0.99])
    return {"p50_ms": round(float(qs[0]), 2), "p99_ms": round(float(qs[1]), 2)}


def one_round(root: Path, calls: int) -> dict[str, Any]:
    from v1d3.kddcup.process import AgentProcess
    from v1d3.kddcup.submission import AgentConfig

    request = _request(0)
    local = []
    for _ in range(calls):
        tic = time.perf_counter()
        request.observation()
        local.append(time.perf_counter() - tic)
    proc = AgentProcess(_folder(root, "quick", QUICK), AgentConfig())
    trips, prep, protocol = [], [], []
    try:
        for _ in range(calls):
            tic = time.perf_counter()
            reply = proc.call(request)
            trip = time.perf_counter() - tic
            assert reply.status == "ok", reply
            trips.append(trip)
            prep.append(reply.prep_s)
            protocol.append(trip - reply.prep_s - reply.took_s)
    finally:
        proc.close()
    return {
        "pairs": PAIRS,
        "calls": calls,
        "round_trip": _quantiles(trips),
        "observation_in_agent_process": _quantiles(prep),
        "protocol": _quantiles(protocol),
        "observation_in_process": _quantiles(local),
    }


def serialisation(calls: int) -> dict[str, Any]:
    from v1d3.kddcup import host

    request = _request(1)
    observ = request.observation()

    def wire() -> int:
        payload = request.encode(1)
        header, cols = host.decode_request(payload)
        host.dispatch_observation(header["scalars"], cols)
        return len(payload)

    def as_json() -> int:
        text = json.dumps(observ).encode()
        json.loads(text)
        return len(text)

    def as_pickle() -> int:
        data = pickle.dumps(observ, protocol=4)
        pickle.loads(data)
        return len(data)

    out = {}
    for name, fn in (("wire_columns", wire), ("json_dicts", as_json), ("pickle_dicts", as_pickle)):
        times, size = [], 0
        for _ in range(calls):
            tic = time.perf_counter()
            size = fn()
            times.append(time.perf_counter() - tic)
        out[name] = {**_quantiles(times), "bytes": size}
    return out


def h3_3(root: Path) -> dict[str, Any]:
    """An agent written for h3 3.x, under its own interpreter: a throwaway venv with ``h3<4``
    (needs PyPI), on two Manhattan hours; every driver it repositions goes to a ring neighbour."""
    import subprocess

    from v1d3.demand.config import ScenarioConfig
    from v1d3.eval.config import RunConfig
    from v1d3.kddcup.runner import run_agent
    from v1d3.kddcup.submission import AgentConfig
    from v1d3.sim.log import REPOSITION

    venv = root / "h3-3"
    tic = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    pip = subprocess.run(
        [python, "-m", "pip", "install", "-q", "h3<4"], capture_output=True, text=True
    )
    if pip.returncode != 0:
        return {"error": f"pip install 'h3<4' failed: {pip.stderr.strip()[-300:]}"}
    setup_s = time.perf_counter() - tic
    version = subprocess.run(
        [python, "-c", "import h3; print(h3.__version__)"], capture_output=True, text=True
    ).stdout.strip()
    sc = ScenarioConfig(name="manhattan", weekday=2, start_hour=8.0, hours=2.0)
    cfg = RunConfig(scenario=sc, seed=0)
    folder = _folder(root, "h3agent", H3_AGENT)
    result = run_agent(cfg, folder, config=AgentConfig(python=python))
    faults = result.metrics["agent_faults"]
    return {
        "h3": version,
        "python": result.log.meta["agent_output"]["python_version"],
        "venv_setup_s": round(setup_s, 1),
        "repositioned": int(np.sum(result.log.events["kind"] == REPOSITION)),
        "agent_faults": faults["total"],
        "reposition_faults": {k: v for k, v in faults["reposition"].items() if v},
    }


def main() -> None:
    p = ArgumentParser(description=__doc__)
    p.add_argument("--hours", type=float, default=None, help="A shorter day from 17:00 (quick).")
    p.add_argument("--skip-day", action="store_true", help="Only the per-round figures.")
    p.add_argument("--skip-h3", action="store_true", help="No h3 3.x agent (it needs PyPI).")
    p.add_argument("--calls", type=int, default=200, help="Calls per per-round figure.")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        out["serialisation"] = serialisation(max(20, a.calls // 4))
        out["round"] = one_round(root, a.calls)
        if not a.skip_h3:
            out["h3_3_agent"] = h3_3(root)
        if not a.skip_day:
            out["day"] = day(root, a.hours, a.seed)
    sys.stdout.write(json_text(out, "bench") + "\n")


if __name__ == "__main__":
    main()
