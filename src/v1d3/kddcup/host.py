"""The agent's side of an isolated KDD Cup agent, and what both sides of its pipes share.

:mod:`v1d3.kddcup.process` runs this file as a script under the agent's own interpreter::

    python -I host.py FD_IN FD_OUT FD_LIFELINE AGENT_DIR PARENT_PID MEMORY_MB

It imports the submission's ``agent.py`` (its folder first on ``sys.path`` and as the working
directory), builds the official observations from the columns the parent sends, calls the agent
and sends back its answer made plain. It needs only the standard library, and its syntax is that
of Python 3.6, so that a submission's own interpreter runs it whatever it has installed (another
numpy, or none). The parent imports the same module for the parts both sides share, so that an
agent run in this process and one run in its own decide on the very same observations
(:func:`dispatch_observation`, :func:`reposition_observation`) and are judged on the very same
answers (:func:`plain_answer`).

The wire (lengths are unsigned 32-bit little-endian):

- a *frame* is its payload's length, then the payload;
- a *request* (parent to agent) is a frame whose payload is a header's length, the header
  (JSON: ``seq``, ``method``, ``scalars``, ``columns`` as ``[name, typecode, count]``, and the
  grid ids of a repositioning round), then the columns' raw values in the machine's byte order
  (typecodes of the :mod:`array` module, ``q`` and ``d``), which the other side reads without
  parsing a number: a 20,000-pair round costs a fraction of what JSON or pickle of the same
  dicts costs (``make bench``, ``kdd_protocol``);
- a *reply* (agent to parent) is a frame of JSON. The parent decodes it as data only (never
  pickle: an agent's bytes must not run code in the simulator), and refuses a frame longer than
  :data:`MAX_REPLY_BYTES`.

The first reply is the handshake (``{"ready": true, ...}``, or why the agent could not start);
then each request gets one reply with its ``seq``, ``prep_s`` (the time its decoding and the
observation took) and a ``status``: ``ok`` (with ``answer`` and ``took_s``, the agent's own call
time), ``exception`` (the agent raised), ``malformed`` (its
answer could not be read), ``memory`` (it ran out of memory) or ``crash`` (it raised a
``BaseException`` such as ``SystemExit``); after the last two the process ends and the parent
starts a new one.
"""

import array
import json
import os
import signal
import struct
import sys
import time
import traceback
from numbers import Integral, Real

try:  # Mapping moved in 3.3; the alias in collections is gone since 3.10
    from collections.abc import Mapping
except ImportError:  # pragma: no cover - Python 2 has no place here
    from collections.abc import Mapping  # type: ignore[attr-defined,no-redef]

__all__ = [
    "LENGTH",
    "MAX_REPLY_BYTES",
    "MAX_ANSWER_ENTRIES",
    "ANSWER_KEYS",
    "DISPATCH_FLOATS",
    "TRACEBACK_CHARS",
    "as_number",
    "write_frame",
    "encode_request",
    "decode_request",
    "dispatch_observation",
    "reposition_observation",
    "AnswerError",
    "plain_answer",
    "main",
]

LENGTH = struct.Struct("<I")
"""A frame's length prefix (and a request header's)."""
MAX_ANSWER_ENTRIES = 100000
"""An answer with more entries than this is void as a whole (malformed), in either process
(more than any round has drivers)."""
MAX_STRING = 64
"""A string in an answer longer than this, or holding a comma, is no id and no grid id: it
travels as a stand-in (so that an answer's JSON stays within :data:`MAX_REPLY_BYTES`)."""
MAX_REPLY_BYTES = 32 * 2**20
"""The longest reply the parent reads (a bounded answer takes well under half of it); a longer
one is a protocol fault (the process is restarted)."""
ANSWER_KEYS = {"dispatch": ("order_id", "driver_id"), "reposition": ("driver_id", "destination")}
"""The keys of one answer entry, by method (the only ones an answer keeps)."""
TRACEBACK_CHARS = 8000
"""An agent's traceback is cut to its last this many characters."""
_BIG_ID = 2**63
"""Integers this large are no id of a round; they travel as this value (still no id)."""

