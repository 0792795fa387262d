"""``make bench``: run every benchmark script and print one JSON object keyed by benchmark."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main() -> None:
    only = set(sys.argv[1:])
    results = {}
    for script in sorted(HERE.glob("bench_*.py")):
        name = script.stem.removeprefix("bench_")
        if only and name not in only:
            continue
        print(f"running {script.name} ...", file=sys.stderr, flush=True)
        out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
        if out.returncode != 0:
            results[name] = {"error": out.stderr.strip().splitlines()[-1:]}
            continue
        results[name] = json.loads(out.stdout)
    print(json.dumps(results, indent=2, allow_nan=False))  # strict JSON, as v1d3.text_files writes


if __name__ == "__main__":
    main()
