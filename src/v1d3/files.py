"""Writing output files and folders safely: check the path first, then write atomically.

Every writer in the package goes through these, so a bad output path (a file where a folder is
expected, ``.``, an unrelated non-empty folder, the command's own input, a folder that accepts no
new files) is one :class:`~v1d3.errors.ConfigError` before any work starts, and a reader never
sees half a file or half a folder: :func:`atomic_file` and :class:`atomic_dir` write under a
temporary name beside the target and rename it into place on success.

Every temporary name starts with :data:`TMP_PREFIX` and names the process that made it
(``.v1d3-tmp-<pid>.<host>-<name>...``), so it can collide with no user's file; those a killed run
left behind are removed by the next check of an output path in the same folder
(:func:`remove_stale`), and only those.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from v1d3.errors import ConfigError

__all__ = [
    "TMP_PREFIX",
    "absolute",
    "atomic_dir",
    "atomic_file",
    "atomic_write_text",
    "check_output_path",
    "remove_stale",
    "temp_prefix",
]

TMP_PREFIX = ".v1d3-tmp-"
"""How the name of every temporary file and folder the writers make starts."""


def _host_id() -> str:
    """This machine and process-id space: the host name and, where the system tells it, the
    pid namespace (two containers may share a host name, never a pid namespace)."""
    try:
        ns = str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        ns = ""
    return hashlib.sha1(f"{socket.gethostname()}/{ns}".encode()).hexdigest()[:8]


_HOST = _host_id()
"""This machine, in temporary names: a folder shared between machines (or containers) keeps
the others' ones."""
_STALE = re.compile(re.escape(TMP_PREFIX) + r"(\d+)\.([0-9a-f]{8})-")
_STARTED = time.time()
"""When this process started writing (this module's import): older temporaries are stale."""


def temp_prefix(name: str) -> str:
    """The start of a temporary name for ``name``: :data:`TMP_PREFIX`, this process, ``name``."""
    return f"{TMP_PREFIX}{os.getpid()}.{_HOST}-{name}."


