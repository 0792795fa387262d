"""A KDD Cup agent in its own process: started from a clean interpreter, called with a deadline,
killed and restarted when it hangs or dies.

:class:`AgentProcess` starts :mod:`v1d3.kddcup.host` under the agent's interpreter
(:attr:`~v1d3.kddcup.submission.AgentConfig.python`, this one by default) in isolated mode
(``-I``: no ``PYTHON*`` variables, no user site, not even the script's folder on ``sys.path``),
in a session of its own, with the agent's folder as its working directory, an address-space limit
(``memory_mb``) and a parent-death signal, so it never outlives the run. Requests go out and
replies come back over two pipes of their own; the agent's stdout and stderr are two more pipes,
drained by threads that keep each one's last :data:`TAIL_BYTES` (nothing an agent prints reaches
our stdout).

Nothing the agent does to its own process (patching modules, reseeding generators, changing its
folder or ``sys.path``, installing signal handlers, leaving threads running) can reach the
simulation: the simulator's process only ever reads the agent's replies, as JSON data, and checks
them like any answer. This is containment of faults, not a security sandbox: the agent runs as the
same user, with the same files and network, as ``v1d3`` itself.

A call is answered, or the process is given up on: a reply not back within
:attr:`~v1d3.kddcup.submission.AgentConfig.grace_factor` × the budget gets the process group
killed (``hung``); a process that ends mid-call (a segfault, ``os._exit``) is ``crash``, as is a
``BaseException`` the agent raised; ``memory`` is an agent out of its address space. After each of
these :meth:`AgentProcess.call` starts a new process (the agent's in-memory state is lost, as when a
production worker dies); past ``max_restarts`` it raises :class:`AgentStopped`.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import select
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from v1d3.errors import PolicyError, first_line
from v1d3.kddcup import host
from v1d3.kddcup.observation import AgentRequest
from v1d3.kddcup.submission import AgentConfig, resolve_python

__all__ = [
    "TAIL_BYTES",
    "Reply",
    "AgentStopped",
    "AgentProcess",
    "describe_exit",
    "protocol_allowance_s",
]

TAIL_BYTES = 8192
"""How much of an agent process's stdout and of its stderr is kept (the last bytes of each)."""
_CLOSE_WAIT_S = 2.0
"""How long a closed process may take to end by itself before it is killed."""
HOST_SCRIPT = Path(host.__file__)
"""The script the agent's process runs."""


@dataclass(frozen=True)
class Reply:
    """What one call of an agent came to."""

    status: str
    """``ok``, ``exception``, ``malformed``, or (the process is restarted) ``crash``, ``hung``,
    ``memory``."""
    answer: Any = None
    """The answer made plain (:func:`v1d3.kddcup.host.plain_answer`), when ``ok``."""
    took_s: float = 0.0
    """The agent's own time on the call, seconds (measured in its process)."""
    prep_s: float = 0.0
    """The time its process spent decoding the request and building the observation, seconds."""
    message: str = ""
    traceback: str | None = None
    """The agent's traceback, or its process's last stderr after a crash."""

    @property
    def restarts(self) -> bool:
        """Whether the process had to be replaced after this call."""
        return self.status in ("crash", "hung", "memory")


class AgentStopped(PolicyError):
    """An agent's process failed more often than the run allows (exit code 2)."""


