"""``v1d3 serve``: V1D3 as a live dispatch service (:mod:`v1d3.service`), on uvicorn."""

from __future__ import annotations

import gc

import typer

from v1d3.cli import common as c
from v1d3.errors import ConfigError
from v1d3.service.wire import read_token

__all__ = ["register"]


def _imports() -> None:
    missing = []
    for name in ("fastapi", "uvicorn", "prometheus_client", "orjson"):
        try:
            __import__(name)
        except ModuleNotFoundError:
            missing.append(name)
    if missing:
        raise ConfigError(f"v1d3 serve needs {', '.join(missing)}: pip install 'v1d3[service]'")


def serve(*, options: c.GivenOptions) -> None:
    """Serve one city's dispatch (and repositioning) decisions over HTTP, learning online from
    the rounds it serves; every change is journaled before it is acknowledged."""
    from v1d3.service.core import DispatchService, ServeConfig

    config = options.build(ServeConfig)
    _imports()
    token = read_token(config.token_file)
    import uvicorn

    from v1d3.service.app import create_app

    service = DispatchService.open(config)
    try:
        c.err_console.print(
            f"v1d3 serve: {config.city}, {config.dispatch} on http://{config.host}:{config.port} "
            f"(state {config.state}: {service.replayed} journal rows replayed"
            f"{', token required' if token else ''})",
            highlight=False,
            soft_wrap=True,
        )
        app = create_app(service, token)
        # the city, the models and the libraries live as long as the process: kept out of the
        # collector's scans, which otherwise cost decoding a KDD round 360 ms instead of 80
        gc.freeze()
        uvicorn.run(app, host=config.host, port=config.port, log_level="warning")
    finally:
        service.close()


def register(app: typer.Typer) -> None:
    from v1d3.service.core import ServeConfig

    app.command("serve")(c.options_of("options", ServeConfig)(serve))
