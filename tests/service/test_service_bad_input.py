"""Bad input thrown at the dispatch service's POST endpoints (hypothesis), through its real ASGI
app: bodies of the wrong type, NaN and infinite numbers, ids beyond 2**63, pairs given twice,
arrays of other lengths, unknown grid ids, bodies over the size limit, truncated and nested JSON,
random bytes and Arrow streams broken every way.

Every answer is either a 4xx whose body is ``{"error": "<one line>"}`` or a valid 200 answer;
never a 5xx, never an exception out of the app. A refused request leaves the learned state as it
was (its digest, the journal's last row, the rounds served), and a body wrong by construction (a
number that is not one, an id that is not an integer, a length or grid id that does not fit, a
pair given twice) is refused. Examples are few and derandomised, so the suite stays fast and
repeatable; ``V1D3_BAD_INPUT_EXAMPLES=300`` draws that many at random instead.
"""

from __future__ import annotations

import copy
import json
import math
import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from v1d3.kddcup.kdd_source import reference_epoch
from v1d3.kddcup.observation import ObservedBatch, dispatch_observation
from v1d3.service.client import arrow_body
from v1d3.service.core import DispatchService, ServeConfig
from v1d3.service.wire import ARROW, CELL_FIELDS, ORDER_FIELDS, PAIR_FIELDS, batch_columns

SETTINGS = settings(
    max_examples=int(os.environ.get("V1D3_BAD_INPUT_EXAMPLES", "40")),
    deadline=None,
    derandomize="V1D3_BAD_INPUT_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow],
)
LIMIT_MB = 1 / 16
"""The service's body limit in the test (64 KiB: the valid bodies are a few KiB)."""
LIMIT = int(LIMIT_MB * 2**20)
JSON = "application/json"
WEEKDAY = 2
EPOCH = float(reference_epoch(WEEKDAY))
T = 9 * 3600.0
DAY = {"weekday": WEEKDAY, "start_s": 8 * 3600.0, "end_s": 12 * 3600.0, "epoch_s": EPOCH}
NOT_A_CELL = "8a2a1072b59ffff"
"""A well-formed H3 id the city does not have."""
ODD_FLOATS = (math.nan, math.inf, -math.inf)
NOT_NUMBERS = (None, True, False, "", "1.5", "x", [], [1.0], {}, {"a": 1})
NOT_IDS = (*NOT_NUMBERS, 1.5, -1, 2**63, 2**70, -(2**70), 10**400)
ODD = (*NOT_IDS, *ODD_FLOATS, 0, 1e308, -1e308, NOT_A_CELL, [[[[[[[[1]]]]]]]])
KINDS = ("day", "dispatch", "outcome", "reposition")


def _deep(n: int) -> Any:
    doc: Any = 1
    for _ in range(n):
        doc = [doc]
    return doc


# -- a small valid round on the Manhattan city --------------------------------------------------


def small_batch(city: Any) -> ObservedBatch:
    """Six orders, ten drivers, three candidate drivers per order (18 pairs), at real cells."""
    rng = np.random.default_rng(0)
    n_o, n_d, k = 6, 10, 3
    dcell = rng.integers(0, city.n_cells, n_d)
    ocell = rng.integers(0, city.n_cells, n_o)
    ecell = rng.integers(0, city.n_cells, n_o)
    o = np.repeat(np.arange(n_o), k)
    d = np.concatenate([rng.choice(n_d, k, replace=False) for _ in range(n_o)])
    pickup_m = rng.uniform(100.0, 1900.0, o.size)
    trip_m = rng.uniform(800.0, 6000.0, n_o)
    pairs = {
        "order": 100 + o.astype(np.int64),
        "driver": 500 + d.astype(np.int64),
        "pickup_m": pickup_m,
        "pickup_s": pickup_m / 5.0,
        "driver_lat": city.cell_lat[dcell[d]],
        "driver_lng": city.cell_lng[dcell[d]],
        "driver_cell": dcell[d],
    }
    orders = {
        "fare": (2.5 + 1.75 * trip_m / 1000.0)[o],
        "trip_s": (trip_m / 6.0 + 60.0)[o],
        "trip_m": trip_m[o],
        "t_request": np.full(o.size, T - 10.0),
        "origin_lat": city.cell_lat[ocell[o]],
        "origin_lng": city.cell_lng[ocell[o]],
        "dest_lat": city.cell_lat[ecell[o]],
        "dest_lng": city.cell_lng[ecell[o]],
        "origin_cell": ocell[o],
        "dest_cell": ecell[o],
        "cancel_prob": np.tile(np.linspace(0.01, 0.2, 10), (o.size, 1)),
    }
    return ObservedBatch(T, WEEKDAY, pairs, orders)


