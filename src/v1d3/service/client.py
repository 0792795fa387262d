"""The simulator as a client of a running dispatch service (``v1d3 simulate --dispatch-url``).

:class:`RemoteDispatch` is a dispatch policy whose decisions come from the service: a day's
start is ``POST /v1/day`` (with the state of the policy's generator, so the service's policy
draws exactly as the in-process one would), each round ``POST /v1/dispatch`` (an Arrow IPC
stream of the batch's columns, exact to the bit) and its outcome ``POST /v1/outcome``. On the
same seed the run's numbers are those of the in-process policy the service runs.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import urllib.parse
from typing import Any

import numpy as np

from v1d3.dispatch.base import DispatchPolicy
from v1d3.errors import ConfigError, PolicyError
from v1d3.geo.city import City
from v1d3.rounds import CandidateBatch, DayContext, RoundOutcome
from v1d3.service.wire import ARROW, batch_arrays

__all__ = ["RemoteDispatch", "arrow_body"]


def arrow_body(batch: CandidateBatch, city: City) -> bytes:
    """A round's columnar body as an Arrow IPC stream (cells as grid ids)."""
    import pyarrow as pa

    cols: dict[str, Any] = {}
    for f, v in batch_arrays(batch, city).items():
        if f == "cancel_prob":
            cols[f] = pa.FixedSizeListArray.from_arrays(pa.array(v.ravel()), v.shape[1])
        else:
            cols[f] = pa.array(v)
    meta = {"t": repr(float(batch.t)), "weekday": str(int(batch.weekday))}
    table = pa.table(cols).replace_schema_metadata(meta)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()  # type: ignore[no-any-return]


class RemoteDispatch(DispatchPolicy):
    """Dispatch decided by the service at ``url`` (``token``: its bearer token)."""

    name = "remote"
    values_elsewhere = True
    """Its value function lives in the service: a repositioning policy that would read it here
    (``value``) is refused rather than given the offline one in its place."""

    def __init__(self, url: str, token: str | None = None, timeout_s: float = 60.0):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ConfigError(f"--dispatch-url {url}: expected http://HOST:PORT")
        self.url = url
        self._conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout_s)
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._city: City | None = None
        self._batch: CandidateBatch | None = None

    @property
    def learns_online(self) -> bool:
        return True

    def _post(self, path: str, body: bytes, ctype: str = "application/json") -> Any:
        headers = {**self._headers, "Content-Type": ctype}
        try:
            self._conn.request("POST", path, body=body, headers=headers)
            response = self._conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as e:
            self._conn.close()
            raise PolicyError(f"dispatch service {self.url}: {e}") from None
        if response.status != 200:
            try:
                why = json.loads(data)["error"]
            except (ValueError, KeyError, TypeError):
                why = data[:200].decode("utf-8", "replace")
            raise PolicyError(f"dispatch service {self.url}{path}: {response.status} {why}")
        return json.loads(data)

    def reset(self, context: DayContext) -> None:
        self._city = context.city
        sim = dataclasses.asdict(context.sim)
        day = {
            "weekday": int(context.weekday),
            "start_s": float(context.start_s),
            "end_s": float(context.end_s),
            "epoch_s": float(context.epoch_s),
            "rng": context.rng.bit_generator.state,  # the service's policy draws as ours would
            "sim": sim,
        }
        self._post("/v1/day", json.dumps(day).encode())

    def dispatch(self, batch: CandidateBatch) -> np.ndarray:
        assert self._city is not None, "reset() first"
        answer = self._post("/v1/dispatch", arrow_body(batch, self._city), ARROW)
        return np.asarray(answer["selected"], dtype=np.int64)

    def observe(self, outcome: RoundOutcome) -> None:
        assert self._city is not None
        labels = np.asarray(self._city.labels, dtype=object)
        doc = {
            "cancelled": np.asarray(outcome.cancelled, dtype=bool).tolist(),
            "idle_driver": np.asarray(outcome.idle_driver, dtype=np.int64).tolist(),
            "idle_cell": labels[np.asarray(outcome.idle_cell, dtype=np.int64)].tolist(),
            "idle_lat": np.asarray(outcome.idle_lat, dtype=np.float64).tolist(),
            "idle_lng": np.asarray(outcome.idle_lng, dtype=np.float64).tolist(),
            "dt_s": outcome.dt_s,
        }
        self._post("/v1/outcome", json.dumps(doc).encode())

    def close(self) -> None:
        self._conn.close()
