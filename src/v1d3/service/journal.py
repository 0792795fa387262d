"""The dispatch service's durability: a write-ahead journal of the requests that changed its
state, periodic snapshots, and one writer per state folder.

The journal is an append-only file of our own (``journal/<first row>.log``): each row is the
request as it was accepted (kind, content type, body) behind a header with its number, its
length and a CRC-32 of all of it, and :meth:`Journal.append` returns only once the row is
written and ``fsync``-ed. The state is a deterministic function of the rows in order
(:mod:`v1d3.service.state`), so replaying them rebuilds it bit for bit. Every
``snapshot_every`` rows the state is pickled to ``snapshots/<row>.pkl`` (its SHA-256 first, then
the pickle; written to a temporary file, fsynced, renamed), a new journal file is begun after
that row, and the files it makes useless are removed; a restart loads the newest snapshot whose
digest checks and replays the rows after it.

Why a file of our own and not SQLite (which this journal was first): a round's row is the
round's whole body (3–9 MB at 20,000 pairs), and SQLite writes a blob twice (into its WAL, then
into the database at each checkpoint) and syncs both, where a file takes one sequential write
and one ``fsync`` (``make bench``, ``service``: ``journal_commit``). What SQLite gave for free
is done explicitly: a row is either whole (its CRC checks) or, at the end of the last file
only, a torn write that was never acknowledged, cut off at open; anything else — a damaged
row with rows after it, a gap in the numbers, a file missing — refuses the folder in one line.

The state folder is the service's own storage, like a database's data directory: snapshots are
pickles of V1D3's objects and are loaded as such; give the folder to the service's user alone
(``v1d3 serve`` creates it with mode 0700). A lock file (``serve.lock``, ``flock``) lets one
service write a folder at a time; ``identity.json`` records what the state is of.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from v1d3.errors import ConfigError
from v1d3.files import atomic_write_text

__all__ = ["Journal", "LOCK_FILE", "LOG_DIR", "SNAPSHOT_DIR", "IDENTITY_FILE", "MAX_CTYPE"]

log = logging.getLogger(__name__)

LOCK_FILE = "serve.lock"
LOG_DIR = "journal"
SNAPSHOT_DIR = "snapshots"
IDENTITY_FILE = "identity.json"
_OLD_DB = "journal.sqlite3"
"""The SQLite journal of earlier versions (such a folder is refused, not misread)."""

_MAGIC = b"V1DJ"
_HEAD = struct.Struct("<4sIIQII")
"""A row's header: magic, CRC-32 of the rest of the header, CRC-32 of what follows the header,
row number, content-type length, body length; then the kind (one byte), the content type and
the body. The header's own CRC tells a damaged header (refused) from a torn write (cut)."""
_HEAD_CRC_FROM = 8
"""Where the bytes the header's CRC covers begin."""
_KINDS = ("day", "dispatch", "outcome", "reposition")
_KIND = struct.Struct("<B")
MAX_CTYPE = 255
"""Longest content type a row keeps (a longer one is refused before it is journaled)."""