def columnar_doc(batch: ObservedBatch, city: Any) -> dict[str, Any]:
    cols = batch_columns(batch, city)
    return {
        "t": batch.t,
        "weekday": batch.weekday,
        "pairs": {f: cols[f] for f in PAIR_FIELDS},
        "orders": {f: cols[f] for f in (*ORDER_FIELDS, "cancel_prob")},
    }


class Served:
    """The service, its test client and the valid bodies the strategies start from."""

    def __init__(self, service: DispatchService, client: Any) -> None:
        self.service, self.client = service, client
        self.city = city = service.state.city
        self.batch = small_batch(city)
        self.columnar = columnar_doc(self.batch, city)
        self.kdd = dispatch_observation(self.batch, EPOCH)
        self.arrow = arrow_body(self.batch, city)
        self.reposition = {
            "timestamp": int(EPOCH + T),
            "day_of_week": WEEKDAY,
            "driver_info": [
                {"driver_id": 500 + i, "grid_id": city.labels[3 * i]} for i in range(8)
            ],  # fmt: skip
        }

    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing example
        return "Served(...)"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The service on the packaged Manhattan models, a fresh state folder, a 64 KiB body limit."""
    from v1d3.service.app import create_app

    state = tmp_path_factory.mktemp("serve") / "state"
    service = DispatchService.open(ServeConfig(state=str(state), max_body_mb=LIMIT_MB))
    try:
        with TestClient(create_app(service)) as client:
            yield Served(service, client)
    finally:
        service.close()


def ready(s: Served, pending: bool = False) -> None:
    """The canonical day begun (a request the test made may have begun another), and with
    ``pending`` a round waiting for its outcome."""
    st_ = s.service.state
    if st_.day is None or (st_.day.weekday, st_.day.epoch_s, st_.day.start_s) != (
        WEEKDAY,
        EPOCH,
        DAY["start_s"],
    ):
        assert s.client.post("/v1/day", json=DAY).status_code == 200
    if pending and st_.pending is None:
        r = s.client.post("/v1/dispatch", content=json.dumps(s.columnar), headers=_ct(JSON))
        assert r.status_code == 200, r.text
    assert not pending or st_.pending is not None


def _ct(ctype: str) -> dict[str, str]:
    return {"content-type": ctype}


def _learned(s: Served) -> tuple[Any, ...]:
    svc = s.service
    assert svc.journal is not None
    return svc.state.digest(), svc.journal.seq, svc.state.rounds, svc.state.pending is None


def send(s: Served, kind: str, content: Any, ctype: str = JSON, must_refuse: bool = False) -> Any:
    """POST ``content`` to /v1/KIND and check the rules; the answer's JSON."""
    before = _learned(s)
    r = s.client.post(f"/v1/{kind}", content=content, headers=_ct(ctype))
    assert r.status_code < 500, (r.status_code, r.text)
    doc = r.json()
    assert s.service.broken is None
    if r.status_code == 200:
        assert not must_refuse, (kind, doc)
        _check_answer(s, kind, doc)
        assert s.service.journal is not None and s.service.journal.seq == before[1] + 1
        return doc
    assert 400 <= r.status_code < 500, r.status_code
    assert isinstance(doc, dict) and set(doc) == {"error"}, doc
    message = doc["error"]
    assert isinstance(message, str) and message.strip(), doc
    assert "\n" not in message and "Traceback" not in message and len(message) < 400, message
    assert _learned(s) == before, f"{kind}: refused ({message}) but the state changed"
    return doc


def _check_answer(s: Served, kind: str, doc: Any) -> None:
    if kind == "dispatch" and isinstance(doc, list):  # the KDD answer
        assert all(isinstance(a, dict) and set(a) == {"order_id", "driver_id"} for a in doc), doc
        orders = [a["order_id"] for a in doc]
        drivers = [a["driver_id"] for a in doc]
        assert len(set(orders)) == len(orders) and len(set(drivers)) == len(drivers), doc
    elif kind == "dispatch":
        assert set(doc) == {"selected", "order_id", "driver_id"}, doc
        sel = doc["selected"]
        assert all(isinstance(i, int) and i >= 0 for i in sel) and len(set(sel)) == len(sel)
        assert len(doc["order_id"]) == len(doc["driver_id"]) == len(sel)
        assert len(set(doc["order_id"])) == len(sel) == len(set(doc["driver_id"])), doc
    elif kind == "day":
        assert set(doc) == {"day"}, doc
    elif kind == "outcome":
        assert doc == {"learned": True}, doc
    else:
        labels = set(s.city.labels)
        assert isinstance(doc, list), doc
        assert all(set(a) == {"driver_id", "destination"} and a["destination"] in labels
                   for a in doc), doc  # fmt: skip