DISPATCH_FLOATS = (
    "pickup_m",
    "origin_lng",
    "origin_lat",
    "dest_lng",
    "dest_lat",
    "driver_lng",
    "driver_lat",
    "finish",
    "fare",
    "pickup_s",
)
"""The float64 columns of a dispatch request, in the order the official dicts use them (besides
the int64 ``order`` and ``driver``): the candidate batch's fields of those names, and
``finish``, the Unix time the ride would end."""


def as_number(x):
    """An integral value as ``int`` (official timestamps are ints), else the float."""
    x = float(x)
    return int(x) if x.is_integer() else x


# -- frames and requests


def write_frame(fd, payload):
    """Write one frame (blocking) to file descriptor ``fd``."""
    _write_all(fd, LENGTH.pack(len(payload)) + payload)


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd, n):
    """``n`` bytes from ``fd``, or None when it ends first (the other side is gone)."""
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd):
    head = _read_exact(fd, LENGTH.size)
    if head is None:
        return None
    return _read_exact(fd, LENGTH.unpack(head)[0])


def encode_request(header, columns):
    """A request's payload: ``header`` (a JSON-ready dict) and ``columns``, a list of
    ``(name, typecode, raw bytes)`` with the raw values in the machine's byte order."""
    header = dict(header)
    header["columns"] = [[n, t, len(b) // array.array(t).itemsize] for n, t, b in columns]
    head = json.dumps(header, separators=(",", ":")).encode()
    return b"".join([LENGTH.pack(len(head)), head] + [b for _, _, b in columns])


def decode_request(payload):
    """``(header, columns)`` of a request's payload, each column a list of Python numbers."""
    (n,) = LENGTH.unpack_from(payload, 0)
    header = json.loads(payload[LENGTH.size : LENGTH.size + n].decode())
    at = LENGTH.size + n
    columns = {}
    for name, code, count in header["columns"]:
        col = array.array(code)
        size = count * col.itemsize
        col.frombytes(payload[at : at + size])
        columns[name] = col.tolist()
        at += size
    return header, columns


# -- the official observations, built from the columns


def dispatch_observation(scalars, cols):
    """One round's candidate pairs as the official list of dicts (keys in official order)."""
    ts = scalars["timestamp"]
    wd = scalars["day_of_week"]
    return [
        {
            "order_id": o,
            "driver_id": d,
            "order_driver_distance": m,
            "order_start_location": [olng, olat],
            "order_finish_location": [dlng, dlat],
            "driver_location": [lng, lat],
            "timestamp": ts,
            "order_finish_timestamp": as_number(f),
            "day_of_week": wd,
            "reward_units": r,
            "pick_up_eta": s,
        }
        for o, d, m, olng, olat, dlng, dlat, lng, lat, f, r, s in zip(
            cols["order"], cols["driver"], *[cols[k] for k in DISPATCH_FLOATS]
        )
    ]


def reposition_observation(scalars, cols, labels):
    """Drivers due for repositioning as the official dict (``labels``: each one's grid id)."""
    return {
        "timestamp": scalars["timestamp"],
        "day_of_week": scalars["day_of_week"],
        "driver_info": [{"driver_id": d, "grid_id": g} for d, g in zip(cols["driver"], labels)],  # noqa: B905,
    }


# -- answers made plain


class AnswerError(ValueError):
    """An answer that is void as a whole: not a list, or far too long."""


class _Object(dict):
    """Stands for a value that is neither a number nor a string (no id, no grid id)."""


def _plain_value(x):
    if isinstance(x, str):
        x = str(x)
        return x if len(x) <= MAX_STRING and "," not in x else _Object(object="str")
    if isinstance(x, bool) or x is None:
        return x
    if isinstance(x, Integral):
        v = int(x)
        return v if -_BIG_ID < v < _BIG_ID else _BIG_ID
    if isinstance(x, Real):
        return float(x)
    return _Object(object=type(x).__name__)


def _entry(e, keys):
    if isinstance(e, Mapping):
        return {k: _plain_value(e[k]) for k in keys if k in e}
    if isinstance(e, (bool, str, Integral, Real)) or e is None:
        return _plain_value(e)
    return _Object(object=type(e).__name__)


def plain_answer(answer, method):
    """An agent's answer as plain JSON-ready data: a list of entries keeping only the
    method's :data:`ANSWER_KEYS`, numbers as ``int``/``float``, strings as ``str``, anything
    else as a stand-in no check accepts (``{"object": type name}``). Raises
    :class:`AnswerError` for an answer that is not a list or tuple or has over
    :data:`MAX_ANSWER_ENTRIES` entries; any exception the answer's own methods raise passes
    through (the caller voids the round)."""
    if not isinstance(answer, (list, tuple)):
        raise AnswerError(f"{method} answer is {type(answer).__name__}, expected a list of dicts")
    if len(answer) > MAX_ANSWER_ENTRIES:
        n = len(answer)
        raise AnswerError(f"{method} answer has {n} entries, more than {MAX_ANSWER_ENTRIES}")
    keys = ANSWER_KEYS[method]
    return [_entry(e, keys) for e in list(answer)]


# -- the agent's process


def _say(fd, message):
    write_frame(fd, json.dumps(message).encode())


def _tb():
    return traceback.format_exc()[-TRACEBACK_CHARS:]


def _load(folder):
    """The folder's ``Agent()``, or a handshake saying why there is none."""
    try:
        import agent as module  # noqa: PLC0415 - the submission, found through sys.path
    except BaseException as e:  # SystemExit at import time included
        missing = getattr(e, "name", None) if isinstance(e, ImportError) else None
        return None, _failure("import", e, missing)
    cls = getattr(module, "Agent", None)
    if not callable(cls):
        return None, {"ready": False, "stage": "api", "message": "defines no Agent class"}
    try:
        agent = cls()
    except BaseException as e:
        return None, _failure("construct", e, None)
    for method in ANSWER_KEYS:
        if not callable(getattr(agent, method, None)):
            msg = f"Agent has no {method}(observation) method"
            return None, {"ready": False, "stage": "api", "message": msg}
    return agent, None


def _failure(stage, e, missing):
    return {
        "ready": False,
        "stage": stage,
        "type": type(e).__name__,
        "message": _one_line(e),
        "missing_module": missing,
        "traceback": _tb(),
    }


def _one_line(e):
    try:
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    except Exception:  # an exception whose __str__ raises
        lines = []
    head = type(e).__name__
    return f"{head}: {lines[0][:300]}" if lines else head


def _observation(header, cols):
    if header["method"] == "dispatch":
        return dispatch_observation(header["scalars"], cols)
    return reposition_observation(header["scalars"], cols, header["labels"])


def _answer(agent, header, cols, clock, tic):
    """The reply to one request, and whether the process must end after it (``tic``: when the
    request arrived; ``prep_s`` is the time spent decoding it and building the observation;
    ``took_s`` the agent's call and the reading of its answer, which may run its code too)."""
    method = header["method"]
    base = {"seq": header["seq"]}
    try:
        observ = _observation(header, cols)
    except MemoryError:
        base.update(status="memory", message="MemoryError while building the observation")
        return base, True
    base["prep_s"] = clock() - tic
    tic = clock()
    try:
        answer = getattr(agent, method)(observ)
    except MemoryError:
        base.update(status="memory", message="MemoryError", took_s=clock() - tic)
        return base, True
    except Exception as e:
        base.update(status="exception", message=_one_line(e), traceback=_tb())
        base["took_s"] = clock() - tic
        return base, False
    except BaseException as e:  # SystemExit, KeyboardInterrupt, GeneratorExit...
        base.update(status="crash", message=_one_line(e), traceback=_tb())
        return base, True
    try:
        body = json.dumps(plain_answer(answer, method))  # NaN, inf: JSON's extensions
    except MemoryError:
        base.update(status="memory", message="MemoryError", took_s=clock() - tic)
        return base, True
    except AnswerError as e:
        base.update(status="malformed", message=str(e), took_s=clock() - tic)
        return base, False
    except Exception as e:
        base.update(status="malformed", message="answer unreadable: " + _one_line(e))
        base["took_s"] = clock() - tic
        return base, False
    except BaseException as e:
        base.update(status="crash", message=_one_line(e), traceback=_tb())
        return base, True
    base.update(status="ok", took_s=clock() - tic)
    return base, body


def _serve(agent, fd_in, fd_out, clock):
    while True:
        payload = _read_frame(fd_in)
        if payload is None:
            return  # the parent is gone
        tic = clock()
        header, cols = decode_request(payload)
        if header["method"] == "close":
            return
        reply, rest = _answer(agent, header, cols, clock, tic)
        _flush_output()
        if isinstance(rest, str):  # the answer, already JSON: spliced in, not encoded twice
            head = json.dumps(reply)[:-1]
            write_frame(fd_out, (head + ', "answer": ' + rest + "}").encode())
            continue
        _say(fd_out, reply)
        if rest:
            return


def _die_with_parent(parent):
    """End this process when the parent dies, even while the agent is busy (Linux: the
    kernel's parent-death signal; elsewhere a watchdog thread)."""
    try:
        import ctypes  # noqa: PLC0415

        libc = ctypes.CDLL(None)
        if libc.prctl(1, int(signal.SIGKILL), 0, 0, 0) == 0:  # PR_SET_PDEATHSIG
            if os.getppid() != parent:
                os._exit(1)  # the parent died before the signal was armed
            return
    except (OSError, AttributeError):
        pass
    import threading  # noqa: PLC0415

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _guard_group(fd_life, keep_out):
    """Fork a small process of this process group that waits on the lifeline (a pipe whose
    other end only the parent holds) and, when it closes because the parent ended however it
    ended, kills the whole group: the agent's own subprocesses too, which no parent-death signal
    reaches. It holds nothing else (``keep_out``: the pipes it must not keep open)."""
    if os.fork():
        os.close(fd_life)
        return
    try:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        for fd in keep_out:
            os.close(fd)
        while os.read(fd_life, 1):
            pass
        os.killpg(0, signal.SIGKILL)
    finally:
        os._exit(0)


def main(argv):
    """The agent's process: ``argv`` is ``[script, FD_IN, FD_OUT, FD_LIFELINE, AGENT_DIR,
    PARENT_PID, MEMORY_MB]``."""
    fd_in, fd_out, fd_life = int(argv[1]), int(argv[2]), int(argv[3])
    folder, parent, memory_mb = argv[4], int(argv[5]), int(argv[6])
    for fd in (fd_in, fd_out):  # the agent's own subprocesses do not get the pipes
        os.set_inheritable(fd, False)
    _die_with_parent(parent)
    _guard_group(fd_life, (fd_in, fd_out))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when this process ends
    try:
        import faulthandler  # noqa: PLC0415 - a segfault's Python stack lands on stderr

        faulthandler.enable()
    except Exception:  # pragma: no cover - faulthandler exists since 3.3
        pass
    if memory_mb > 0:
        import resource  # noqa: PLC0415 - Unix only, as this runner is

        limit = memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    clock = time.perf_counter  # held here: an agent patching time.perf_counter cannot lie
    os.chdir(folder)
    sys.path.insert(0, folder)
    agent, failure = _load(folder)
    if failure is not None:
        _say(fd_out, failure)
        _exit()
    _say(fd_out, {"ready": True, "python": sys.version.split()[0], "pid": os.getpid()})
    _serve(agent, fd_in, fd_out, clock)
    _exit()


def _flush_output():
    """What the agent printed, out to the parent now (its tail is current after a crash)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a stream the agent closed or replaced
            pass


def _exit():
    """End now, output flushed; threads the agent left running do not keep the process."""
    _flush_output()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv)
