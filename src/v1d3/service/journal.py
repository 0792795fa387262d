"""The dispatch service's durability: a write-ahead journal of the requests that changed its
state, periodic snapshots, and one writer per state folder.

The journal is an SQLite database in WAL mode (``journal.sqlite3``) with ``synchronous=FULL``:
a request is acknowledged only once its row is committed, and the state is a deterministic
function of the rows in order (:mod:`v1d3.service.state`), so replaying them rebuilds it bit for
bit. Every ``snapshot_every`` rows the state is pickled to ``snapshots/<seq>.pkl`` (written to a
temporary file, fsynced, renamed; its SHA-256 is kept in the database), and the rows it covers
are dropped; a restart loads the newest snapshot whose digest checks and replays the rows after
it. SQLite was chosen over an append-only file of our own because it makes each commit atomic
and its fsync discipline is tested by everyone who uses it; its cost per round is in
``make bench`` (``service``, log on against off).

The state folder is the service's own storage, like a database's data directory: snapshots are
pickles of V1D3's objects and are loaded as such; give the folder to the service's user alone
(``v1d3 serve`` creates it with mode 0700). A lock file (``serve.lock``, ``flock``) lets one
service write a folder at a time.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from v1d3.errors import ConfigError

__all__ = ["Journal", "LOCK_FILE", "DB_FILE", "SNAPSHOT_DIR"]

LOCK_FILE = "serve.lock"
DB_FILE = "journal.sqlite3"
SNAPSHOT_DIR = "snapshots"


class Journal:
    """The journal and snapshots of one state folder, locked for this process."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        (folder / SNAPSHOT_DIR).mkdir(mode=0o700, exist_ok=True)
        self._lock = _lock(folder / LOCK_FILE)
        try:
            self.db = sqlite3.connect(
                folder / DB_FILE, isolation_level=None, check_same_thread=False
            )
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")  # a commit is on disk when it returns
            for table in (
                "events (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, ctype TEXT NOT NULL, "
                "body BLOB NOT NULL)",
                "snapshots (seq INTEGER PRIMARY KEY, file TEXT NOT NULL, sha256 TEXT NOT NULL)",
                "meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            ):
                self.db.execute(f"CREATE TABLE IF NOT EXISTS {table}")
            row = self.db.execute("SELECT MAX(seq) FROM events").fetchone()
            snap = self.db.execute("SELECT MAX(seq) FROM snapshots").fetchone()
        except sqlite3.DatabaseError as e:
            self._lock.close()
            raise ConfigError(f"{folder / DB_FILE}: not a readable journal ({e})") from None
        self.seq = max(row[0] or 0, snap[0] or 0)
        """The last row's number (rows covered by a snapshot are gone, their numbers not)."""

    def check_identity(self, identity: dict[str, str]) -> None:
        """Record what the state folder's state is of (city, policies, models) on first use;
        later, refuse another (its snapshots and journal would rebuild something else)."""
        known = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        if not known:
            self.db.executemany("INSERT INTO meta VALUES (?, ?)", sorted(identity.items()))
            return
        for key, value in identity.items():
            if known.get(key) != value:
                raise ConfigError(
                    f"{self.folder}: state of {key} {known.get(key)!r}, not {value!r}; "
                    "serve it as it was made, or give another --state"
                )

    def has_snapshots(self) -> bool:
        return self.db.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0] > 0

    def append(self, kind: str, ctype: str, body: bytes) -> int:
        """Commit one request's row (durable when this returns); its number."""
        seq = self.seq + 1
        self.db.execute(
            "INSERT INTO events (seq, kind, ctype, body) VALUES (?, ?, ?, ?)",
            (seq, kind, ctype, body),
        )
        self.seq = seq
        return seq

    def rows_after(self, seq: int) -> Iterator[tuple[int, str, str, bytes]]:
        """The rows after ``seq``, in order."""
        yield from self.db.execute(
            "SELECT seq, kind, ctype, body FROM events WHERE seq > ? ORDER BY seq", (seq,)
        )

    def save_snapshot(self, seq: int, data: bytes) -> None:
        """Keep ``data`` as the state after row ``seq``; drop the rows and older snapshots it
        makes useless."""
        name = f"{seq:012d}.pkl"
        path = self.folder / SNAPSHOT_DIR / name
        tmp = path.with_name(f".{name}.tmp")
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(path.parent)
        digest = hashlib.sha256(data).hexdigest()
        old = [r[0] for r in self.db.execute("SELECT file FROM snapshots WHERE seq < ?", (seq,))]
        self.db.execute("BEGIN")
        self.db.execute("INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?)", (seq, name, digest))
        self.db.execute("DELETE FROM snapshots WHERE seq < ?", (seq,))
        self.db.execute("DELETE FROM events WHERE seq <= ?", (seq,))
        self.db.execute("COMMIT")
        for f in old:
            (self.folder / SNAPSHOT_DIR / f).unlink(missing_ok=True)

    def latest_snapshot(self) -> tuple[int, bytes] | None:
        """The newest snapshot whose file is there and whose digest checks, with its row."""
        rows = self.db.execute("SELECT seq, file, sha256 FROM snapshots ORDER BY seq DESC")
        for seq, name, digest in rows.fetchall():
            try:
                data = (self.folder / SNAPSHOT_DIR / name).read_bytes()
            except OSError:
                continue
            if hashlib.sha256(data).hexdigest() == digest:
                return int(seq), data
        return None

    def close(self) -> None:
        self.db.close()
        self._lock.close()


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
