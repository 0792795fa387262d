"""The dispatch service: the same numbers as in-process ``v1d3``, a state that survives kill -9
bit for bit, one writer per folder, a token, a body limit."""

from __future__ import annotations

import dataclasses
import http.client
import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from v1d3.demand.config import ScenarioConfig
from v1d3.errors import ConfigError
from v1d3.eval.config import RunConfig
from v1d3.eval.run import run_simulation
from v1d3.service.client import RemoteDispatch
from v1d3.service.core import DispatchService, ServeConfig

DAY = RunConfig(
    scenario=ScenarioConfig(name="manhattan", start_hour=8.0, hours=0.05), dispatch="v1d3", seed=5
)
"""Three Manhattan minutes at the real volume: about 90 rounds."""
TIMING = ("dispatch_round_ms_p50", "dispatch_round_ms_p99", "wall_s")


def _get(url: str, path: str, token: str | None = None) -> tuple[int, Any]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
    r = conn.getresponse()
    return r.status, json.loads(r.read())


def _post(url: str, path: str, body: bytes, ctype: str = "application/json") -> tuple[int, Any]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("POST", path, body=body, headers={"Content-Type": ctype})
    r = conn.getresponse()
    return r.status, json.loads(r.read())


class Recorder(RemoteDispatch):
    """The client, keeping every request it sent and the answer it got."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.sent: list[tuple[str, bytes, str, Any]] = []

    def _post(self, path: str, body: bytes, ctype: str = "application/json") -> Any:
        answer = super()._post(path, body, ctype)
        self.sent.append((path, body, ctype, answer))
        return answer


def _remote_run(url: str, client: RemoteDispatch | None = None) -> Any:
    from v1d3.policies import make_reposition

    policy = client or RemoteDispatch(url)
    cfg = dataclasses.replace(DAY, dispatch="remote", dispatch_params={"url": url})
    return run_simulation(cfg, dispatch=policy, reposition=make_reposition("stay"))


@pytest.fixture(scope="module")
def local() -> dict[str, Any]:
    return run_simulation(DAY).metrics


def test_the_service_decides_as_the_in_process_policy(serve, local) -> None:
    url, service = serve()
    remote = _remote_run(url).metrics
    assert remote["completed"] > 100
    for k, v in local.items():
        if k not in TIMING:
            assert remote[k] == v, k
    status, state = _get(url, "/v1/state")
    assert status == 200 and state["rounds"] == service.state.rounds > 50


def test_a_restart_replays_the_journal_to_the_same_state(serve, tmp_path: Path) -> None:
    url, service = serve(state=str(tmp_path / "s"), snapshot_every=25)
    _remote_run(url)
    digest, seq = service.state.digest(), service.journal.seq
    service.close()
    again = DispatchService.open(ServeConfig(state=str(tmp_path / "s"), snapshot_every=25))
    try:
        assert again.state.digest() == digest and again.journal.seq == seq
        assert 0 < again.replayed < 25  # from the last snapshot on
    finally:
        again.close()


def test_one_writer_per_state_folder(serve, tmp_path: Path) -> None:
    serve(state=str(tmp_path / "s"))
    with pytest.raises(ConfigError, match="in use by another v1d3 serve"):
        DispatchService.open(ServeConfig(state=str(tmp_path / "s")))


def test_token_and_body_limit(serve) -> None:
    url, _ = serve(token="s3cret-token-0123456789", max_body_mb=0.001)
    host, port = url.removeprefix("http://").split(":")
    assert _get(url, "/healthz") == (200, {"ok": True})
    status, doc = _get(url, "/v1/state")
    assert status == 401 and "bearer token" in doc["error"]
    assert _get(url, "/v1/state", "wrong-token-0123456789")[0] == 401
    assert _get(url, "/v1/state", "s3cret-token-0123456789")[0] == 200
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    headers = {"Authorization": "Bearer s3cret-token-0123456789"}
    conn.request("POST", "/v1/dispatch", body=b"[" + b"1," * 2000 + b"1]", headers=headers)
    r = conn.getresponse()
    assert r.status == 413 and "MiB" in json.loads(r.read())["error"]


def test_refused_requests_change_nothing(serve) -> None:
    url, service = serve()
    before = service.state.digest()
    for path, body in [
        ("/v1/dispatch", b'{"t": 1, "weekday": 2, "pairs": {}, "orders": {}}'),  # no day yet
        ("/v1/day", b'{"weekday": 9, "start_s": 0, "end_s": 10}'),
        ("/v1/day", b"{not json"),
        ("/v1/outcome", b"{}"),
    ]:
        status, doc = _post(url, path, body)
        assert 400 <= status < 500 and "\n" not in doc["error"], (path, doc)
    assert service.state.digest() == before and service.journal.seq == 0


def _start(state: Path, port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "v1d3.cli.main", "serve", "--state", str(state)]
    cmd += ["--port", str(port), "--snapshot-every", "20"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if _get(f"http://127.0.0.1:{port}", "/healthz")[0] == 200:
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("the service did not start")


def test_kill_9_at_random_points_loses_nothing_acknowledged(serve, port, tmp_path: Path) -> None:
    """A fixed sequence of requests, recorded from an uninterrupted service; replayed to a
    service killed with SIGKILL at random points (between requests and in the middle of
    one) and restarted: every answer and the final state are the uninterrupted run's."""
    url, reference = serve()
    recorder = Recorder(url)
    _remote_run(url, recorder)
    sequence, final = recorder.sent, reference.state.digest()
    rng = random.Random(11)
    kills = sorted(rng.sample(range(1, len(sequence) - 1), 3))
    state = tmp_path / "crashing"
    proc = _start(state, port)
    target = f"http://127.0.0.1:{port}"
    i = 0
    try:
        while i < len(sequence):
            path, body, ctype, answer = sequence[i]
            if kills and i == kills[0]:
                kills.pop(0)
                host_conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                if rng.random() < 0.5:  # mid-request: sent, killed before the answer is read
                    host_conn.request("POST", path, body=body, headers={"Content-Type": ctype})
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                proc = _start(state, port)
                committed = _get(target, "/v1/state")[1]["journal_seq"]
                assert committed in (i, i + 1)  # nothing acknowledged lost, nothing twice
                i = committed
                continue
            status, got = _post(target, path, body, ctype)
            assert status == 200 and got == answer, (i, path)
            i += 1
        assert _get(target, "/v1/state")[1]["digest"] == final
    finally:
        proc.kill()
        proc.wait()
    assert list((state / "snapshots").glob(".*.tmp")) == []  # no temporary left behind


