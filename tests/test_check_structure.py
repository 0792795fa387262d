"""scripts/check_structure.py finds import circles (lazy ones too) and long functions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_structure.py"


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _check(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(SCRIPT), str(root), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def test_a_clean_package_passes(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "__init__.py": '"""Face."""\nfrom pkg.a import f\n__all__ = ["f"]\n',
            "a.py": "from pkg import b\n\ndef f():\n    return b.g()\n",
            "b.py": "def g():\n    return 1\n",
        },
    )
    r = _check(root)
    assert r.returncode == 0, r.stdout
    assert "no import circles" in r.stdout


def test_a_lazy_import_circle_is_a_circle(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from pkg.b import g\n",
            "b.py": "def g():\n    from pkg.a import x\n    return x\n",
            "c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import d\n",
            "d.py": "from .c import TYPE_CHECKING\n",
        },
    )
    r = _check(root)
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert "import circle: pkg.a <-> pkg.b" in lines
    assert "import circle: pkg.c <-> pkg.d" in lines


def test_a_function_over_the_limit_is_named(tmp_path: Path) -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(12))
    root = _write(tmp_path, {"__init__.py": "", "m.py": f"def long():\n{body}"})
    assert _check(root).returncode == 0
    r = _check(root, "--max-lines", "10")
    assert r.returncode == 1
    assert r.stdout.strip().endswith("m.py:long 13 lines (> 10)")
