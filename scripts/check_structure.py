"""Structure check of the package: import circles between its modules, and over-long functions.

    python scripts/check_structure.py            # src/, functions up to 120 lines
    python scripts/check_structure.py src --max-lines 80

Reads the source only (``ast``), so it needs nothing installed. Every import counts, including
those inside functions and under ``TYPE_CHECKING``: an import deferred to dodge a circle is still
a circle in the design. A package ``__init__`` that only re-exports names (imports, ``__all__``,
its docstring) is left out of the graph: importing a package's face does not tie its modules
together. Prints one line per finding and exits 1 when there is any (``make house``, run by CI).
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path


def module_of(root: Path, path: Path) -> str:
    """``src/v1d3/sim/engine.py`` → ``v1d3.sim.engine``; a package's ``__init__`` → the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(name: str, known: set[str]) -> str | None:
    """The longest known module that ``name`` (a module or ``module.attribute``) lies in."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imported_modules(tree: ast.Module, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The package modules that ``module`` imports anywhere in its body."""
    here = module.split(".") if is_package else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = here[: len(here) - node.level + 1]
                stem = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                stem = node.module or ""
            names = [stem, *(f"{stem}.{a.name}" for a in node.names)]
        else:
            continue
        for name in names:
            target = _resolve(name, known)
            if target is not None and target != module:
                found.add(target)
    return found


def is_face(tree: ast.Module, path: Path) -> bool:
    """Whether a package ``__init__`` only re-exports: imports, ``__all__`` and its docstring."""
    if path.name != "__init__.py":
        return False
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.Expr)):
            continue
        if isinstance(node, ast.Assign) and all(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            continue
        return False
    return True


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, successors = work[-1]
            w = next(successors, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    u = stack.pop()
                    on_stack.discard(u)
                    comp.append(u)
                    if u == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def long_functions(trees: dict[Path, ast.Module], limit: int) -> list[tuple[Path, str, int]]:
    found = []
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > limit:
                    found.append((path, node.name, n))
    return sorted(found, key=lambda x: -x[2])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", nargs="?", default="src", help="source root (default: src)")
    ap.add_argument("--max-lines", type=int, default=120, help="longest function allowed")
    args = ap.parse_args(argv)
    root = Path(args.src)
    paths = sorted(root.rglob("*.py"))
    trees = {p: ast.parse(p.read_text(), str(p)) for p in paths}
    modules = {module_of(root, p): p for p in paths}
    known = set(modules)
    graph = {
        m: imported_modules(trees[p], m, p.name == "__init__.py", known)
        for m, p in modules.items()
        if not is_face(trees[p], p)
    }
    graph = {m: {w for w in ws if w in graph} for m, ws in graph.items()}
    circles = strongly_connected(graph)
    long = long_functions(trees, args.max_lines)
    for comp in circles:
        print("import circle:", " <-> ".join(comp))
    for path, name, n in long:
        print(f"long function: {path}:{name} {n} lines (> {args.max_lines})")
    if not circles and not long:
        print(f"structure: no import circles, no function over {args.max_lines} lines")
    return 1 if circles or long else 0


if __name__ == "__main__":
    sys.exit(main())
