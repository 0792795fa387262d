"""Writing output files and folders safely: check the path first, then write atomically.

Every writer in the package goes through these, so a bad output path (a file where a folder is
expected, ``.``, an unrelated non-empty folder, the command's own input) is one
:class:`~v1d3.errors.ConfigError` before any work starts, and a reader never sees half a file or
half a folder: :func:`atomic_file` and :class:`atomic_dir` write under a temporary name beside the
target and rename it into place on success.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from v1d3.errors import ConfigError

__all__ = ["atomic_dir", "atomic_file", "atomic_write_text", "check_output_path"]


def check_output_path(
    path: str | os.PathLike[str],
    kind: Literal["folder", "file"],
    marker: str | None = None,
    label: str = "out",
    replaces: bool = True,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> Path:
    """Refuse an output path that cannot be written as a ``kind``, before any work starts.

    Refused, each with a one-line :class:`~v1d3.errors.ConfigError` naming ``label`` and the path:
    a name like ``.``, ``..`` or ``""`` when the writer ``replaces`` the path as a whole (it would
    replace the current folder); a path whose nearest existing ancestor is not a folder; an
    existing folder where a file is expected and vice versa; and, with ``marker``, an existing
    non-empty folder without the file ``marker`` (a folder some other program wrote, which
    replacing it would delete); an existing file that is one of the command's ``inputs``.
    Returns the path.
    """
    p = Path(path)
    if replaces and (p.name in ("", ".", "..") or Path(os.path.normpath(p)).name in ("", "..")):
        raise ConfigError(
            f"{label}: {str(path)!r} names no new {kind} (it would replace the current folder "
            f"or one above it); give a {kind} name"
        )
    for parent in p.parents:
        if os.path.lexists(parent):
            if not parent.is_dir():
                raise ConfigError(f"{label}: {parent} is a file, not a folder")
            break
    if not os.path.lexists(p):
        return p
    if kind == "file":
        if p.is_dir():
            raise ConfigError(f"{label}: {p} is a folder, not a file")
        for given in inputs:
            if os.path.exists(given) and os.path.samefile(p, given):
                raise ConfigError(
                    f"{label}: {p} is the input file {given}; choose another output file"
                )
        return p
    if not p.is_dir():
        raise ConfigError(f"{label}: {p} is a file, not a folder")
    if marker is not None and not (p / marker).is_file() and any(p.iterdir()):
        raise ConfigError(
            f"{label}: {p} is not empty and holds no {marker} (only such a folder is "
            "replaced); choose another folder"
        )
    return p


class atomic_dir:
    """Context manager: build a folder under a temporary name, rename it into place on success.

    On error the temporary folder is removed, so no half-written run folder is ever left behind.
    The target is checked first with :func:`check_output_path` (``marker``: the file an existing
    folder must hold to be replaced), so a bad path fails before anything is written.
    """

    def __init__(self, target: Path, marker: str | None = None) -> None:
        self.target = Path(target)
        self.marker = marker

    def __enter__(self) -> Path:
        check_output_path(self.target, "folder", marker=self.marker)
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.", dir=self.target.parent))
        return self.tmp

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        if self.target.exists():
            old = self.target.with_name(f".{self.target.name}.old")
            _remove(old)
            os.replace(self.target, old)
            os.replace(self.tmp, self.target)
            _remove(old)
        else:
            os.replace(self.tmp, self.target)


def _remove(path: Path) -> None:
    """Remove a folder tree, a file or a symbolic link (only the link), if there."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Context manager: yield a temporary path beside ``path`` to write the file to, rename it
    onto ``path`` on success, remove it on error, so a reader never sees half a file. ``path`` is
    checked first (:func:`check_output_path`), so a bad one fails before anything is written."""
    target = check_output_path(path, "file")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: Path, text: str) -> None:
    """Write a text file through :func:`atomic_file`."""
    with atomic_file(path) as tmp:
        tmp.write_text(text)