def absolute(path: str | os.PathLike[str]) -> str:
    """``path`` made absolute against the current folder, so that a later change of the current
    folder cannot move it; nothing else changes (``..`` stays, links are not followed). An empty
    ``path`` is returned as it is."""
    text = os.fspath(path)
    return os.path.join(os.getcwd(), text) if text else text


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
    a name like ``.``, ``..`` or ``""`` (or any spelling of the current folder or one above it)
    when the writer ``replaces`` the path as a whole; a path whose nearest existing ancestor is
    not a folder; an existing folder where a file is expected and vice versa; and, with
    ``marker``, an existing non-empty folder without the file ``marker`` (a folder some other
    program wrote, which replacing it would delete); an existing file that is one of the
    command's ``inputs``; a path whose folder accepts no new files (a temporary folder is made
    and removed there to find out). The temporaries of killed runs in that folder are removed
    (:func:`remove_stale`). Returns the path.
    """
    p = Path(path)
    if replaces and (_names_no_new(p) or _holds_cwd(p)):
        raise ConfigError(
            f"{label}: {str(path)!r} names no new {kind} (it would replace the current folder "
            f"or one above it); give a {kind} name"
        )
    ancestor = _existing_ancestor(p, label)
    if os.path.lexists(p):
        _check_existing(p, kind, marker, label, inputs)
    # where the writer makes its temporary: beside the path, or in it (a folder written into)
    home = p if kind == "folder" and not replaces and p.is_dir() else ancestor
    _probe(home, p, label)
    if home == p or home == p.parent:
        remove_stale(home)
    return p


def _names_no_new(p: Path) -> bool:
    return p.name in ("", ".", "..") or Path(os.path.normpath(p)).name in ("", "..")


def _holds_cwd(p: Path) -> bool:
    """Whether ``p`` is the current folder or one above it (however it is spelled)."""
    try:
        here = os.getcwd()
    except OSError:
        return False
    there = os.path.abspath(p)
    return here == there or here.startswith(there.rstrip(os.sep) + os.sep)


def _existing_ancestor(p: Path, label: str) -> Path:
    """The nearest existing folder above ``p`` (ConfigError when it is a file)."""
    for parent in p.parents:
        if os.path.lexists(parent):
            if not parent.is_dir():
                raise ConfigError(f"{label}: {parent} is a file, not a folder")
            return parent
    return Path(".")


def _check_existing(
    p: Path,
    kind: str,
    marker: str | None,
    label: str,
    inputs: Iterable[str | os.PathLike[str]],
) -> None:
    if kind == "file":
        if p.is_dir():
            raise ConfigError(f"{label}: {p} is a folder, not a file")
        for given in inputs:
            if os.path.exists(given) and os.path.samefile(p, given):
                raise ConfigError(
                    f"{label}: {p} is the input file {given}; choose another output file"
                )
        return
    if not p.is_dir():
        raise ConfigError(f"{label}: {p} is a file, not a folder")
    if marker is not None and not (p / marker).is_file() and any(p.iterdir()):
        raise ConfigError(
            f"{label}: {p} is not empty and holds no {marker} (only such a folder is "
            "replaced); choose another folder"
        )


def _probe(folder: Path, target: Path, label: str) -> None:
    """Make and remove a temporary folder in ``folder``: ConfigError when it takes none."""
    try:
        os.rmdir(tempfile.mkdtemp(prefix=temp_prefix("probe"), dir=folder))
    except OSError as e:
        raise ConfigError(
            f"{label}: cannot write {target}: {folder} takes no new files ({e.strerror or e})"
        ) from None


def remove_stale(folder: str | os.PathLike[str]) -> int:
    """Remove the temporary files and folders in ``folder`` that runs killed before they could
    clean up left behind; returns how many. Only names of ours (:data:`TMP_PREFIX`) are
    touched, and only those made on this machine, by a process that is no longer running,
    before this one started: another run's temporaries in the same folder stay. A previous run
    folder a killed run had moved aside to replace it is put back if nothing took its place."""
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        m = _STALE.match(entry.name)
        if m is None or m[2] != _HOST or _running(int(m[1])):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_mtime >= _STARTED:
                continue
            if _restore_aside(Path(entry.path), m.end()):
                removed += 1
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed += 1
        except OSError:
            continue
    return removed


def _restore_aside(aside: Path, name_at: int) -> bool:
    """A previous run folder that :func:`_swap` moved aside (``<prefix>NAME.old…/NAME``) before
    its process was killed: put it back when nothing took its place (True), else leave it to be
    removed (False: the replacement is in place)."""
    rest = aside.name[name_at:]
    name, sep, _ = rest.rpartition(".old")
    held = aside / name
    if not sep or not name or not aside.is_dir() or not os.path.lexists(held):
        return False
    target = aside.parent / name
    if os.path.lexists(target):
        return False
    os.replace(held, target)
    aside.rmdir()
    return True


def _running(pid: int) -> bool:
    """Whether process ``pid`` runs (True where that cannot be told: nothing is removed)."""
    if pid == os.getpid() or os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


@contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait for the end of the block (a few renames), so an interrupt cannot
    fall between taking the old folder away and putting the new one in place: their handlers
    are swapped for one that notes the signal, then put back and the signal raised again.
    Python runs signal handlers in the main thread only, so a block in another thread is never
    interrupted and needs nothing."""
    held = [
        s
        for s in (signal.SIGINT, signal.SIGTERM)
        if signal.getsignal(s) is not None  # None: a handler not set from Python, left alone
    ]
    if threading.current_thread() is not threading.main_thread() or not held:
        yield
        return
    got: list[int] = []
    before = {s: signal.signal(s, lambda signum, frame: got.append(signum)) for s in held}
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)
        for signum in got:
            signal.raise_signal(signum)


_WRITE_ERRNOS = frozenset(
    getattr(errno, n) for n in ("ENOSPC", "EDQUOT", "EROFS") if hasattr(errno, n)
)
"""Errors that only writing raises: a full disk, a full quota, a read-only file system."""


