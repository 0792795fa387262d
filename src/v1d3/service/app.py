"""The dispatch service's HTTP face (FastAPI on uvicorn): its endpoints, token, limits and
metrics.

=========================  ================================================================
``POST /v1/day``           begin a day: ``{"weekday", "start_s", "end_s", "epoch_s", "seed",
                           "sim": {...}}``
``POST /v1/dispatch``      one round's candidate pairs (columnar JSON, Arrow IPC or the KDD
                           list) → the matching
``POST /v1/outcome``       the last round's outcome: ``{"cancelled", "idle_driver",
                           "idle_cell", "idle_lat", "idle_lng", "dt_s"}``
``POST /v1/reposition``    idle drivers ``{"t", "weekday", "driver", "cell", "idle_s"}`` →
                           ``{"driver", "destination"}``, or the KDD ``repo_observ`` →
                           ``[{"driver_id", "destination"}]``
``GET /v1/values``         ``?cell=ID&cell=ID&t=SECONDS`` → the current values
``GET /v1/state``          what the service has learned: day, rounds, journal, digest
``GET /healthz``           liveness (no token needed)
``GET /metrics``           Prometheus text format
=========================  ================================================================

A refused request gets a 4xx and ``{"error": "<one line>"}``, and changes nothing. With a token
(``--token-file``) every endpoint but ``/healthz`` wants ``Authorization: Bearer <token>``
(compared in constant time). Bodies over ``max_body_mb`` get 413 before they are read in full.
"""

# no `from __future__ import annotations`: FastAPI reads the endpoints' annotations, whose
# types (Request) are imported inside create_app
import hmac
import time
from collections.abc import Awaitable, Callable
from typing import Any

from v1d3.service.core import DispatchService, Unavailable
from v1d3.service.wire import RequestError

__all__ = ["create_app", "METRIC_NAMES"]

METRIC_NAMES = (
    "v1d3_requests_total",
    "v1d3_request_seconds",
    "v1d3_rounds_total",
    "v1d3_td_error",
    "v1d3_ensembles_total",
    "v1d3_journal_seq",
    "v1d3_journal_commit_seconds",
    "v1d3_snapshot_lag_requests",
)
"""The Prometheus metrics ``/metrics`` serves."""


class _Metrics:
    def __init__(self, service: DispatchService) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = r = CollectorRegistry()
        buckets = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
        self.requests = Counter(
            "v1d3_requests", "Requests by endpoint and status.", ("endpoint", "status"), registry=r
        )
        self.latency = Histogram(
            "v1d3_request_seconds", "Request latency.", ("endpoint",), buckets=buckets, registry=r
        )
        st = service.state
        Gauge("v1d3_rounds_total", "Dispatch rounds served.", registry=r).set_function(
            lambda: st.rounds
        )
        self.gauges = {
            "td": Gauge("v1d3_td_error", "Last update's mean absolute TD error.", registry=r),
            "ens": Gauge("v1d3_ensembles_total", "Ensemble events so far.", registry=r),
            "seq": Gauge("v1d3_journal_seq", "Journal rows committed.", registry=r),
            "lag": Gauge(
                "v1d3_snapshot_lag_requests", "Requests since the last snapshot.", registry=r
            ),
        }
        self.commit = Histogram(
            "v1d3_journal_commit_seconds", "Journal commit time.", buckets=buckets, registry=r
        )

    def observe(self, service: DispatchService, endpoint: str, status: int, took: float) -> None:
        self.requests.labels(endpoint, str(status)).inc()
        self.latency.labels(endpoint).observe(took)
        st = service.state
        td = st.td_error()
        if td is not None:
            self.gauges["td"].set(td)
        self.gauges["ens"].set(st.ensembles)
        if service.journal is not None:
            self.gauges["seq"].set(service.journal.seq)
            self.gauges["lag"].set(service.since_snapshot)
            if endpoint != "values" and status == 200:
                self.commit.observe(service.append_s)


def create_app(service: DispatchService, token: str | None = None) -> Any:
    """The ASGI app serving ``service``."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, PlainTextResponse, Response
    from starlette.concurrency import run_in_threadpool

    app = FastAPI(title="V1D3 dispatch service", docs_url=None, redoc_url=None)
    metrics = _Metrics(service)
    limit = int(service.config.max_body_mb * 2**20)

    def error(status: int, message: str) -> Response:
        return JSONResponse({"error": message}, status_code=status)

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Any:
        if token is not None and request.url.path != "/healthz":
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return error(401, "a bearer token is required (Authorization: Bearer ...)")
        size = request.headers.get("content-length")
        if size is not None and (not (size.isascii() and size.isdigit()) or int(size) > limit):
            return error(413, f"body over {service.config.max_body_mb:g} MiB")
        return await call_next(request)

    async def body_of(request: Request) -> bytes:
        chunks, n = [], 0
        async for chunk in request.stream():
            n += len(chunk)
            if n > limit:
                raise RequestError(f"body over {service.config.max_body_mb:g} MiB", 413)
            chunks.append(chunk)
        return b"".join(chunks)

    def change(kind: str) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            tic = time.perf_counter()
            try:
                body = await body_of(request)
                ctype = request.headers.get("content-type", "application/json")
                # in a worker thread: /healthz and /metrics answer during a long round or a
                # snapshot; the service's lock keeps the changes one at a time
                answer = await run_in_threadpool(service.handle, kind, ctype, body)
                response: Response = JSONResponse(answer)
            except RequestError as e:
                response = error(e.status, str(e))
            except Unavailable as e:
                response = error(503, str(e))
            metrics.observe(service, kind, response.status_code, time.perf_counter() - tic)
            return response

        return endpoint

    for kind in ("day", "dispatch", "outcome", "reposition"):
        app.add_api_route(f"/v1/{kind}", change(kind), methods=["POST"])

    @app.get("/v1/values")
    async def values(request: Request) -> Response:
        tic = time.perf_counter()
        cells = request.query_params.getlist("cell")
        try:
            t = float(request.query_params.get("t", "nan"))
            if not cells or t != t or abs(t) > 1e7:
                raise RequestError("expected ?cell=ID (repeatable) and t=SECONDS after midnight")
            out = await run_in_threadpool(service.values, cells, [t] * len(cells))
            response: Response = JSONResponse({"cell": cells, "t": t, "value": out})
        except (RequestError, ValueError) as e:
            response = error(getattr(e, "status", 422), str(e).splitlines()[0])
        metrics.observe(service, "values", response.status_code, time.perf_counter() - tic)
        return response

    @app.get("/v1/state")
    def state() -> Response:  # a worker thread: it waits for the lock
        with service.lock:
            st = service.state
            journal = service.journal
            return JSONResponse(
                {
                    "city": service.config.city,
                    "day": None if st.day is None else st.day.weekday,
                    "rounds": st.rounds,
                    "ensembles": st.ensembles,
                    "journal_seq": None if journal is None else journal.seq,
                    "replayed": service.replayed,
                    "digest": st.digest(),
                }
            )

    @app.get("/healthz")
    async def healthz() -> Response:
        return JSONResponse({"ok": service.broken is None})

    @app.get("/metrics")
    async def prometheus() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