class _Tail:
    """The last :data:`TAIL_BYTES` of one output stream of an agent's processes, and its size."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.total = 0
        self._lock = threading.Lock()

    def drain(self, stream: IO[bytes]) -> threading.Thread:
        """Read ``stream`` to its end in a daemon thread."""

        def run() -> None:
            with stream:
                read = cast(io.BufferedReader, stream).read1
                for chunk in iter(lambda: read(1 << 16), b""):
                    with self._lock:
                        self.total += len(chunk)
                        self.data += chunk
                        del self.data[:-TAIL_BYTES]

        t = threading.Thread(target=run, name="v1d3-agent-output", daemon=True)
        t.start()
        return t

    def text(self) -> str:
        with self._lock:
            return self.data.decode("utf-8", "replace")


def describe_exit(code: int | None) -> str:
    """``exit code 3``, ``killed by SIGSEGV``, or ``still running``."""
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class _Child:
    """One started process of an agent, its two pipes and its lifeline."""

    def __init__(self, cmd: list[str], cwd: str, tails: tuple[_Tail, _Tail]) -> None:
        req_r, self.req_w = os.pipe()
        self.rep_r, rep_w = os.pipe()
        life_r, self.life_w = os.pipe()  # only we hold its write end: it closes when we end
        ours = (self.req_w, self.rep_r, self.life_w)
        try:
            self.proc = subprocess.Popen(
                [*cmd[:3], str(req_r), str(rep_w), str(life_r), *cmd[3:]],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(req_r, rep_w, life_r),
                cwd=cwd,
                start_new_session=True,  # its own process group, killed as one
            )
        except (OSError, ValueError, subprocess.SubprocessError):
            for fd in ours:
                os.close(fd)
            raise
        finally:
            for fd in (req_r, rep_w, life_r):
                os.close(fd)
        os.set_blocking(self.req_w, False)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.drains = (tails[0].drain(self.proc.stdout), tails[1].drain(self.proc.stderr))
        self.buf = bytearray()
        self._finalizer = weakref.finalize(self, _kill, self.proc, ours)

    def send(self, payload: bytes, deadline: float) -> bool:
        """Write one frame before ``deadline`` (False: the process is gone or not reading)."""
        view = memoryview(host.LENGTH.pack(len(payload)) + payload)
        while view:
            left = deadline - time.monotonic()
            if left <= 0 or not _ready(self.req_w, select.POLLOUT, left):
                return False
            try:
                view = view[os.write(self.req_w, view) :]
            except BlockingIOError:
                continue
            except OSError:  # BrokenPipeError: the process is gone
                return False
        return True

    def receive(self, deadline: float) -> bytes | str:
        """One reply frame, or why there is none: ``hung`` (not by ``deadline``), ``eof`` (the
        process closed its pipe: it ended) or ``protocol`` (a frame longer than allowed)."""
        while True:
            if len(self.buf) >= host.LENGTH.size:
                (n,) = host.LENGTH.unpack_from(self.buf)
                if n > host.MAX_REPLY_BYTES:
                    return "protocol"
                end = host.LENGTH.size + n
                if len(self.buf) >= end:
                    frame = bytes(self.buf[host.LENGTH.size : end])
                    del self.buf[:end]
                    return "protocol" if _too_many_values(frame) else frame
            left = deadline - time.monotonic()
            if left <= 0 or not _ready(self.rep_r, select.POLLIN, left):
                return "hung"
            chunk = os.read(self.rep_r, 1 << 20)
            if not chunk:
                return "eof"
            self.buf += chunk

    def ended(self, wait_s: float) -> int | None:
        """The exit status once the process ended within ``wait_s`` seconds, else None."""
        try:
            return self.proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, request: bytes | None = None) -> int | None:
        """End the process (``request``: first ask it to end, and wait a little); its status."""
        code = self.proc.poll()
        if code is None and request is not None:
            if self.send(request, time.monotonic() + _CLOSE_WAIT_S):
                code = self.ended(_CLOSE_WAIT_S)
        self._finalizer()  # kills the group (the agent's own subprocesses too), closes the pipes
        code = self.proc.wait()
        for t in self.drains:
            t.join(timeout=1.0)  # the last output, unless a grandchild still holds the pipe
        return code


def _too_many_values(frame: bytes) -> bool:
    """Whether a reply holds more values than any bounded answer can (checked before it is
    decoded: ``[{},{},...]`` would cost the decoder far more memory than its bytes). An answer
    made plain has at most :data:`~v1d3.kddcup.host.MAX_ANSWER_ENTRIES` entries of at most two
    values and no comma in its strings; the rest of a reply is short."""
    return len(frame) > 2**16 and frame.count(b",") > 2 * host.MAX_ANSWER_ENTRIES + 16


def _ready(fd: int, event: int, timeout_s: float) -> bool:
    """Whether ``fd`` is ready (or closed at the other end) within ``timeout_s``; poll, not
    select, which fails on descriptors past 1024 (a busy process, a Ray worker)."""
    poller = select.poll()
    poller.register(fd, event)
    return bool(poller.poll(max(1, math.ceil(timeout_s * 1000))))


def _kill(proc: subprocess.Popen[bytes], fds: Sequence[int]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


class AgentProcess:
    """A KDD agent in a process of its own; :meth:`call` asks it, restarting it as needed.

    ``folder`` is the submission folder; the first process starts here, and a failure to start
    (an import error, a failing ``Agent()``) is a :class:`~v1d3.errors.PolicyError` naming the
    folder (for a missing module: the module and both remedies).
    """

    def __init__(self, folder: str | Path, config: AgentConfig | None = None) -> None:
        self.folder = os.path.realpath(folder)
        self.label = str(folder)
        self.config = config if config is not None else AgentConfig()
        self.python = resolve_python(self.config.python) or sys.executable
        self.restarts = 0
        self.info: dict[str, Any] = {}
        """The running process's handshake (its Python version and pid)."""
        self.last_error = ""
        self._tails = (_Tail(), _Tail())
        self._seq = 0
        self._child: _Child | None = None
        failure = self._start()
        if failure is not None:
            raise PolicyError(failure)

    # -- starting and stopping

    def _start(self) -> str | None:
        """Start a process and wait for its handshake; None, or why it did not start."""
        cmd = [self.python, "-I", str(HOST_SCRIPT), self.folder, str(os.getpid())]
        cmd.append(str(self.config.memory_mb))
        try:
            child = _Child(cmd, self.folder, self._tails)
        except OSError as e:
            return f"{self.label}: cannot start the agent's Python {self.python} ({e.strerror})"
        frame = child.receive(time.monotonic() + self.config.start_timeout_s)
        if isinstance(frame, str):
            code = child.stop()
            if frame == "hung":
                return (
                    f"{self.label}/agent.py: not ready within {self.config.start_timeout_s:g} s "
                    "(the import and Agent() together; --agent-start-timeout-s)"
                )
            last = _last_line(self._tails[1].text())
            ended = describe_exit(code) + (f": {last}" if last else "")
            return f"{self.label}/agent.py: its process ended while starting ({ended})"
        try:
            hello = _json(frame)
        except Exception:  # whatever the bytes were (RecursionError included)
            child.stop()
            return f"{self.label}/agent.py: its process said something unreadable while starting"
        if not hello.get("ready"):
            child.stop()
            return self._start_failure(hello)
        self.info = {"python": str(hello.get("python", "")), "pid": hello.get("pid")}
        self._child = child
        return None

    def _start_failure(self, hello: Mapping[str, Any]) -> str:
        stage, message = hello.get("stage"), str(hello.get("message", ""))
        where = f"{self.label}/agent.py"
        if stage == "api":
            return f"{where}: {message}"
        if stage == "construct":
            return f"{where}: Agent() failed ({message})"
        missing = hello.get("missing_module")
        if missing:
            top = str(missing).partition(".")[0]
            return (
                f"{where}: import failed ({message}); {top!r} is not installed for "
                f"{self.python}: install the KDD Cup starter kit's packages with "
                f"pip install 'v1d3[kdd]', or run the agent under its own Python with "
                "--agent-python PATH"
            )
        return f"{where}: import failed ({message})"

    def _restart(self, why: str) -> None:
        """Replace the process; past ``max_restarts`` (or when it will not start again), stop."""
        if self._child is not None:
            self._child.stop()
            self._child = None
        self.last_error = why
        while True:
            self.restarts += 1
            if self.restarts > self.config.max_restarts:
                raise AgentStopped(
                    f"agent {self.label}: stopped after {self.config.max_restarts} restarts of "
                    f"its process (--agent-max-restarts); last error: {self.last_error}"
                )
            failure = self._start()
            if failure is None:
                return
            self.last_error = failure

    def close(self) -> None:
        """End the agent's process (asked first, then killed); safe to call twice."""
        if self._child is not None:
            close = host.encode_request({"seq": -1, "method": "close", "scalars": {}}, [])
            self._child.stop(close)
            self._child = None

    # -- calls

    def call(self, request: AgentRequest) -> Reply:
        """Ask the agent; after a crash, a hang or running out of memory the process is
        replaced before this returns (:class:`AgentStopped` past the restart limit).

        The reply's ``took_s`` is the larger of the agent's own measure and the round trip
        measured here less :func:`protocol_allowance_s` (what the pipes and the observation may
        take), so that an agent cannot make a slow answer count by reporting a fast one."""
        if self._child is None:  # closed, and asked again: a fresh start, not a restart
            failure = self._start()
            if failure is not None:
                raise PolicyError(failure)
        child = self._child
        assert child is not None
        self._seq += 1
        allowance = protocol_allowance_s(len(next(iter(request.columns.values()), ())))
        grace = self.config.grace_factor * self.config.time_budget_s
        tic = time.monotonic()
        reply = self._exchange(child, request.encode(self._seq), tic + grace + allowance, grace)
        if reply.restarts:
            self._restart(f"{request.method}: {reply.status}: {reply.message}")
            return reply
        measured = time.monotonic() - tic - allowance
        return dataclasses.replace(reply, took_s=max(reply.took_s, measured))

    def _exchange(self, child: _Child, payload: bytes, deadline: float, grace: float) -> Reply:
        hung = Reply("hung", message=f"no answer within {grace:g} s; its process was killed")
        if not child.send(payload, deadline):
            if child.proc.poll() is None:
                return hung
            return self._crashed(child)
        frame = child.receive(deadline)
        if frame == "hung":
            return hung
        if frame == "eof":
            return self._crashed(child)
        if frame == "protocol":
            return Reply("crash", message="a reply over the size limit; its process was killed")
        assert isinstance(frame, bytes)
        try:
            doc = _json(frame)
            if doc.get("seq") != self._seq:
                raise ValueError("out of sequence")
            return _reply(doc)
        except Exception as e:  # whatever the bytes were (RecursionError included)
            why = first_line(e, typed=True)[:200]
            return Reply("crash", message=f"an unreadable reply ({why}); its process was killed")

    def _crashed(self, child: _Child) -> Reply:
        code = child.stop()
        self._child = None
        tail = self._tails[1].text()[-2000:] or None
        return Reply("crash", message=f"its process ended ({describe_exit(code)})", traceback=tail)

    def output(self) -> dict[str, Any]:
        """The agent's processes' output: bytes written and the tails of stdout and stderr."""
        out, err = self._tails
        return {
            "python": self.python,
            "python_version": self.info.get("python", ""),
            "restarts": self.restarts,
            "stdout_bytes": out.total,
            "stderr_bytes": err.total,
            "stdout_tail": out.text(),
            "stderr_tail": err.text(),
        }