class Journal:
    """The journal and snapshots of one state folder, locked for this process."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock = _lock(folder / LOCK_FILE)
        try:
            if (folder / _OLD_DB).exists():
                raise ConfigError(
                    f"{folder}: a journal of an earlier v1d3 serve ({_OLD_DB}); "
                    "give another --state"
                )
            (folder / SNAPSHOT_DIR).mkdir(mode=0o700, exist_ok=True)
            (folder / LOG_DIR).mkdir(mode=0o700, exist_ok=True)
            if (folder / IDENTITY_FILE).exists() and not self._segments():
                # the first journal file is made before the identity is written
                raise ConfigError(f"{folder / LOG_DIR}: its journal files are gone; not restored")
            self.seq, path, end = self._scan()
            """The last row's number (rows covered by a snapshot are gone, their numbers
            not)."""
            self._file = open(path, "r+b")  # noqa: SIM115 - appended to for the service's life
            self._file.truncate(end)  # a torn last row, never acknowledged (see _scan)
            self._file.seek(end)
        except BaseException:
            self._lock.close()
            raise
        self._last_start: int | None = None
        """Where the row last appended by this process begins (what :meth:`withdraw` cuts back
        to; None: no row appended since the file was opened)."""

    # -- the rows

    def _segments(self) -> list[tuple[int, Path]]:
        """The journal files by their first row, oldest first."""
        out = []
        for p in (self.folder / LOG_DIR).iterdir():
            if p.suffix == ".log" and p.stem.isdigit():
                out.append((int(p.stem), p))
            elif not p.name.startswith("."):
                raise ConfigError(f"{p}: not a journal file (expected <row>.log)")
        return sorted(out)

    def _scan(self) -> tuple[int, Path, int]:
        """Check every row's header and CRC: the last row's number, the file rows are appended
        to and where its last whole row ends. The first file is made when there is none."""
        segments = self._segments()
        if not segments:
            path = self.folder / LOG_DIR / _segment_name(1)
            path.touch(mode=0o600)
            _fsync_dir(path.parent)
            return 0, path, 0
        seq = segments[0][0] - 1
        for i, (first, path) in enumerate(segments):
            if first > seq + 1:
                raise ConfigError(f"{path}: rows {seq + 1}..{first - 1} are missing")
            if first < seq + 1:
                raise ConfigError(f"{path}: begins at row {first}, after row {seq} was read")
            end = 0  # of the last whole row read
            for row in _read_rows(path, last=i == len(segments) - 1):
                if row[0] != seq + 1:
                    raise ConfigError(f"{path}: row {row[0]} where row {seq + 1} was due")
                seq, end = row[0], row[4]
        return seq, segments[-1][1], end

    def first_seq(self) -> int:
        """The first row the journal files hold (1 when nothing was ever dropped)."""
        return self._segments()[0][0]

    def append(self, kind: str, ctype: str, body: bytes) -> int:
        """Write one request's row and fsync it (durable when this returns); its number."""
        seq = self.seq + 1
        ct = ctype.encode()
        if len(ct) > MAX_CTYPE or len(body) >= 2**32:
            raise ValueError(f"a row of a {len(ct)}-byte content type and {len(body)} bytes")
        tail = _KIND.pack(_KINDS.index(kind)) + ct
        crc = zlib.crc32(body, zlib.crc32(tail))
        fields = struct.pack("<IQII", crc, seq, len(ct), len(body))
        head = _MAGIC + struct.pack("<I", zlib.crc32(fields)) + fields
        start = self._file.tell()
        try:
            self._file.write(head + tail)
            self._file.write(body)
            self._file.flush()
            os.fsync(self._file.fileno())
        except BaseException:  # not acknowledged: leave no whole row a restart would replay
            self._cut_back(start)
            raise
        self.seq, self._last_start = seq, start
        return seq

    def _cut_back(self, start: int) -> None:
        """Best effort: the file back to ``start`` (a row that failed while written)."""
        try:
            self._file.seek(start)
            self._file.truncate(start)
            os.fsync(self._file.fileno())
        except OSError as e:
            log.error("%s: a failed row could not be cut back (%s)", self.folder, e)

    def withdraw(self, seq: int) -> None:
        """Take back row ``seq``, the last one appended (its request failed while it was
        written, so no restart may replay it)."""
        if seq != self.seq or self._last_start is None:
            raise RuntimeError(f"only the last row appended can be withdrawn, not {seq}")
        self._file.truncate(self._last_start)
        self._file.seek(self._last_start)
        os.fsync(self._file.fileno())
        self.seq, self._last_start = seq - 1, None

    def rows_after(self, seq: int) -> Iterator[tuple[int, str, str, bytes]]:
        """The rows after ``seq``, in order."""
        segments = self._segments()
        for i, (_first, path) in enumerate(segments):
            if i + 1 < len(segments) and segments[i + 1][0] <= seq + 1:
                continue  # every row of this file is at or before seq
            for row_seq, kind, ctype, body, _end in _read_rows(path, last=i == len(segments) - 1):
                if row_seq > seq:
                    yield row_seq, kind, ctype, body

    # -- the snapshots

    def has_snapshots(self) -> bool:
        """Whether a snapshot was ever kept: one is there, or rows were dropped that one
        must stand for."""
        snaps = (self.folder / SNAPSHOT_DIR).glob("*.pkl")
        return self.first_seq() > 1 or any(p.stem.isdigit() for p in snaps)

    def save_snapshot(self, seq: int, data: bytes) -> None:
        """Keep ``data`` as the state after row ``seq`` (the last row); begin a new journal
        file after it and drop the files and older snapshots it makes useless."""
        if seq != self.seq:
            raise RuntimeError(f"a snapshot is of the last row ({self.seq}), not {seq}")
        name = f"{seq:012d}.pkl"
        path = self.folder / SNAPSHOT_DIR / name
        tmp = path.with_name(f".{name}.tmp")
        try:
            with open(tmp, "wb") as fh:
                fh.write(hashlib.sha256(data).digest())
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(path.parent)
        old_segments = self._segments()
        new = self.folder / LOG_DIR / _segment_name(seq + 1)
        fresh = None
        try:
            new.touch(mode=0o600)
            fresh = open(new, "r+b")  # noqa: SIM115 - replaces the file appended to
            _fsync_dir(new.parent)
        except BaseException:  # the rows go on into the old file: no empty one after it
            if fresh is not None:
                fresh.close()
            new.unlink(missing_ok=True)
            raise
        self._file.close()
        self._file, self._last_start = fresh, None
        for first, p in old_segments:
            if first <= seq:
                p.unlink(missing_ok=True)
        for p in (self.folder / SNAPSHOT_DIR).glob("*.pkl"):
            if p.stem.isdigit() and int(p.stem) < seq:
                p.unlink(missing_ok=True)

    def latest_snapshot(self) -> tuple[int, bytes] | None:
        """The newest snapshot whose digest checks, with its row."""
        snaps = [p for p in (self.folder / SNAPSHOT_DIR).glob("*.pkl") if p.stem.isdigit()]
        for p in sorted(snaps, key=lambda p: int(p.stem), reverse=True):
            try:
                raw = p.read_bytes()
            except OSError:
                continue
            if hashlib.sha256(raw[32:]).digest() == raw[:32]:
                return int(p.stem), raw[32:]
            log.warning("%s: damaged (its digest does not check); an older one is tried", p)
        return None

    # -- what the folder is of

    def check_identity(self, identity: dict[str, str]) -> None:
        """Record what the state folder's state is of (city, policies, models) on first use;
        later, refuse another (its snapshots and journal would rebuild something else)."""
        path = self.folder / IDENTITY_FILE
        if not path.exists():
            atomic_write_text(path, json.dumps(identity, sort_keys=True, indent=1) + "\n")
            return
        try:
            known = json.loads(path.read_text())
            if not isinstance(known, dict):
                raise ValueError("not an object")
        except (OSError, ValueError) as e:
            raise ConfigError(f"{path}: not readable ({e})") from None
        for key, value in identity.items():
            if known.get(key) != value:
                raise ConfigError(
                    f"{self.folder}: state of {key} {known.get(key)!r}, not {value!r}; "
                    "serve it as it was made, or give another --state"
                )

    def close(self) -> None:
        self._file.close()
        self._lock.close()


