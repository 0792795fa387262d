"""A dispatch service on a free loopback port, in a thread of the test process."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def port() -> int:
    """A free loopback port."""
    return free_port()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """``serve(**config)`` → ``(url, service)``: a running service (stopped after the test)."""
    import uvicorn

    from v1d3.service.app import create_app
    from v1d3.service.core import DispatchService, ServeConfig

    running: list[tuple[Any, threading.Thread, Any]] = []

    def start(token: str | None = None, **config: Any) -> tuple[str, Any]:
        port = free_port()
        config.setdefault("state", str(tmp_path / f"state-{len(running)}"))
        service = DispatchService.open(ServeConfig(port=port, **config))
        app = create_app(service, token)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        running.append((server, thread, service))
        return f"http://127.0.0.1:{port}", service

    yield start
    for server, thread, service in running:
        server.should_exit = True
        thread.join(timeout=10)
        service.close()
