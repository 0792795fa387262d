"""The dispatch service (``v1d3 serve``) under full-size rounds: latency, throughput, the cost of
durability, and crash safety. Prints one JSON object.

Every figure is taken against a real service: ``v1d3 serve`` in its own process on the packaged
Manhattan models, spoken to over a kept-alive HTTP connection on 127.0.0.1 (nothing else is
contacted), so the client's work (building and encoding the bodies, done before each timed
request) never shares the service's interpreter.

A round is a synthetic but realistic one on the Manhattan city: 4,000 available drivers and
2,000 waiting orders placed around the city's real cells (the cell's centre plus a 250 m
scatter), each order's 10 nearest drivers within the 2 km pick-up radius as its candidates
(about 20,000 pairs), pick-up times at 5 m/s, trips a log-normal distance away (median
2.5 km) taking 1.3 × the straight line at 6 m/s plus a minute, NYC-like fares. The bodies are
made by the project's own encoders (:func:`v1d3.service.client.arrow_body`,
:func:`v1d3.service.wire.batch_columns`, :func:`v1d3.kddcup.observation.dispatch_observation`).

- ``cases``: for each body format (columnar JSON, Arrow IPC, the KDD list of dicts) with the
  journal on (every request committed with ``synchronous=FULL`` before it is answered) and off:
  the dispatch round trip's p50/p99 and, for columnar and Arrow, the outcome's (``POST
  /v1/outcome`` after each round, as the simulator sends it; a KDD client sends none, the service
  estimates it); ``rounds_per_s`` is sustained: rounds completed (dispatch and outcome) per
  second of the timed loop, one client sending each request as soon as the last is answered;
  ``transport`` is the round trip of a body of the same size that the service refuses at its
  first byte (what the HTTP layer alone costs).
- ``targets``: those figures against the issue's (columnar p99 ≤ 50 ms, KDD p99 ≤ 250 ms, ≥ 20
  rounds/s).
- ``profile``: where the service's time goes on one round, in this process, on the same bodies
  (JSON decoding, checking the body and looking up its grid ids, the policy's matching, the
  online update, encoding the answer, the journal's commit).
- ``crash``: a fixed sequence of rounds with their outcomes (Arrow bodies, as the simulator
  sends them) driven once without interruption and once with the service killed (SIGKILL) at
  random points, some while a request is in flight, and restarted on the same state folder; the
  client resumes from ``GET /v1/state``'s ``journal_seq`` as any client must. Both runs must end
  with the same state digest and the same answers, and no acknowledged request may be missing
  after a restart.

    python bench/bench_service.py                    # everything (about 5 minutes on 2 cores)
    python bench/bench_service.py --rounds 30 --crash-rounds 40 --kills 3   # a quicker look
"""

from __future__ import annotations

import gc
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from v1d3.cli.script_args import ArgumentParser
from v1d3.text_files import json_text

DRIVERS = 4000
"""Available drivers in a round."""
FLEET = 6000
"""Driver ids a round's available drivers are drawn from."""
ORDERS = 2000
"""Waiting orders in a round."""
K_NEAREST = 10
"""Candidate drivers per order (the nearest within the radius)."""
RADIUS_M = 2000.0
SCATTER_M = 250.0
"""Standard deviation of a position around its cell's centre, metres."""
PICKUP_MPS = 5.0
TRIP_MPS = 6.0
TRIP_MEDIAN_M = 2500.0
WEEKDAY = 2
START_S = 8 * 3600.0
ROUND_S = 2.0
CANCEL_RATE = 0.05
"""Share of assigned passengers who cancel, in the outcomes sent."""
ARROW = "application/vnd.apache.arrow.stream"
JSON = "application/json"
FORMATS = ("columnar", "arrow", "kdd")
TARGETS = {"columnar_p99_ms": 50.0, "kdd_p99_ms": 250.0, "rounds_per_s": 20.0}


