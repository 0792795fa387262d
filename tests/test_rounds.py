"""The round contract and the value functions stand apart from dispatching and learning."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

VALUE_MODULES = ["base", "tabular", "tile", "cvnet", "online", "checkpoint"]


def _loaded_after(imports: list[str]) -> list[str]:
    code = (
        "import importlib, json, sys\n"
        f"for m in {imports!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('v1d3.'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_rounds_import_no_policy_value_or_learner_code() -> None:
    loaded = _loaded_after(["v1d3.rounds"])
    for pkg in ("v1d3.dispatch", "v1d3.reposition", "v1d3.value", "v1d3.learn", "v1d3.sim"):
        assert not [m for m in loaded if m == pkg or m.startswith(pkg + ".")], pkg


@pytest.mark.parametrize("module", VALUE_MODULES)
def test_value_functions_import_neither_dispatch_nor_learners(module: str) -> None:
    loaded = _loaded_after([f"v1d3.value.{module}"])
    assert not [m for m in loaded if m.startswith(("v1d3.dispatch", "v1d3.learn"))]
