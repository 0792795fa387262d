"""Where the runs of a study execute: local processes or a Ray cluster.

Both backends run the same function on the same inputs, so a study's results do not depend on
the backend or on the number of workers. Both share one scheduling loop (:func:`execute`) that
keeps at most one run per worker slot in flight, retries a run that raised or whose worker died
once, and then reports it as failed with its error while every other run goes on.

- ``local``: a :class:`concurrent.futures.ProcessPoolExecutor` with the ``spawn`` start method
  (a fresh interpreter per worker: safe with torch, which some policies import). A worker that
  dies breaks the whole pool, so the runs that were in flight are retried one at a time in a new
  pool: a second death is then the run's own. A worker ends when the process that started it
  dies (killed, even with SIGKILL: no idle workers are left behind), and an interrupted study
  (Ctrl-C, SIGTERM) ends its workers at once instead of waiting for their runs.
- ``ray``: each run is one Ray task (``num_cpus=1``, no Ray-side retries). ``address=None``
  starts a local Ray with ``workers`` CPUs; ``"auto"``, ``"host:port"`` (or a Ray Client
  ``"ray://host:port"``) joins a running cluster (every node needs the same ``v1d3`` installed).
"""

from __future__ import annotations

import concurrent.futures as cf
import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from v1d3.errors import ConfigError, first_line

__all__ = [
    "BACKENDS",
    "Task",
    "TaskResult",
    "Executor",
    "LocalExecutor",
    "RayExecutor",
    "make_executor",
    "execute",
]

BACKENDS = ("local", "ray")
RETRIES = 1
"""How many times a run that raised or whose worker died is tried again."""


@dataclass(frozen=True)
class Task:
    """One unit of work: a stable key, a display name and the function's argument."""

    key: str
    name: str
    arg: Any


@dataclass(frozen=True)
class TaskResult:
    """The outcome of a task after its retries: ``value`` when it finished, else ``error``."""

    task: Task
    value: Any = None
    error: str | None = None
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.error is None


# --- worker side -------------------------------------------------------------------------------

_THREADS = 0
PR_SET_PDEATHSIG = 1
"""Linux prctl(2) option: the signal a process gets when the thread that started it ends."""
PARENT_POLL_S = 1.0
"""Where prctl is not there: how often a worker looks whether its parent still runs, seconds."""


def _init_worker(threads: int, parent: int | None = None) -> None:
    global _THREADS
    _THREADS = threads
    if parent is not None:
        die_with_parent(parent)


def die_with_parent(parent: int) -> None:
    """End this process when process ``parent`` (the one that started it) dies: on Linux the
    kernel sends SIGKILL (prctl ``PR_SET_PDEATHSIG``); elsewhere a daemon thread looks every
    :data:`PARENT_POLL_S` seconds whether the parent is still this process's parent."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0:
                if os.getppid() != parent:  # it died before prctl took effect
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass
    threading.Thread(
        target=watch_parent, args=(parent,), name="v1d3-watch-parent", daemon=True
    ).start()


def watch_parent(parent: int, every_s: float = PARENT_POLL_S) -> None:
    """End the process (``os._exit(1)``) once ``parent`` is no longer its parent (it died, and
    the process was handed to another); until then, never return."""
    while os.getppid() == parent:
        time.sleep(every_s)
    os._exit(1)


def _call(fn: Callable[[Any], Any], arg: Any) -> tuple[str, Any]:
    """Run ``fn(arg)`` in a worker; an exception comes back as ``("error", text)``."""
    if _THREADS and "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(_THREADS)
    try:
        return "ok", fn(arg)
    except Exception as e:
        last = traceback.extract_tb(e.__traceback__)[-1:]
        where = f" ({os.path.basename(last[0].filename)}:{last[0].lineno})" if last else ""
        return "error", f"{type(e).__name__}: {e}{where}"


# --- executors ---------------------------------------------------------------------------------

Outcome = tuple[str, Any]
"""``("ok", value)``, ``("error", text)`` (the run raised) or ``("crash", text)`` (worker died)."""


class Executor(Protocol):
    """What :func:`execute` needs from a backend."""

    slots: int
    """Runs that may be in flight at once."""
    shared_crash: bool
    """Whether a dying worker fails every run in flight (so crashes need isolating)."""

    def submit(self, fn: Callable[[Any], Any], arg: Any) -> Any: ...

    def wait(self, handles: Sequence[Any]) -> list[tuple[Any, Outcome]]: ...

    def close(self, kill: bool = False) -> None:
        """Release the workers; ``kill``: end the runs in flight instead of waiting for them."""
        ...


class LocalExecutor:
    """Local worker processes (``spawn`` start method)."""

    shared_crash = True

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ConfigError(f"workers must be >= 1, got {workers}")
        self.slots = workers
        self._threads = max(1, (os.cpu_count() or 1) // workers)
        self._pool: cf.ProcessPoolExecutor | None = None
        self._owner: dict[cf.Future[Any], cf.ProcessPoolExecutor] = {}

    def _ensure(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.slots,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self._threads, os.getpid()),
            )
        return self._pool

    def submit(self, fn: Callable[[Any], Any], arg: Any) -> cf.Future[Any]:
        pool = self._ensure()
        try:
            future = pool.submit(_call, fn, arg)
        except cf.process.BrokenProcessPool:
            # a worker died after the last wait had returned: the runs in flight in that pool
            # are failed by it and reported as crashes by the next wait; this one starts the
            # fresh pool
            self._drop(pool)
            pool = self._ensure()
            future = pool.submit(_call, fn, arg)
        self._owner[future] = pool
        return future

    def _drop(self, pool: cf.ProcessPoolExecutor | None) -> None:
        """Shut a broken pool down, once: the next submit starts a fresh one."""
        if pool is not None and pool is self._pool:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def wait(self, handles: Sequence[Any]) -> list[tuple[Any, Outcome]]:
        done, _ = cf.wait(handles, return_when=cf.FIRST_COMPLETED)
        out: list[tuple[Any, Outcome]] = []
        for f in done:
            pool = self._owner.pop(f, None)
            try:
                out.append((f, f.result()))
            except cf.process.BrokenProcessPool:
                out.append((f, ("crash", "worker process died (BrokenProcessPool)")))
                self._drop(pool)  # every run of this pool is lost
            except Exception as e:  # e.g. an argument or result that cannot be pickled
                out.append((f, ("error", f"{type(e).__name__}: {e}")))
        return out

    def close(self, kill: bool = False) -> None:
        if self._pool is not None:
            if kill:
                # the pool's own processes (Python 3.14 offers terminate_workers())
                for proc in list(getattr(self._pool, "_processes", {}).values()):
                    proc.terminate()
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _check_reachable(address: str) -> None:
    """Fail fast (5 s) on an address nobody listens at, instead of Ray's long retries."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ConfigError(
            f"address: expected 'auto', host:port or ray://host:port, got {address!r}"
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=5):
            pass
    except OSError as e:
        raise ConfigError(f"address: cannot reach a Ray cluster at {address} ({e})") from None