# -- the rounds ------------------------------------------------------------------------------


@dataclass
class Round:
    """One synthetic round: its candidate batch and the available drivers (for the outcome)."""

    batch: Any
    avail: np.ndarray
    avail_cell: np.ndarray
    avail_lat: np.ndarray
    avail_lng: np.ndarray


def manhattan() -> Any:
    from v1d3.demand.config import ScenarioConfig
    from v1d3.demand.registry import source_of

    sc = ScenarioConfig(name="manhattan")
    return source_of(sc).city(sc)


def _places(city: Any, rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    cell = rng.integers(0, city.n_cells, n)
    x = city.cell_x[cell] + rng.normal(0.0, SCATTER_M, n)
    y = city.cell_y[cell] + rng.normal(0.0, SCATTER_M, n)
    lat, lng = city.proj.to_latlng(x, y)
    return x, y, np.asarray(lat), np.asarray(lng), city.cell_of(lat, lng).astype(np.int64)


def _destinations(
    city: Any, rng: np.random.Generator, ox: np.ndarray, oy: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Trip ends a log-normal distance away (median ``TRIP_MEDIAN_M``), moved to the nearest of
    the city's cells when they fall outside it."""
    n = ox.size
    r = TRIP_MEDIAN_M * np.exp(rng.normal(0.0, 0.6, n))
    a = rng.uniform(0.0, 2 * np.pi, n)
    cell = city.cell_of_xy(ox + r * np.cos(a), oy + r * np.sin(a)).astype(np.int64)
    x = city.cell_x[cell] + rng.normal(0.0, SCATTER_M, n)
    y = city.cell_y[cell] + rng.normal(0.0, SCATTER_M, n)
    lat, lng = city.proj.to_latlng(x, y)
    return x, y, np.asarray(lat), np.asarray(lng), city.cell_of(lat, lng).astype(np.int64)


def make_round(city: Any, seed: int, index: int) -> Round:
    """Round ``index`` of the sequence drawn from ``seed`` (the same arguments, the same round)."""
    from scipy.spatial import cKDTree

    from v1d3.kddcup.observation import ObservedBatch

    rng = np.random.default_rng([seed, index])
    t = START_S + ROUND_S * index
    avail = np.sort(rng.choice(FLEET, DRIVERS, replace=False)).astype(np.int64)
    dx, dy, dlat, dlng, dcell = _places(city, rng, DRIVERS)
    ox, oy, olat, olng, ocell = _places(city, rng, ORDERS)
    ex, ey, elat, elng, ecell = _destinations(city, rng, ox, oy)
    dist, j = cKDTree(np.column_stack([dx, dy])).query(
        np.column_stack([ox, oy]), k=K_NEAREST, distance_upper_bound=RADIUS_M
    )
    o, k = np.nonzero(np.isfinite(dist))
    d = j[o, k]
    straight = np.maximum(np.hypot(ex - ox, ey - oy), 300.0)
    trip_m = 1.3 * straight
    trip_s = trip_m / TRIP_MPS + 60.0
    fare = 2.5 + 1.75 * trip_m / 1000.0 + 0.35 * trip_s / 60.0
    t_request = t - rng.uniform(0.0, 60.0, ORDERS)
    order_id = index * ORDERS + np.arange(ORDERS, dtype=np.int64)
    pickup_m = dist[o, k]
    pairs = {
        "order": order_id[o],
        "driver": avail[d],
        "pickup_m": pickup_m,
        "pickup_s": pickup_m / PICKUP_MPS,
        "driver_lat": dlat[d],
        "driver_lng": dlng[d],
        "driver_cell": dcell[d],
    }
    orders = {
        "fare": fare[o],
        "trip_s": trip_s[o],
        "trip_m": trip_m[o],
        "t_request": t_request[o],
        "origin_lat": olat[o],
        "origin_lng": olng[o],
        "dest_lat": elat[o],
        "dest_lng": elng[o],
        "origin_cell": ocell[o],
        "dest_cell": ecell[o],
        "cancel_prob": None,
    }
    batch = ObservedBatch(t, WEEKDAY, pairs, orders)
    return Round(batch, avail, dcell, dlat, dlng)


def body(city: Any, rnd: Round, fmt: str) -> tuple[bytes, str]:
    """The round's dispatch body in format ``fmt`` and its content type."""
    from v1d3.kddcup.kdd_source import reference_epoch
    from v1d3.kddcup.observation import dispatch_observation
    from v1d3.service.client import arrow_body
    from v1d3.service.wire import ORDER_FIELDS, PAIR_FIELDS, batch_columns

    b = rnd.batch
    if fmt == "arrow":
        return arrow_body(b, city), ARROW
    if fmt == "kdd":
        return json.dumps(dispatch_observation(b, reference_epoch(WEEKDAY))).encode(), JSON
    cols = batch_columns(b, city)
    doc = {
        "t": b.t,
        "weekday": b.weekday,
        "pairs": {f: cols[f] for f in PAIR_FIELDS},
        "orders": {f: cols[f] for f in ORDER_FIELDS},
    }
    return json.dumps(doc).encode(), JSON


def outcome(city: Any, rnd: Round, selected: list[int], index: int, seed: int) -> bytes:
    """The round's outcome as the simulator reports it: a few assigned passengers cancel, the
    available drivers not starting a trip stay idle."""
    rng = np.random.default_rng([seed, index, 1])
    sel = np.asarray(selected, dtype=np.int64)
    cancelled = rng.random(sel.size) < CANCEL_RATE
    started = np.isin(rnd.avail, rnd.batch.driver[sel[~cancelled]])
    idle = ~started
    labels = np.asarray(city.labels, dtype=object)
    doc = {
        "cancelled": cancelled.tolist(),
        "idle_driver": rnd.avail[idle].tolist(),
        "idle_cell": labels[rnd.avail_cell[idle]].tolist(),
        "idle_lat": rnd.avail_lat[idle].tolist(),
        "idle_lng": rnd.avail_lng[idle].tolist(),
        "dt_s": ROUND_S if index else None,
    }
    return json.dumps(doc).encode()


def day_body(seed: int) -> bytes:
    return json.dumps(
        {"weekday": WEEKDAY, "start_s": START_S, "end_s": START_S + 4 * 3600.0, "seed": seed}
    ).encode()


# -- the service -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    """``v1d3 serve`` in a subprocess on a state folder, and a kept-alive connection to it."""

    def __init__(self, state: Path, journal: bool, snapshot_every: int, log: Path) -> None:
        self.state, self.journal, self.snapshot_every, self.log = (
            state,
            journal,
            snapshot_every,
            log,
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.conn: http.client.HTTPConnection | None = None
        self.port = 0

    def start(self, timeout_s: float = 120.0) -> float:
        """Start the service and wait until it answers; seconds it took (models, replay)."""
        self.port = free_port()
        cmd = [sys.executable, "-m", "v1d3.cli.main", "serve", "--state", str(self.state)]
        cmd += ["--port", str(self.port), "--snapshot-every", str(self.snapshot_every)]
        if not self.journal:
            cmd.append("--no-journal")
        tic = time.perf_counter()
        with open(self.log, "ab") as fh:
            self.proc = subprocess.Popen(cmd, stdout=fh, stderr=fh)
        while time.perf_counter() - tic < timeout_s:
            if self.proc.poll() is not None:
                tail = self.log.read_text(errors="replace").strip().splitlines()[-3:]
                raise RuntimeError(f"v1d3 serve exited with {self.proc.returncode}: {tail}")
            try:
                if self.get("/healthz")[0] == 200:
                    return time.perf_counter() - tic
            except OSError:
                self._drop()
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"v1d3 serve did not answer within {timeout_s:g} s")

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60.0)
        return self.conn

    def _drop(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method: str, path: str, data: bytes | None, ctype: str) -> tuple[int, Any]:
        conn = self._connection()
        try:
            conn.request(method, path, body=data, headers={"Content-Type": ctype})
            response = conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self._drop()
            raise
        return response.status, json.loads(raw) if raw else None

    def get(self, path: str) -> tuple[int, Any]:
        return self.request("GET", path, None, JSON)

    def post(self, path: str, data: bytes, ctype: str = JSON) -> tuple[int, Any]:
        return self.request("POST", path, data, ctype)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush (what a crash or the OOM killer does)."""
        self._drop()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        self._drop()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None


def _ok(status: int, answer: Any, what: str) -> Any:
    if status != 200:
        raise RuntimeError(f"{what}: {status} {answer}")
    return answer


# -- latency and throughput ------------------------------------------------------------------


def _quantiles(xs: list[float]) -> dict[str, float]:
    a = np.asarray(xs) * 1e3
    q = np.quantile(a, [0.5, 0.99])
    return {
        "p50_ms": round(float(q[0]), 2),
        "p99_ms": round(float(q[1]), 2),
        "max_ms": round(float(a.max()), 2),
    }


def one_case(
    city: Any, root: Path, fmt: str, journal: bool, rounds: int, warmup: int, limit_s: float
) -> dict[str, Any]:
    """``rounds`` timed rounds (after ``warmup`` untimed ones) on a fresh service."""
    state = root / f"{fmt}-{'journal' if journal else 'nojournal'}"
    total = warmup + rounds
    # bodies first, so the timed loop does nothing but send them (and build the outcomes)
    rounds_made = [make_round(city, 1, i) for i in range(total)]
    bodies = [body(city, r, fmt) for r in rounds_made]
    svc = Service(state, journal, 10**6, root / "serve.log")
    start_s = svc.start()
    dispatch_s: list[float] = []
    outcome_s: list[float] = []
    loop_s = 0.0
    try:
        if fmt != "kdd":  # a KDD client's first round begins its day
            _ok(*svc.post("/v1/day", day_body(1)), "day")
        for i in range(total):
            data, ctype = bodies[i]
            tic = time.perf_counter()
            answer = _ok(*svc.post("/v1/dispatch", data, ctype), f"round {i}")
            took = time.perf_counter() - tic
            cycle = took
            if fmt != "kdd":
                sent = outcome(city, rounds_made[i], answer["selected"], i, 1)
                tic = time.perf_counter()
                _ok(*svc.post("/v1/outcome", sent), f"outcome {i}")
                back = time.perf_counter() - tic
                cycle += back
                if i >= warmup:
                    outcome_s.append(back)
            if i >= warmup:
                dispatch_s.append(took)
                loop_s += cycle
                if loop_s > limit_s:
                    break
        state_doc = _ok(*svc.get("/v1/state"), "state")
        transport_s = _transport(svc, len(bodies[0][0]), bodies[0][1], warmup + 5)
    finally:
        svc.stop()
    out: dict[str, Any] = {
        "rounds": len(dispatch_s),
        "startup_s": round(start_s, 2),
        "body_bytes": int(np.mean([len(b[0]) for b in bodies])),
        "dispatch": _quantiles(dispatch_s),
        "rounds_per_s": round(len(dispatch_s) / loop_s, 2),
        "rounds_served": state_doc["rounds"],
        "transport": _quantiles(transport_s),
    }
    if outcome_s:
        out["outcome"] = _quantiles(outcome_s)
    return out


def _transport(svc: Service, size: int, ctype: str, calls: int) -> list[float]:
    """Round trips of a body of ``size`` bytes that the service refuses at its first byte: what
    the HTTP layer alone costs (sending, reading the body in, the middleware, the answer)."""
    junk = b"\x00" * size
    times = []
    for _ in range(calls):
        tic = time.perf_counter()
        status, _ = svc.post("/v1/dispatch", junk, ctype)
        times.append(time.perf_counter() - tic)
        if status != 400:
            raise RuntimeError(f"a body of zero bytes got {status}, not 400")
    return times


def cases(
    city: Any, root: Path, rounds: int, warmup: int, limit_s: float
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for fmt in FORMATS:
        out[fmt] = {}
        for journal in (True, False):
            key = "journal" if journal else "no_journal"
            print(f"  {fmt}, {key} ...", file=sys.stderr, flush=True)
            out[fmt][key] = one_case(city, root, fmt, journal, rounds, warmup, limit_s)
    return out


def targets(c: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The issue's targets against the journaled (production) figures. A columnar body is an
    array per field, as JSON or as Arrow IPC: both are held to the columnar target."""

    def held(got: float, target: float, at_most: bool = True) -> dict[str, Any]:
        return {"target": target, "got": got, "met": got <= target if at_most else got >= target}

    p99 = {f: c[f]["journal"]["dispatch"]["p99_ms"] for f in FORMATS}
    rate = {f: c[f]["journal"]["rounds_per_s"] for f in FORMATS}
    fastest = max(FORMATS, key=lambda f: rate[f])
    return {
        "columnar_arrow_p99_ms": held(p99["arrow"], TARGETS["columnar_p99_ms"]),
        "columnar_json_p99_ms": held(p99["columnar"], TARGETS["columnar_p99_ms"]),
        "kdd_p99_ms": held(p99["kdd"], TARGETS["kdd_p99_ms"]),
        "rounds_per_s_slowest_format": held(min(rate.values()), TARGETS["rounds_per_s"], False),
        f"rounds_per_s_{fastest}": held(rate[fastest], TARGETS["rounds_per_s"], False),
    }


# -- where the time goes ---------------------------------------------------------------------


def _timed(fn: Any, *args: Any) -> tuple[float, Any]:
    tic = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - tic, out


def profile(city: Any, root: Path, calls: int) -> dict[str, Any]:
    """One round's service time split into its steps, in this process (median ms per step over
    ``calls`` rounds), for each format; the journal's commit of the body measured on its own."""
    from v1d3.kddcup.observation import batch_from_dispatch_observation
    from v1d3.policies.models import packaged_models
    from v1d3.service.journal import Journal
    from v1d3.service.state import ServiceState
    from v1d3.service.wire import (
        CELL_FIELDS,
        arrow_batch,
        cell_field,
        columnar_batch,
        kdd_batch,
        parse_json,
    )

    st = ServiceState(city_scenario(), packaged_models())
    st.prepare("day", JSON, day_body(1))()
    journal = Journal(root / "profile-journal")
    gc.freeze()  # as `v1d3 serve` does once it has loaded
    steps: dict[str, dict[str, list[float]]] = {f: {} for f in FORMATS}

    def add(fmt: str, step: str, s: float) -> None:
        steps[fmt].setdefault(step, []).append(s)

    try:
        for i in range(calls):
            rnd = make_round(city, 2, i)
            for fmt in FORMATS:
                data, ctype = body(city, rnd, fmt)
                if fmt == "arrow":
                    s, batch = _timed(arrow_batch, data, city)
                    add(fmt, "decode_and_check", s)
                else:
                    s, doc = _timed(parse_json, data)
                    add(fmt, "json_decode", s)
                    if fmt == "columnar":
                        s, batch = _timed(columnar_batch, doc, city)
                        add(fmt, "check", s)
                        cols = {**doc["pairs"], **doc["orders"]}
                        s = sum(_timed(cell_field, f, cols[f], len(cols[f]), city)[0]
                                for f in CELL_FIELDS)  # fmt: skip
                        add(fmt, "of_which_grid_ids", s)
                    else:
                        s, batch = _timed(kdd_batch, doc, city, st.utc_offset_s)
                        add(fmt, "check", s)
                        s, _ = _timed(batch_from_dispatch_observation, doc, city, st.utc_offset_s)
                        add(fmt, "of_which_dicts_to_arrays", s)
                s, answer = _timed(st._dispatch, batch, None, fmt == "kdd")
                add(fmt, "dispatch_policy", s)
                s, _ = _timed(json.dumps, answer)
                add(fmt, "answer_encode", s)
                if fmt != "kdd":
                    sent = outcome(city, rnd, answer["selected"], i, 2)
                    s, apply = _timed(st.prepare, "outcome", JSON, sent)
                    add(fmt, "outcome_decode_and_check", s)
                    s, _ = _timed(apply)
                    add(fmt, "outcome_learn", s)
                s, _ = _timed(journal.append, "dispatch", ctype, data)
                add(fmt, "journal_commit", s)
    finally:
        journal.close()
    return {
        "calls": calls,
        "median_ms": {
            fmt: {k: round(float(np.median(v)) * 1e3, 2) for k, v in got.items()}
            for fmt, got in steps.items()
        },
    }


def city_scenario() -> Any:
    from v1d3.demand.config import ScenarioConfig

    return ScenarioConfig(name="manhattan")


# -- crash safety ----------------------------------------------------------------------------


def _sequence_reference(
    city: Any, root: Path, n: int, seed: int, snapshot_every: int
) -> tuple[list[bytes], list[Any], dict[str, Any], float]:
    """The uninterrupted run: the outcome bodies (they follow from its answers, and make the
    fixed sequence), its answers, its final state and its wall time."""
    svc = Service(root / "crash-reference", True, snapshot_every, root / "serve.log")
    svc.start()
    outcomes: list[bytes] = []
    answers: list[Any] = []
    tic = time.perf_counter()
    try:
        _ok(*svc.post("/v1/day", day_body(seed)), "day")
        for i in range(n):
            rnd = make_round(city, seed, i)
            answer = _ok(*svc.post("/v1/dispatch", *body(city, rnd, "arrow")), f"round {i}")
            answers.append(answer["selected"])
            outcomes.append(outcome(city, rnd, answer["selected"], i, seed))
            _ok(*svc.post("/v1/outcome", outcomes[-1]), f"outcome {i}")
        wall = time.perf_counter() - tic
        state = _ok(*svc.get("/v1/state"), "state")
    finally:
        svc.stop()
    return outcomes, answers, state, wall


def _send(svc: Service, path: str, data: bytes, ctype: str, got: dict[str, Any]) -> None:
    """One request whose answer may never come (the service is being killed)."""
    try:
        got["answer"] = svc.post(path, data, ctype)
    except (OSError, http.client.HTTPException, ValueError) as e:
        got["error"] = type(e).__name__


def crash(city: Any, root: Path, n: int, kills: int, seed: int, snapshot_every: int) -> dict:
    """The fixed sequence (a day, then ``n`` rounds each with its outcome: request ``k`` is
    journal row ``k``) driven with ``kills`` SIGKILLs; see the module's docstring."""
    outcomes, ref_answers, ref_state, ref_wall = _sequence_reference(
        city, root, n, seed, snapshot_every
    )
    rng = np.random.default_rng([seed, 99])
    total = 1 + 2 * n  # the day, then dispatch and outcome per round
    kill_at = sorted(rng.choice(np.arange(2, total + 1), kills, replace=False).tolist())
    svc = Service(root / "crash-killed", True, snapshot_every, root / "serve.log")
    restarts: list[dict[str, Any]] = []
    answers: dict[int, Any] = {}
    lost = acked = replayed_max = 0
    svc.start()
    k = 1  # the next request's number (its journal row once committed)
    while k <= total:
        if k == 1:
            data, ctype, path = day_body(seed), JSON, "/v1/day"
        elif k % 2 == 0:
            i = (k - 2) // 2
            data, ctype = body(city, make_round(city, seed, i), "arrow")
            path = "/v1/dispatch"
        else:
            data, ctype, path = outcomes[(k - 3) // 2], JSON, "/v1/outcome"
        if kill_at and kill_at[0] == k:
            kill_at.pop(0)
            got: dict[str, Any] = {}
            sender = threading.Thread(target=_send, args=(svc, path, data, ctype, got))
            sender.start()
            time.sleep(float(rng.uniform(0.0, 0.15)))  # often mid-request, sometimes after
            svc.kill()
            sender.join()
            was_acked = "answer" in got and got["answer"][0] == 200
            start_s = svc.start()
            state = _ok(*svc.get("/v1/state"), "state")
            seq = int(state["journal_seq"])
            acked_before = k if was_acked else k - 1
            lost += max(0, acked_before - seq)
            replayed_max = max(replayed_max, int(state["replayed"]))
            restarts.append(
                {"at_request": k, "acked": was_acked, "journal_seq_after": seq,
                 "replayed": state["replayed"], "restart_s": round(start_s, 2)}
            )  # fmt: skip
            if was_acked and path == "/v1/dispatch":
                answers[k] = got["answer"][1]["selected"]
            k = seq + 1  # resume after what the service holds, acknowledged or not
            continue
        answer = _ok(*svc.post(path, data, ctype), f"request {k}")
        acked += 1
        if path == "/v1/dispatch":
            answers[k] = answer["selected"]
        k += 1
    state = _ok(*svc.get("/v1/state"), "state")
    svc.stop()
    same_answers = all(
        answers[2 + 2 * i] == ref_answers[i] for i in range(n) if 2 + 2 * i in answers
    )
    return {
        "rounds": n,
        "pairs_per_round": int(len(make_round(city, seed, 0).batch)),
        "snapshot_every": snapshot_every,
        "kills": len(restarts),
        "killed_in_flight_unacknowledged": sum(not r["acked"] for r in restarts),
        "acknowledged_lost": lost,
        "digest_equal": state["digest"] == ref_state["digest"],
        "rounds_equal": state["rounds"] == ref_state["rounds"] == n,
        "answers_equal": same_answers,
        "answers_compared": len(answers),
        "restart_s_max": max(r["restart_s"] for r in restarts) if restarts else None,
        "replayed_rows_max": replayed_max,
        "uninterrupted_wall_s": round(ref_wall, 1),
        "restarts": restarts,
    }


def main() -> None:
    p = ArgumentParser(description=__doc__)
    p.add_argument("--rounds", type=int, default=100, help="Timed rounds per case.")
    p.add_argument("--warmup", type=int, default=5, help="Untimed rounds before them.")
    p.add_argument("--case-s", type=float, default=120.0, help="A case stops after this long.")
    p.add_argument("--profile-calls", type=int, default=10)
    p.add_argument("--crash-rounds", type=int, default=200)
    p.add_argument("--kills", type=int, default=10)
    p.add_argument("--snapshot-every", type=int, default=50, help="Of the crash runs.")
    p.add_argument("--skip-crash", action="store_true")
    a = p.parse_args()
    city = manhattan()
    out: dict[str, Any] = {
        "round": {"drivers": DRIVERS, "orders": ORDERS, "k_nearest": K_NEAREST,
                  "pairs": int(len(make_round(city, 1, 0).batch))},
        "cpus": os.cpu_count(),
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print("cases ...", file=sys.stderr, flush=True)
        out["cases"] = cases(city, root, a.rounds, a.warmup, a.case_s)
        out["targets"] = targets(out["cases"])
        print("profile ...", file=sys.stderr, flush=True)
        out["profile"] = profile(city, root, a.profile_calls)
        if not a.skip_crash:
            print("crash ...", file=sys.stderr, flush=True)
            out["crash"] = crash(city, root, a.crash_rounds, a.kills, 3, a.snapshot_every)
    sys.stdout.write(json_text(out, "bench") + "\n")


if __name__ == "__main__":
    main()
