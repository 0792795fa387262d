"""The ``remote`` dispatch policy: decisions from a running ``v1d3 serve`` (the registry's
factory; the client itself is :class:`v1d3.service.client.RemoteDispatch`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from v1d3.errors import ConfigError
from v1d3.service.client import RemoteDispatch
from v1d3.service.wire import read_token

__all__ = ["make_remote"]


def make_remote(
    models: Path | None = None,
    scenario: Any = None,
    dispatch: Any = None,
    url: str | None = None,
    token_file: str | None = None,
) -> RemoteDispatch:
    """Dispatch by a running dispatch service (url=http://HOST:PORT; token_file=FILE when it
    wants a token; or: v1d3 simulate --dispatch-url URL)."""
    if url is None:
        raise ConfigError("dispatch policy remote needs url=http://HOST:PORT")
    return RemoteDispatch(url, read_token(token_file))