class RayExecutor:
    """One Ray task per run, on a local Ray (``address=None``) or a running cluster."""

    shared_crash = False

    def __init__(self, workers: int, address: str | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError(
                "backend ray: the ray package is not installed (pip install 'v1d3[ray]')"
            ) from None
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            quiet = {"logging_level": logging.WARNING, "log_to_driver": False}
            if address is None:
                if workers < 1:
                    raise ConfigError(f"workers must be >= 1, got {workers}")
                ray.init(
                    num_cpus=workers,
                    include_dashboard=False,
                    object_store_memory=100 * 1024**2,
                    **quiet,  # type: ignore[arg-type]
                )
            else:
                if address != "auto":
                    _check_reachable(address)
                try:
                    ray.init(address=address, **quiet)  # type: ignore[arg-type]
                except (ConnectionError, RuntimeError, ValueError) as e:
                    raise ConfigError(
                        f"address: cannot join Ray at {address} ({first_line(e)})"
                    ) from None
            self._started = True
        self.slots = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._remote = ray.remote(num_cpus=1, max_retries=0)(_call)

    def submit(self, fn: Callable[[Any], Any], arg: Any) -> Any:
        return self._remote.remote(fn, arg)

    def wait(self, handles: Sequence[Any]) -> list[tuple[Any, Outcome]]:
        ray = self._ray
        ready, _ = ray.wait(list(handles), num_returns=1)
        out: list[tuple[Any, Outcome]] = []
        for h in ready:
            try:
                out.append((h, ray.get(h)))
            except ray.exceptions.RayError as e:
                out.append((h, ("crash", first_line(e, typed=True))))
        return out

    def close(self, kill: bool = False) -> None:
        if self._started:
            self._ray.shutdown()
            self._started = False


def make_executor(backend: str, workers: int, address: str | None = None) -> Executor:
    """The executor of a backend; connecting to Ray happens here (errors are ConfigError)."""
    if backend == "local":
        if address is not None:
            raise ConfigError("address: only used with --backend ray")
        return LocalExecutor(workers)
    if backend == "ray":
        return RayExecutor(workers, address)
    raise ConfigError(f"backend: expected one of {', '.join(BACKENDS)}, got {backend!r}")


# --- the scheduling loop -----------------------------------------------------------------------

Event = Callable[[str, Task, str], None]
"""``event(kind, task, detail)`` with kind ``start``, ``retry``, ``done`` or ``failed``."""


def execute(
    executor: Executor,
    fn: Callable[[Any], Any],
    tasks: Sequence[Task],
    event: Event | None = None,
) -> Iterator[TaskResult]:
    """Run ``fn(task.arg)`` for every task; yields each result as it finishes (after retries).

    ``fn`` must be picklable (a module-level function or a ``functools.partial`` of one).
    """
    emit = event or (lambda kind, task, detail: None)
    pending: deque[Task] = deque(tasks)
    attempts: dict[str, int] = {t.key: 0 for t in tasks}
    suspects: set[str] = set()
    inflight: dict[Any, Task] = {}
    while pending or inflight:
        # submit while a slot is free; a run suspected of killing its worker runs alone
        while pending and len(inflight) < executor.slots:
            nxt = pending[0]
            if any(t.key in suspects for t in inflight.values()):
                break
            if nxt.key in suspects and inflight:
                break
            pending.popleft()
            attempts[nxt.key] += 1
            inflight[executor.submit(fn, nxt.arg)] = nxt
            emit("start", nxt, f"attempt {attempts[nxt.key]}")
        for handle, (kind, payload) in executor.wait(list(inflight)):
            task = inflight.pop(handle)
            if kind == "ok":
                suspects.discard(task.key)
                emit("done", task, "")
                yield TaskResult(task, value=payload, attempts=attempts[task.key])
            elif attempts[task.key] <= RETRIES:
                if kind == "crash" and executor.shared_crash:
                    suspects.add(task.key)
                emit("retry", task, str(payload))
                pending.appendleft(task)
            else:
                suspects.discard(task.key)
                emit("failed", task, str(payload))
                yield TaskResult(task, error=str(payload), attempts=attempts[task.key])
