"""The dispatch service without its web layer: a state, its journal, its metrics.

:class:`DispatchService` reads a request (:meth:`ServiceState.prepare`), applies it while its
journal row is written, and answers only once both are done: a request whose row is not durable
was never acknowledged. A request that fails while being applied (a bug) has its row taken back,
so a restart rebuilds the state from before it. A failure to write makes the service refuse
every later change (its state would run ahead of what a restart can rebuild) until it is
restarted. :meth:`DispatchService.open` restores a state folder: the newest snapshot, then the
journal's rows after it.
"""

from __future__ import annotations

import logging
import pickle
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from v1d3.demand.config import ScenarioConfig
from v1d3.errors import ConfigError
from v1d3.fields import check_fields
from v1d3.service.journal import MAX_CTYPE, Journal
from v1d3.service.state import KINDS, ServiceState
from v1d3.service.wire import RequestError

__all__ = ["ServeConfig", "DispatchService", "Unavailable"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServeConfig:
    """How ``v1d3 serve`` runs (its options)."""

    city: str = "manhattan"
    """The scenario whose city the service decides on (see `v1d3 scenarios`)."""
    models: str | None = field(default=None, metadata={"path": True})
    """Folder with the trained models (default: the packaged ones for the city)."""
    state: str = field(default="state", metadata={"path": True})
    """State folder: the journal, the snapshots and the lock (created with mode 0700)."""
    host: str = "127.0.0.1"
    """Address to listen on (loopback unless told otherwise)."""
    port: int = 8080
    """TCP port to listen on."""
    token_file: str | None = field(default=None, metadata={"path": True})
    """File holding the bearer token every endpoint but /healthz requires (none: no token)."""
    dispatch: str = "v1d3"
    """Dispatch policy the service runs (see `v1d3 policies`)."""
    reposition: str = "value"
    """Repositioning policy of /v1/reposition (over the dispatch policy's values)."""
    journal: bool = True
    """Commit every request that changes the state before answering it, and keep snapshots
    (off: faster, and a restart starts afresh)."""
    snapshot_every: int = 2000
    """Requests between snapshots (a restart replays at most this many)."""
    max_body_mb: float = 64.0
    """Largest request body accepted, MiB."""

    def __post_init__(self) -> None:
        check_fields(self, "serve config")
        if not 0 < self.port < 65536:
            raise ConfigError(f"port: expected 1..65535, got {self.port}")
        if self.snapshot_every < 1 or not 0 < self.max_body_mb < 4096:
            raise ConfigError("snapshot_every must be >= 1 and max_body_mb in (0, 4096)")


class Unavailable(RuntimeError):
    """The service cannot take changes any more (its journal failed): restart it."""


class DispatchService:
    """One city's learned dispatch state behind a lock, journaled."""

    def __init__(self, config: ServeConfig, state: ServiceState, journal: Journal | None) -> None:
        self.config = config
        self.state = state
        self.journal = journal
        self.lock = threading.Lock()
        self.broken: str | None = None
        self.since_snapshot = 0
        self.replayed = 0
        """Journal rows replayed at the last restore."""
        self.append_s = 0.0
        """The last journal commit's time, seconds."""
        self.snapshot_error: str | None = None
        """Why the last snapshot failed (it is tried again at the next request)."""
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="v1d3-journal")

    @classmethod
    def open(cls, config: ServeConfig) -> DispatchService:
        """Build the state, take the state folder, restore what it holds."""
        models = Path(config.models) if config.models else None
        if models is None:
            from v1d3.policies.models import packaged_models

            models = packaged_models()
        scenario = ScenarioConfig(name=config.city)
        state = ServiceState(scenario, models, config.dispatch, config.reposition)
        journal = Journal(Path(config.state)) if config.journal else None
        service = cls(config, state, journal)
        if journal is not None:
            try:
                journal.check_identity(
                    {"city": config.city, "dispatch": config.dispatch,
                     "reposition": config.reposition, "models": str(models)}
                )  # fmt: skip
                service._restore(journal)
            except BaseException:
                journal.close()
                raise
        return service

    def _restore(self, journal: Journal) -> None:
        """The newest snapshot, then the rows after it; a folder whose snapshots are all gone
        or damaged, or whose rows do not replay, is refused (never rebuilt half)."""
        start = 0
        snap = journal.latest_snapshot()
        where = journal.folder
        if snap is None and journal.has_snapshots():
            raise ConfigError(f"{where}: its snapshot files are missing or damaged; not restored")
        if snap is not None:
            start, data = snap
            try:
                self.state = pickle.loads(data)
            except Exception as e:
                raise ConfigError(f"{where}: snapshot {start} unreadable ({e})") from None
        if journal.seq < start:
            raise ConfigError(
                f"{where}: the journal ends at row {journal.seq}, before the snapshot of row "
                f"{start}; not restored"
            )
        if journal.first_seq() > start + 1:
            raise ConfigError(
                f"{where}: the journal begins at row {journal.first_seq()}, the newest usable "
                f"snapshot is of row {start}; not restored"
            )
        for seq, kind, ctype, body in journal.rows_after(start):
            try:
                self.state.prepare(kind, ctype, body)()
            except Exception as e:
                msg = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
                raise ConfigError(
                    f"{where}: journal row {seq} ({kind}) does not replay: {msg}"
                ) from None
            self.replayed += 1
        self.since_snapshot = journal.seq - start

    def handle(self, kind: str, ctype: str, body: bytes) -> Any:
        """Apply one request and commit it; its answer. RequestError: refused, nothing
        changed; Unavailable: the service must be restarted."""
        if kind not in KINDS:
            raise RequestError(f"unknown request {kind!r}", 404)
        if len(ctype) > MAX_CTYPE or not ctype.isascii():
            raise RequestError(f"Content-Type: expected at most {MAX_CTYPE} ASCII characters", 415)
        with self.lock:
            if self.broken is not None:
                raise Unavailable(self.broken)
            apply = self.state.prepare(kind, ctype, body)
            # the row is written while the change is made (both take tens of ms on a full
            # round); the answer waits for both
            row = None
            if self.journal is not None:
                row = self._writer.submit(self._append, kind, ctype, body)
            try:
                answer = apply()
            except Exception as e:  # a bug: the state may be half changed
                self.broken = f"a request failed mid-change ({type(e).__name__}: {e}); restart"
                if row is not None:
                    self._withdraw(row)
                raise Unavailable(self.broken) from e
            if row is not None:
                try:
                    row.result()
                except Exception as e:  # disk full, I/O error: the state ran ahead of the log
                    self.broken = f"the journal failed ({type(e).__name__}: {e}); restart"
                    raise Unavailable(self.broken) from None
                self.since_snapshot += 1
                if self.since_snapshot >= self.config.snapshot_every:
                    try:
                        self.snapshot()
                    except Exception as e:  # the request is durable already: answer it
                        self.snapshot_error = f"{type(e).__name__}: {e}"
                        log.warning("snapshot failed (%s); the journal keeps growing", e)
            return answer

    def _append(self, kind: str, ctype: str, body: bytes) -> int:
        assert self.journal is not None
        tic = time.perf_counter()
        seq = self.journal.append(kind, ctype, body)
        self.append_s = time.perf_counter() - tic
        return seq

    def _withdraw(self, row: Future[int]) -> None:
        """Take back the row of a request that failed while it was written: a restart must
        rebuild the state from before it, not fail on it."""
        assert self.journal is not None
        try:
            seq = row.result()
        except Exception:  # never written
            return
        try:
            self.journal.withdraw(seq)
        except Exception as e:
            self.broken = f"{self.broken}; its journal row {seq} could not be taken back ({e})"
            log.error("journal row %d of a failed request not taken back: %s", seq, e)

    def snapshot(self) -> None:
        """Keep the state now (the journal's rows it covers are dropped)."""
        if self.journal is None:
            return
        self.journal.save_snapshot(self.journal.seq, pickle.dumps(self.state, protocol=5))
        self.since_snapshot = 0

    def values(self, labels: list[str], t_s: list[float]) -> list[float]:
        with self.lock:
            return self.state.values(labels, t_s)

    def close(self) -> None:
        self._writer.shutdown()
        if self.journal is not None:
            self.journal.close()