def test_a_kdd_client_values_repositioning_and_metrics(serve) -> None:
    """A platform speaking the KDD format: its first round begins the day, rounds without an
    outcome are learned from as served; /v1/values, /v1/reposition and /metrics answer."""
    from v1d3.kddcup.export import scenario_utc_offset
    from v1d3.kddcup.observation import dispatch_observation, split_timestamp
    from v1d3.service.app import METRIC_NAMES
    from v1d3.service.wire import arrow_batch

    url, service = serve()
    recorder = Recorder(url)
    _remote_run(url, recorder)
    city = service.state.city
    epoch, _ = split_timestamp(1_700_000_000, scenario_utc_offset(DAY.scenario))
    rounds = [s for s in recorder.sent if s[0] == "/v1/dispatch"][:5]
    for _, body, _, _ in rounds:
        observ = dispatch_observation(arrow_batch(body, city), epoch)
        status, answer = _post(url, "/v1/dispatch", json.dumps(observ).encode())
        assert status == 200 and isinstance(answer, list)
        assert all(set(a) == {"order_id", "driver_id"} for a in answer)
    assert service.state.day is not None and service.state.day.epoch_s == epoch
    label = city.labels[0]
    status, values = _get(url, f"/v1/values?cell={label}&cell={city.labels[1]}&t=30000")
    assert status == 200 and len(values["value"]) == 2
    repo = {"timestamp": int(epoch + 30000), "day_of_week": service.state.day.weekday,
            "driver_info": [{"driver_id": 1, "grid_id": label}]}  # fmt: skip
    status, moves = _post(url, "/v1/reposition", json.dumps(repo).encode())
    assert status == 200 and moves[0]["driver_id"] == 1 and moves[0]["destination"] in city.labels
    cols = {"t": 30000.0, "weekday": service.state.day.weekday, "driver": [4, 5],
            "cell": [label, label]}  # fmt: skip
    status, moves = _post(url, "/v1/reposition", json.dumps(cols).encode())
    assert status == 200 and moves["driver"] == [4, 5] and len(moves["destination"]) == 2
    bad = dict(cols, driver=[4, 4])
    assert _post(url, "/v1/reposition", json.dumps(bad).encode())[0] == 422
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    for name in METRIC_NAMES:
        assert name in text, name


def test_a_state_folder_that_cannot_be_restored_is_refused(serve, tmp_path: Path) -> None:
    """Missing snapshots, another policy or city than the folder's, a damaged journal: one
    line, never a state rebuilt half or from the wrong model; a failed snapshot never fails
    the request it follows (that one is durable already)."""
    folder = tmp_path / "s"
    url, service = serve(state=str(folder), snapshot_every=3)
    _remote_run(url)
    service.close()
    with pytest.raises(ConfigError, match="dispatch 'v1d3', not 'distance'"):
        DispatchService.open(ServeConfig(state=str(folder), dispatch="distance"))
    lost = tmp_path / "lost"  # the journal files and the identity gone, the snapshots kept
    shutil.copytree(folder, lost, ignore=shutil.ignore_patterns("*.log", "identity.json"))
    with pytest.raises(ConfigError, match="the journal ends at row 0, before the snapshot"):
        DispatchService.open(ServeConfig(state=str(lost)))
    for snap in (folder / "snapshots").glob("*.pkl"):
        snap.unlink()
    with pytest.raises(ConfigError, match="snapshot files are missing or damaged"):
        DispatchService.open(ServeConfig(state=str(folder)))
    for log in (folder / "journal").glob("*.log"):
        log.write_bytes(b"not a journal at all" * 100)
    with pytest.raises(ConfigError, match="damaged at byte 0"):
        DispatchService.open(ServeConfig(state=str(folder)))


def test_a_failed_snapshot_still_answers(serve, tmp_path: Path, monkeypatch) -> None:
    url, service = serve(state=str(tmp_path / "s"), snapshot_every=1)

    def full(*_: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(service.journal, "save_snapshot", full)
    day = {"weekday": 2, "start_s": 28800.0, "end_s": 30000.0}
    for _ in range(2):
        status, _doc = _post(url, "/v1/day", json.dumps(day).encode())
        assert status == 200
    assert service.journal.seq == 2 and "No space" in (service.snapshot_error or "")


def test_value_repositioning_beside_a_remote_dispatch_is_refused() -> None:
    """Its values live in the service: reading the offline ones here in their place would be a
    silent other policy."""
    from v1d3.policies import make_reposition

    remote = RemoteDispatch("http://127.0.0.1:9")  # never contacted
    with pytest.raises(ConfigError, match="the service's, not this process's"):
        make_reposition("value", dispatch=remote, scenario=DAY.scenario)