def _segment_name(first: int) -> str:
    return f"{first:012d}.log"


def _read_rows(path: Path, last: bool) -> Iterator[tuple[int, str, str, bytes, int]]:
    """The whole rows of one journal file with where each ends. A bad row is refused, except
    at the end of the last file (``last``): there a row cut short, failing its CRC or reading
    as zeros is a write torn by a crash before it was acknowledged, and ends the rows."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        end = 0
        while end < size:
            why = _bad_row(fh, size, end)
            if isinstance(why, str):
                if last and _torn(fh, size, end, why):
                    log.warning("%s: a torn last row at byte %d dropped (%s)", path, end, why)
                    return
                raise ConfigError(f"{path}: damaged at byte {end} ({why}); not restored")
            seq, kind, ctype, body = why
            end = fh.tell()
            yield seq, kind, ctype, body, end


def _bad_row(fh: IO[bytes], size: int, start: int) -> str | tuple[int, str, str, bytes]:
    """The row at ``start``, or why it is not one."""
    fh.seek(start)
    raw = fh.read(_HEAD.size)
    if len(raw) < _HEAD.size:
        return "header cut short"
    magic, head_crc, crc, seq, n_ct, n_body = _HEAD.unpack(raw)
    if magic != _MAGIC:
        return "no row header"
    if zlib.crc32(raw[_HEAD_CRC_FROM:]) != head_crc:
        return "header CRC does not check"
    if start + _HEAD.size + _KIND.size + n_ct + n_body > size:
        return "row cut short"
    k = fh.read(_KIND.size)
    ct = fh.read(n_ct)
    body = fh.read(n_body)
    if zlib.crc32(body, zlib.crc32(k + ct)) != crc or k[0] >= len(_KINDS):
        return "CRC does not check"
    try:
        ctype = ct.decode()
    except UnicodeDecodeError:
        return "content type not text"
    return seq, _KINDS[k[0]], ctype, body


def _torn(fh: IO[bytes], size: int, start: int, why: str) -> bool:
    """Whether a bad row at ``start`` can only be the last write, torn before it was
    acknowledged: a header cut short or zeros to the end of the file; or a header that checks
    with its row cut short, or with a body that fails its CRC and ends the file. A header that
    does not check with more after it is damage, not a torn write."""
    if why in ("header cut short", "row cut short"):
        return True
    fh.seek(start)
    rest = fh.read()
    if not rest.strip(b"\0"):
        return True
    if why == "CRC does not check":
        *_, n_ct, n_body = _HEAD.unpack(rest[: _HEAD.size])
        return start + _HEAD.size + _KIND.size + n_ct + n_body == size
    return False


def _lock(path: Path) -> IO[Any]:
    fh = open(path, "a+")  # noqa: SIM115 - held for the service's life
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.seek(0)
        holder = fh.read().strip() or "another process"
        fh.close()
        raise ConfigError(
            f"{path.parent}: state folder in use by another v1d3 serve ({holder}); "
            "one service writes a state folder at a time"
        ) from None
    fh.seek(0)
    fh.truncate()
    fh.write(f"pid {os.getpid()}\n")
    fh.flush()
    return fh


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