def _output_error(e: OSError, target: Path, ours: Iterable[Path], label: str) -> ConfigError | None:
    """The one-line error for an OSError that writing ``target`` raised (on one of the paths
    ``ours`` or in it, or a full or read-only disk); None for another one (an input that cannot
    be read)."""
    names = [os.fspath(n) for n in (e.filename, e.filename2) if isinstance(n, (str, os.PathLike))]
    mine = [str(p) for p in ours]
    on_ours = any(n == m or n.startswith(m + os.sep) for n in names for m in mine)
    if not on_ours and e.errno not in _WRITE_ERRNOS:
        return None
    return ConfigError(f"{label}: cannot write {target} ({e.strerror or e})")


class atomic_dir:
    """Context manager: build a folder under a temporary name, rename it into place on success.

    On error the temporary folder is removed, so no half-written run folder is ever left behind.
    The target is checked first with :func:`check_output_path` (``marker``: the file an existing
    folder must hold to be replaced), so a bad path fails before anything is written, and again
    just before the rename (a folder that appeared meanwhile is never replaced unchecked). An
    existing folder is moved into a fresh temporary folder beside it, the new one renamed into
    place, then that temporary folder removed: nothing but the replaced folder and what this run
    made is ever deleted. An OSError on these paths is a one-line ConfigError naming the target.
    """

    def __init__(self, target: Path, marker: str | None = None, label: str = "out") -> None:
        self.target = Path(target)
        self.marker = marker
        self.label = label

    def __enter__(self) -> Path:
        check_output_path(self.target, "folder", marker=self.marker, label=self.label)
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            self.tmp = Path(
                tempfile.mkdtemp(prefix=temp_prefix(self.target.name), dir=self.target.parent)
            )
        except OSError as e:
            raise ConfigError(
                f"{self.label}: cannot write {self.target} ({e.strerror or e})"
            ) from None
        return self.tmp

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            if isinstance(exc, OSError):
                mapped = _output_error(exc, self.target, (self.tmp,), self.label)
                if mapped is not None:
                    raise mapped from None
            return
        try:
            check_output_path(self.target, "folder", marker=self.marker, label=self.label)
            with _signals_held():
                _swap(self.tmp, self.target)
        except OSError as e:
            raise ConfigError(
                f"{self.label}: cannot write {self.target} ({e.strerror or e})"
            ) from None
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)  # there only when the rename failed


def _swap(new: Path, target: Path) -> None:
    """Rename folder ``new`` onto ``target``; whatever ``target`` was (a folder, a link) is moved
    into a fresh temporary folder first and removed with it once ``new`` is in place (put back
    when that rename fails)."""
    if not os.path.lexists(target):
        os.replace(new, target)
        return
    aside = Path(tempfile.mkdtemp(prefix=temp_prefix(f"{target.name}.old"), dir=target.parent))
    old = aside / target.name
    os.replace(target, old)
    try:
        os.replace(new, target)
    except OSError:
        os.replace(old, target)
        aside.rmdir()
        raise
    shutil.rmtree(aside, ignore_errors=True)


@contextmanager
def atomic_file(path: str | os.PathLike[str], label: str = "out") -> Iterator[Path]:
    """Context manager: yield a temporary path beside ``path`` to write the file to, rename it
    onto ``path`` on success, remove it on error, so a reader never sees half a file. ``path`` is
    checked first (:func:`check_output_path`), so a bad one fails before anything is written; an
    OSError on these paths (or a full disk) is a one-line ConfigError naming ``path``."""
    target = check_output_path(path, "file", label=label)
    tmp = target.with_name(f"{temp_prefix(target.name)}tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"{label}: cannot write {target} ({e.strerror or e})") from None
    try:
        yield tmp
        os.replace(tmp, target)
    except OSError as e:
        mapped = _output_error(e, target, (tmp, target), label)
        if mapped is None:
            raise
        raise mapped from None
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: Path, text: str) -> None:
    """Write a text file through :func:`atomic_file`."""
    with atomic_file(path) as tmp:
        tmp.write_text(text)