def protocol_allowance_s(rows: int) -> float:
    """Seconds a call's round trip may take beyond the agent's own time: the request's
    encoding, the pipes, the observation's building on the agent's side, the reply (measured
    at about 0.06 s for 20,000 pairs at p50, 0.08 s at p99, ``make bench``; allowed ten times
    that and a quarter second more, for a loaded machine)."""
    return 0.25 + 25e-6 * rows


def _last_line(text: str, first: bool = False) -> str:
    """The last (``first``: the first) non-blank line of ``text``, stripped."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return (lines[0] if first else lines[-1]) if lines else ""


def _json(frame: bytes) -> dict[str, Any]:
    """A reply's JSON object (NaN and infinities allowed: an answer may hold them)."""
    doc = json.loads(frame.decode("utf-8"))
    if not isinstance(doc, dict):
        raise ValueError("not an object")
    return doc


_STATUSES = ("ok", "exception", "malformed", "memory", "crash")


def _reply(doc: Mapping[str, Any]) -> Reply:
    status = doc.get("status")
    if status not in _STATUSES:
        raise ValueError(f"unknown status {status!r}")
    took, prep = float(doc.get("took_s", 0.0)), float(doc.get("prep_s", 0.0))
    if not (math.isfinite(took) and math.isfinite(prep) and took >= 0 and prep >= 0):
        raise ValueError("took_s and prep_s must be finite seconds >= 0")
    answer = doc.get("answer")
    if status == "ok" and not (isinstance(answer, list) and len(answer) <= host.MAX_ANSWER_ENTRIES):
        raise ValueError("an answer that is no bounded list")
    tb = doc.get("traceback")
    return Reply(
        str(status),
        answer=answer,
        took_s=took,
        prep_s=prep,
        message=_last_line(str(doc.get("message", "")), first=True)[:500],
        traceback=str(tb)[-host.TRACEBACK_CHARS :] if tb is not None else None,
    )
