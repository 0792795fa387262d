"""Simulator speed of two commits, measured alternately in one session. Prints one JSON object.

    python bench/compare_sim.py dd9b5fc HEAD                 # every bench_sim.py case
    python bench/compare_sim.py dd9b5fc HEAD --case 3600:all-online --rounds 3

Each commit is checked out into a temporary git worktree; ``bench/bench_sim.py`` of that commit
runs on its own sources (``PYTHONPATH``), the two commits taking turns ``--rounds`` times so that
a shared machine's drift from hour to hour falls on both alike. Reported per case: every
repetition's simulation seconds of each commit, and the ratio new / old of the fastest and of
the median repetitions (below 1: the new commit is faster). This is how a refactor shows it is
"no slower" (``docs/results/bench-sim-house.json``).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from v1d3.cli.script_args import ArgumentParser
from v1d3.text_files import json_text

REPO = Path(__file__).resolve().parents[1]


def _bench(tree: Path, cases: list[str], repeat: int) -> dict[str, list[float]]:
    args = [sys.executable, str(tree / "bench" / "bench_sim.py"), "--repeat", str(repeat)]
    for case in cases:
        args += ["--case", case]
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    out = subprocess.run(args, capture_output=True, text=True, env=env, check=True).stdout
    return {c["case"]: c["simulation_wall_s_all"] for c in json.loads(out)["cases"]}


def main() -> None:
    ap = ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", help="the commit to compare against (e.g. the one before a change)")
    ap.add_argument("new", help="the commit measured (e.g. HEAD)")
    ap.add_argument("--case", action="append", default=[], help="a bench_sim.py case (all)")
    ap.add_argument("--rounds", type=int, default=2, help="turns each commit takes")
    ap.add_argument("--repeat", type=int, default=2, help="bench_sim.py repetitions per turn")
    args = ap.parse_args()
    times: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {}
        for who in ("old", "new"):
            trees[who] = Path(tmp) / who
            rev = getattr(args, who)
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "add", "--detach", str(trees[who]), rev],
                capture_output=True, check=True,
            )  # fmt: skip
        try:
            for _ in range(args.rounds):
                for who, tree in trees.items():
                    for case, secs in _bench(tree, args.case, args.repeat).items():
                        times.setdefault(case, {"old": [], "new": []})[who] += secs
        finally:
            for tree in trees.values():
                subprocess.run(
                    ["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
                    capture_output=True, check=False,
                )  # fmt: skip
    cases = {
        case: {
            "old": t["old"],
            "new": t["new"],
            "fastest_ratio_new_over_old": round(min(t["new"]) / min(t["old"]), 3),
            "median_ratio_new_over_old": round(
                statistics.median(t["new"]) / statistics.median(t["old"]), 3
            ),
        }
        for case, t in times.items()
    }
    print(json_text({"old": args.old, "new": args.new, "cases": cases}, indent=1))


if __name__ == "__main__":
    main()