def dumps(doc: Any) -> bytes:
    """JSON text; NaN and infinities as Python writes them (NaN, Infinity, -Infinity)."""
    return json.dumps(doc, allow_nan=True).encode()


# -- mutations of a JSON document ---------------------------------------------------------------


def _paths(doc: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [at] if at else []
    items: Any = ()
    if isinstance(doc, dict):
        items = doc.items()
    elif isinstance(doc, list):
        items = enumerate(doc)
    for k, v in items:
        out += _paths(v, (*at, k))
    return out


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for k in path:
        doc = doc[k]
    return doc


@st.composite
def mutated(draw: st.DrawFn, doc: Any) -> Any:
    """``doc`` with one to three nodes replaced by odd values, deleted, doubled or wrapped."""
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = _at(doc, path[:-1]), path[-1]
        op = draw(st.sampled_from(["replace", "delete", "double", "wrap"]))
        if op == "replace":
            odd = draw(st.sampled_from(ODD) | st.text(max_size=8) | st.integers())
            parent[key] = copy.deepcopy(odd)  # a later step may change inside it
        elif op == "delete":
            del parent[key]
        elif op == "double" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        else:
            parent[key] = [parent[key]]
    return doc


# -- dispatch: columnar JSON ------------------------------------------------------------------


NUMBER_FIELDS = [f for f in (*PAIR_FIELDS, *ORDER_FIELDS) if f not in CELL_FIELDS]


def _section(f: str) -> str:
    return "pairs" if f in PAIR_FIELDS else "orders"


@st.composite
def columnar_wrong(draw: st.DrawFn, doc: dict[str, Any]) -> dict[str, Any]:
    """A columnar body wrong by construction."""
    doc = copy.deepcopy(doc)
    n = len(doc["pairs"]["order"])
    i = draw(st.integers(0, n - 1))
    how = draw(st.sampled_from(["number", "id", "cell", "length", "twice", "missing", "clock",
                                "cancel"]))  # fmt: skip
    if how == "number":
        f = draw(st.sampled_from([f for f in NUMBER_FIELDS if f not in ("order", "driver")]))
        doc[_section(f)][f][i] = draw(st.sampled_from((*NOT_NUMBERS, *ODD_FLOATS, 10**400)))
    elif how == "id":
        doc["pairs"][draw(st.sampled_from(["order", "driver"]))][i] = draw(st.sampled_from(NOT_IDS))
    elif how == "cell":
        f = draw(st.sampled_from(CELL_FIELDS))
        doc[_section(f)][f][i] = draw(st.sampled_from((NOT_A_CELL, "", 7, None, ["x"])) | st.text())
    elif how == "length":
        f = draw(st.sampled_from([*PAIR_FIELDS, *ORDER_FIELDS, "cancel_prob"]))
        col = doc[_section(f)][f]
        if draw(st.booleans()):
            del col[i]
        else:
            col.append(copy.deepcopy(col[i]))
    elif how == "twice":
        j = draw(st.integers(0, n - 1).filter(lambda j: j != i))
        for f in ("order", "driver"):
            doc["pairs"][f][i] = doc["pairs"][f][j]
    elif how == "missing":
        f = draw(st.sampled_from([*PAIR_FIELDS, *ORDER_FIELDS]))
        del doc[_section(f)][f]
    elif how == "clock":
        key = draw(st.sampled_from(["t", "weekday"]))
        odd = (*NOT_NUMBERS, *ODD_FLOATS, 10**400) if key == "t" else (7, -1, 2.0, True, "2", None)
        doc[key] = draw(st.sampled_from(odd))
    else:
        cp = doc["orders"]["cancel_prob"]
        cp[i] = draw(st.sampled_from([[0.5] * 9, [0.5] * 11, [1.5] * 10, [-0.1] * 10, [None] * 10,
                                      ["x"] * 10, 0.5, [[0.5]] * 10]))  # fmt: skip
    return doc


@SETTINGS
@given(data=st.data())
def test_dispatch_columnar(served: Served, data: st.DataObject) -> None:
    ready(served)
    wrong = data.draw(st.booleans())
    if wrong:
        doc = data.draw(columnar_wrong(served.columnar))
    else:
        doc = data.draw(mutated(served.columnar))
    send(served, "dispatch", dumps(doc), must_refuse=wrong)


# -- dispatch: KDD list of dicts --------------------------------------------------------------


@st.composite
def kdd_wrong(draw: st.DrawFn, doc: list[dict[str, Any]]) -> Any:
    doc = copy.deepcopy(doc)
    i = draw(st.integers(0, len(doc) - 1))
    key = draw(st.sampled_from(sorted(doc[0])))
    how = draw(st.sampled_from(["missing", "odd", "id", "twice", "shape"]))
    if how == "missing":
        del doc[i][key]
    elif how == "odd":
        if key == "day_of_week":  # the round's clock and day are its first pair's
            i = 0
        if key in ("order_start_location", "order_finish_location", "driver_location"):
            doc[i][key] = [draw(st.sampled_from(ODD_FLOATS)), 40.7]
        else:
            doc[i][key] = draw(st.sampled_from((*ODD_FLOATS, None, [], {}, "x")))
    elif how == "id":
        doc[i][draw(st.sampled_from(["order_id", "driver_id"]))] = draw(
            st.sampled_from((2**63, 2**70, -(2**70), 10**400, -1))
        )
    elif how == "twice":
        doc.insert(i, copy.deepcopy(doc[i]))
    else:
        return draw(st.sampled_from(([], {}, [[]], [None], [1, 2], "x", None, doc[i])))
    return doc


@SETTINGS
@given(data=st.data())
def test_dispatch_kdd(served: Served, data: st.DataObject) -> None:
    ready(served)
    wrong = data.draw(st.booleans())
    doc = data.draw(kdd_wrong(served.kdd) if wrong else mutated(served.kdd))
    send(served, "dispatch", dumps(doc), must_refuse=wrong)


# -- dispatch: Arrow IPC ----------------------------------------------------------------------


def _stream(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def _table(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()


@st.composite
def arrow_wrong(draw: st.DrawFn, valid: bytes) -> bytes:
    """A well-formed Arrow stream whose contents are wrong."""
    table = _table(valid)
    meta = dict(table.schema.metadata)
    names = table.column_names
    n = table.num_rows
    how = draw(st.sampled_from(["drop", "strings", "float_ids", "int_cells", "nulls", "twice",
                                "meta", "cancel", "same_name", "bools"]))  # fmt: skip
    if how == "drop":
        table = table.drop_columns(draw(st.sampled_from([c for c in names if c != "cancel_prob"])))
    elif how == "strings":
        f = draw(st.sampled_from(NUMBER_FIELDS))
        col = pa.array([str(v) for v in table.column(f).to_pylist()])
        table = table.set_column(names.index(f), f, col)
    elif how == "float_ids":
        f = draw(st.sampled_from(["order", "driver"]))
        col = pa.array(np.asarray(table.column(f).to_pylist(), dtype=np.float64) + 0.5)
        table = table.set_column(names.index(f), f, col)
    elif how == "int_cells":
        f = draw(st.sampled_from(CELL_FIELDS))
        table = table.set_column(names.index(f), f, pa.array(np.arange(n)))
    elif how == "nulls":
        f = draw(st.sampled_from([*PAIR_FIELDS, *ORDER_FIELDS]))
        values = table.column(f).to_pylist()
        values[draw(st.integers(0, n - 1))] = None
        table = table.set_column(names.index(f), f, pa.array(values, type=table.column(f).type))
    elif how == "twice":
        order = table.column("order").to_pylist()
        driver = table.column("driver").to_pylist()
        order[1], driver[1] = order[0], driver[0]
        table = table.set_column(names.index("order"), "order", pa.array(order))
        table = table.set_column(names.index("driver"), "driver", pa.array(driver))
    elif how == "meta":
        key = draw(st.sampled_from([b"t", b"weekday"]))
        odd = [None, b"nan", b"inf", b"-inf", b"1e999", b"x", b"", b"\xff\xfe"]
        odd += [b"9", b"-1", b"2.5"] if key == b"weekday" else []
        value = draw(st.sampled_from(odd))
        if value is None:
            del meta[key]
        else:
            meta[key] = value
    elif how == "cancel":
        i = names.index("cancel_prob")
        col = draw(st.sampled_from([pa.array(np.full(n, 0.5)),
                                    pa.array([[0.5] * 3] * n, type=pa.list_(pa.float64(), 3)),
                                    pa.array([[1.5] * 10] * n, type=pa.list_(pa.float64(), 10)),
                                    pa.array([{"a": 1}] * n),
                                    pa.array(["x"] * n)]))  # fmt: skip
        table = table.set_column(i, "cancel_prob", col)
    elif how == "same_name":
        f = draw(st.sampled_from([*PAIR_FIELDS, *ORDER_FIELDS]))
        table = table.append_column(f, table.column(f))
    else:
        f = draw(st.sampled_from(NUMBER_FIELDS))
        table = table.set_column(names.index(f), f, pa.array([True] * n))
    return _stream(table.replace_schema_metadata(meta))


def damaged(valid: bytes) -> st.SearchStrategy[bytes]:
    """Random bytes, a truncation of ``valid``, or ``valid`` with a few bytes overwritten."""
    n = len(valid)
    overwrite = st.tuples(st.integers(0, n - 1), st.binary(min_size=1, max_size=16)).map(
        lambda t: valid[: t[0]] + t[1] + valid[t[0] + len(t[1]) :]
    )
    truncated = st.integers(0, n - 1).map(lambda k: valid[:k])
    return st.one_of(st.binary(max_size=4096), truncated, overwrite)


ARROW_LOOKING = st.tuples(st.integers(-(2**31), 2**31 - 1), st.binary(max_size=2048)).map(
    lambda t: b"\xff\xff\xff\xff" + t[0].to_bytes(4, "little", signed=True) + t[1]
)
"""An IPC stream's continuation marker and a message length, then random bytes."""


@SETTINGS
@given(data=st.data())
def test_dispatch_arrow(served: Served, data: st.DataObject) -> None:
    ready(served)
    wrong = data.draw(st.booleans())
    if wrong:
        body = data.draw(arrow_wrong(served.arrow))
    else:
        body = data.draw(damaged(served.arrow) | ARROW_LOOKING)
    send(served, "dispatch", body, ARROW, must_refuse=wrong)


# -- outcome, day, reposition -----------------------------------------------------------------


def valid_outcome(s: Served) -> dict[str, Any]:
    pending = s.service.state.pending
    assert pending is not None
    batch, sel = pending
    idle = sorted(set(batch.driver.tolist()) - set(batch.driver[sel].tolist()))
    first = [batch.driver.tolist().index(d) for d in idle]
    return {
        "cancelled": [False] * sel.size,
        "idle_driver": idle,
        "idle_cell": [s.city.labels[int(batch.driver_cell[i])] for i in first],
        "idle_lat": [float(batch.driver_lat[i]) for i in first],
        "idle_lng": [float(batch.driver_lng[i]) for i in first],
        "dt_s": 2.0,
    }


@st.composite
def outcome_wrong(draw: st.DrawFn, doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    key = draw(st.sampled_from(sorted(doc)))
    if key == "dt_s":
        doc[key] = draw(st.sampled_from([-1.0, True, "2", [], {}, math.nan, math.inf]))
    elif draw(st.booleans()) or not doc[key]:  # another length
        doc[key] = [*doc[key], doc[key][0] if doc[key] else 1]
    else:
        odd = {"cancelled": (0, 1, None, "x", []), "idle_driver": NOT_IDS,
               "idle_cell": (NOT_A_CELL, "", 3, None), "idle_lat": (*NOT_NUMBERS, *ODD_FLOATS),
               "idle_lng": (*NOT_NUMBERS, *ODD_FLOATS)}[key]  # fmt: skip
        doc[key][draw(st.integers(0, len(doc[key]) - 1))] = draw(st.sampled_from(odd))
    return doc


@SETTINGS
@given(data=st.data())
def test_outcome(served: Served, data: st.DataObject) -> None:
    ready(served, pending=True)
    valid = valid_outcome(served)
    wrong = data.draw(st.booleans())
    doc = data.draw(outcome_wrong(valid) if wrong else mutated(valid))
    send(served, "outcome", dumps(doc), must_refuse=wrong)


RNG = np.random.Generator(np.random.PCG64(7)).bit_generator.state
DAY_WRONG = (
    {"weekday": 7},
    {"weekday": -1},
    {"start_s": 50000.0},
    {"end_s": 200000.0},
    {"start_s": math.nan},
    {"end_s": math.inf},
    {"start_s": 10**400},
    {"seed": -1},
    {"epoch_s": math.inf},
    {"sim": {"no_such_field": 1}},
    {"sim": {"pickup_radius_m": -5.0}},
    {"sim": {"cancel_curve": [0.5] * 3}},
    {"sim": []},
    {"rng": {"bit_generator": "MT19937"}},
    {"rng": {**RNG, "state": {"state": "x", "inc": 1}}},
    {"rng": [1, 2]},
)


@SETTINGS
@given(data=st.data())
def test_day(served: Served, data: st.DataObject) -> None:
    wrong = data.draw(st.booleans())
    base = {**DAY, "seed": 3, "sim": {"pickup_radius_m": 1500.0}, "rng": RNG}
    if wrong:
        doc = {**base, **data.draw(st.sampled_from(DAY_WRONG))}
        if data.draw(st.booleans()):
            del doc[data.draw(st.sampled_from(["weekday", "start_s", "end_s"]))]
    else:
        doc = data.draw(mutated(base))
    send(served, "day", dumps(doc), must_refuse=wrong)


@SETTINGS
@given(data=st.data())
def test_reposition(served: Served, data: st.DataObject) -> None:
    ready(served)
    valid = served.reposition
    wrong = data.draw(st.booleans())
    if wrong:
        doc = copy.deepcopy(valid)
        how = data.draw(st.sampled_from(["cell", "id", "clock", "info", "missing"]))
        i = data.draw(st.integers(0, len(doc["driver_info"]) - 1))
        if how == "cell":
            doc["driver_info"][i]["grid_id"] = data.draw(st.sampled_from([NOT_A_CELL, "", "x"]))
        elif how == "id":
            doc["driver_info"][i]["driver_id"] = data.draw(st.sampled_from([2**70, "x", None]))
        elif how == "clock":
            doc["timestamp"] = data.draw(st.sampled_from([math.nan, math.inf, "x", None, []]))
        elif how == "info":
            doc["driver_info"] = data.draw(st.sampled_from([None, {}, "x", [1], [[]]]))
        else:
            del doc[data.draw(st.sampled_from(sorted(doc)))]
    else:
        doc = data.draw(mutated(valid))
    send(served, "reposition", dumps(doc), must_refuse=wrong)


# -- any endpoint: broken JSON, nesting, size -----------------------------------------------


def _valid_body(s: Served, kind: str) -> bytes:
    if kind == "day":
        return dumps(DAY)
    if kind == "dispatch":
        return dumps(s.columnar)
    if kind == "reposition":
        return dumps(s.reposition)
    return dumps(valid_outcome(s))


@SETTINGS
@given(kind=st.sampled_from(KINDS), data=st.data())
def test_broken_json(served: Served, kind: str, data: st.DataObject) -> None:
    """Truncated bodies, NaN and infinity tokens spelled out, nesting past any sane depth: all
    refused; random bytes under any content type: refused or read."""
    ready(served, pending=kind == "outcome")
    valid = _valid_body(served, kind)
    how = data.draw(st.sampled_from(["truncated", "token", "deep", "random"]))
    ctype = JSON
    if how == "truncated":
        body = valid[: data.draw(st.integers(0, len(valid) - 1))]
    elif how == "token":
        spans = [i for i in range(len(valid)) if valid[i : i + 1].isdigit()]
        at = data.draw(st.sampled_from(spans))
        token = data.draw(st.sampled_from([b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e999"]))
        end = at
        while end < len(valid) and valid[end : end + 1] in b"0123456789.e-+":
            end += 1
        body = valid[:at] + token + valid[end:]
        if body == valid:
            return
        # 1e999 is JSON's number syntax for a float Python reads as infinite: refused only
        # where a finite number is asked for; the others are not JSON
        send(served, kind, body, must_refuse=not token.endswith(b"1e999"))
        return
    elif how == "deep":
        depth = data.draw(st.sampled_from([100, 1000, 20000, LIMIT // 2 - 8]))
        opener, closer = data.draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
        body = opener * depth + b"1" + closer * depth
        body = body[:LIMIT]
    else:
        body = data.draw(st.binary(max_size=2048))
        ctype = data.draw(st.sampled_from([JSON, ARROW, "text/plain", ""]))
        send(served, kind, body, ctype)
        return
    send(served, kind, body, must_refuse=True)


@SETTINGS
@given(kind=st.sampled_from(KINDS), over=st.integers(1, 3 * LIMIT), chunked=st.booleans())
def test_oversized(served: Served, kind: str, over: int, chunked: bool) -> None:
    """A body over the limit is refused with 413, told by its Content-Length or found while
    reading it (a chunked body has none)."""
    ready(served)
    body = b" " * (LIMIT + over)
    content: Any = body
    if chunked:
        content = iter([body[i : i + 8192] for i in range(0, len(body), 8192)])
    doc = send(served, kind, content, must_refuse=True)
    assert "MiB" in doc["error"], doc


def test_deep_nesting_in_a_field(served: Served) -> None:
    """A field nested deeper than numpy's 64 dimensions, under the recursion limit."""
    ready(served)
    for f in ("pickup_m", "order", "driver_cell"):
        doc = copy.deepcopy(served.columnar)
        doc[_section(f)][f][0] = _deep(200)
        send(served, "dispatch", dumps(doc), must_refuse=True)


def test_valid_requests_are_answered(served: Served) -> None:
    """The bodies the strategies start from are valid (so a refusal above is the mutation's)."""
    ready(served)
    send(served, "dispatch", dumps(served.columnar))
    send(served, "outcome", dumps(valid_outcome(served)))
    send(served, "dispatch", served.arrow, ARROW)
    send(served, "outcome", dumps(valid_outcome(served)))
    send(served, "dispatch", dumps(served.kdd))
    send(served, "reposition", dumps(served.reposition))
    send(served, "day", dumps({**DAY, "seed": 3, "rng": RNG}))


# -- the defects the search found (fixed in v1d3.service.wire), and two it found elsewhere ------


def _arrow_with(s: Served, change: Any) -> bytes:
    table = _table(s.arrow)
    return _stream(change(table, dict(table.schema.metadata)))


def _set(table: pa.Table, name: str, col: Any) -> pa.Table:
    return table.set_column(table.column_names.index(name), name, col)


def _columnar_with(s: Served, section: str, field: str, value: Any) -> bytes:
    doc = copy.deepcopy(s.columnar)
    if section:
        doc[section][field][0] = value
    else:
        doc[field] = value
    return dumps(doc)


FOUND = {
    # an integer beyond any float as the clock: OverflowError, a 500
    "clock 10**400": lambda s: (_columnar_with(s, "", "t", 10**400), JSON),
    # numbers spelled as text, and booleans, were read as numbers by numpy
    "fare '1.5'": lambda s: (_columnar_with(s, "orders", "fare", "1.5"), JSON),
    "pickup_m true": lambda s: (_columnar_with(s, "pairs", "pickup_m", True), JSON),
    # finite but huge: the matching's weights overflowed (ValueError in the matching, a 500);
    # a latitude of 1e21 was taken
    "fare 1e308": lambda s: (_columnar_with(s, "orders", "fare", 1e308), JSON),
    "driver_lat 1e21": lambda s: (_columnar_with(s, "pairs", "driver_lat", 1e21), JSON),
    # in the KDD list, a finish time before the start made a negative trip: the same overflow
    "kdd finish true": lambda s: (
        dumps([{**s.kdd[0], "order_finish_timestamp": True}, *s.kdd[1:]]),
        JSON,
    ),
    # Arrow: a text column read as numbers, float ids cut to integers, booleans as numbers
    "arrow fare text": lambda s: (
        _arrow_with(
            s,
            lambda t, m: _set(t, "fare", pa.array([str(v) for v in t.column("fare").to_pylist()])),
        ),
        ARROW,
    ),  # fmt: skip
    "arrow float ids": lambda s: (
        _arrow_with(
            s,
            lambda t, m: _set(
                t,
                "order",
                pa.array(np.asarray(t.column("order").to_pylist(), dtype=np.float64) + 0.5),
            ),
        ),
        ARROW,
    ),  # fmt: skip
    "arrow bool trip_s": lambda s: (
        _arrow_with(s, lambda t, m: _set(t, "trip_s", pa.array([True] * t.num_rows))),
        ARROW,
    ),  # fmt: skip
    # Arrow: these raised out of the reader (KeyError, UnicodeDecodeError, AttributeError): 500s
    "arrow column twice": lambda s: (
        _arrow_with(s, lambda t, m: t.append_column("fare", t.column("fare"))),
        ARROW,
    ),
    "arrow metadata not UTF-8": lambda s: (
        _arrow_with(s, lambda t, m: t.replace_schema_metadata({**m, b"t": b"\xff\xfe"})),
        ARROW,
    ),
    "arrow column name not UTF-8": lambda s: (
        s.arrow.replace(b"trip_m", b"trip\x80m"),
        ARROW,
    ),
    "arrow cancel_prob not a list": lambda s: (
        _arrow_with(s, lambda t, m: _set(t, "cancel_prob", pa.array(np.full(t.num_rows, 0.5)))),
        ARROW,
    ),
    # Arrow grid ids are looked up once per distinct id: an unknown one, ids as numbers, nulls
    "arrow unknown grid id": lambda s: (
        _arrow_with(
            s,
            lambda t, m: _set(
                t,
                "driver_cell",
                pa.array(["8a2a1072c3fffff", *t.column("driver_cell")[1:].to_pylist()]),
            ),
        ),
        ARROW,
    ),
    "arrow cells as integers": lambda s: (
        _arrow_with(s, lambda t, m: _set(t, "origin_cell", pa.array(np.zeros(t.num_rows, int)))),
        ARROW,
    ),
    # KDD locations of length 2 that are not pairs of numbers were read as their characters/keys
    "kdd location a string": lambda s: (
        dumps([{**s.kdd[0], "driver_location": "12"}, *s.kdd[1:]]),
        JSON,
    ),
    "kdd location a dict": lambda s: (
        dumps([{**s.kdd[0], "order_start_location": {"1": 0, "2": 0}}, *s.kdd[1:]]),
        JSON,
    ),
    "arrow dictionary with a null entry": lambda s: (
        _arrow_with(
            s,
            lambda t, m: _set(
                t,
                "driver_cell",
                pa.DictionaryArray.from_arrays(
                    pa.array(np.zeros(t.num_rows, dtype=np.int32)), pa.array([None, "x"])
                ),
            ),
        ),
        ARROW,
    ),
    "arrow null grid id": lambda s: (
        _arrow_with(
            s,
            lambda t, m: _set(
                t, "dest_cell", pa.array([None, *t.column("dest_cell")[1:].to_pylist()])
            ),
        ),
        ARROW,
    ),
}


def test_arrow_grid_ids_dictionary_encoded_or_as_views(served: Served) -> None:
    """A client's own dictionary-encoded grid ids, or string views, read as plain strings."""
    from v1d3.service.wire import arrow_batch

    plain = arrow_batch(served.arrow, served.city)
    for recode in (lambda c: c.dictionary_encode(), lambda c: c.cast(pa.string_view())):
        body = _arrow_with(
            served, lambda t, m, r=recode: _set(t, "driver_cell", r(t.column("driver_cell")))
        )
        assert np.array_equal(arrow_batch(body, served.city).driver_cell, plain.driver_cell)


@pytest.mark.parametrize("case", sorted(FOUND))
def test_found_defects(served: Served, case: str) -> None:
    ready(served, pending=True)
    body, ctype = FOUND[case](served)
    send(served, "dispatch", body, ctype, must_refuse=True)


def test_arrow_overwritten_everywhere(served: Served) -> None:
    """Every 4-byte word of a valid stream set to zeros or ones, read by the wire alone: each
    one refused or read (a zeroed string offset once crashed pyarrow's reader: SystemError)."""
    from v1d3.service.wire import RequestError, arrow_batch

    valid = served.arrow
    for at in range(0, len(valid) - 4, 4):
        for word in (b"\x00" * 4, b"\xff" * 4):
            try:
                arrow_batch(valid[:at] + word + valid[at + 4 :], served.city)
            except RequestError:
                pass


def test_outcome_dt_beyond_float(served: Served) -> None:
    ready(served, pending=True)
    send(served, "outcome", dumps({**valid_outcome(served), "dt_s": 10**400}), must_refuse=True)


def test_an_outcome_without_dt_takes_it_from_the_clocks(served: Served, monkeypatch) -> None:
    import pickle

    ready(served, pending=True)
    doc = {k: v for k, v in valid_outcome(served).items() if k != "dt_s"}
    state = pickle.loads(pickle.dumps(served.service.state, protocol=5))  # the fixture's untouched
    seen: list[Any] = []
    monkeypatch.setattr(state.dispatch, "observe", seen.append)
    pending = state.pending
    for last, dt in ((None, None), (pending[0].t - 7.0, 7.0)):
        state.t_observed, state.pending = last, pending
        state._prepare_outcome(doc)()
        assert seen[-1].dt_s == dt


def test_a_round_failing_inside_the_policy_stops_further_changes(
    served: Served, tmp_path, monkeypatch
) -> None:
    import pickle

    from v1d3.service.journal import Journal

    ready(served, pending=True)
    state = pickle.loads(pickle.dumps(served.service.state, protocol=5))
    config = ServeConfig(state=str(tmp_path / "state"))
    service = DispatchService(config, state, Journal(tmp_path / "state"))
    try:

        def boom(batch: Any) -> Any:
            raise RuntimeError("the policy failed")

        monkeypatch.setattr(state.dispatch, "dispatch", boom)
        before, seq = state.digest(), service.journal.seq
        with pytest.raises(RuntimeError):  # Unavailable: restart, the journal rebuilds it
            service.handle("dispatch", JSON, dumps(served.columnar))
        assert service.broken is not None or state.digest() == before
        # it left no row in the journal: a restart rebuilds the state from before it
        assert service.journal.seq == seq and not list(service.journal.rows_after(seq))
        with pytest.raises(RuntimeError, match="restart"):
            service.handle("dispatch", JSON, dumps(served.columnar))
    finally:
        service.close()


def test_a_failed_commit_stops_further_changes(served: Served, tmp_path, monkeypatch) -> None:
    import pickle

    from v1d3.service.core import Unavailable
    from v1d3.service.journal import Journal

    ready(served, pending=True)
    state = pickle.loads(pickle.dumps(served.service.state, protocol=5))
    service = DispatchService(
        ServeConfig(state=str(tmp_path / "state")), state, Journal(tmp_path / "state")
    )
    try:

        def full(*_: Any) -> int:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(service.journal, "append", full)
        with pytest.raises(Unavailable, match="journal failed"):  # never acknowledged
            service.handle("dispatch", JSON, dumps(served.columnar))
        with pytest.raises(Unavailable, match="journal failed"):
            service.handle("dispatch", JSON, dumps(served.columnar))
    finally:
        service.close()


def test_an_overlong_content_type_is_refused_before_anything_is_journaled(served: Served) -> None:
    ready(served)
    doc = send(served, "day", json.dumps(DAY), "application/json;" + "x" * 300, must_refuse=True)
    assert "Content-Type" in doc["error"]
