"""The ``v1d3`` command line. Every user error becomes one line on stderr and exit code 2."""

from __future__ import annotations

import sys

import typer

from v1d3.cli import common
from v1d3.errors import V1D3Error

app = typer.Typer(
    name="v1d3",
    help="Ride-hailing dispatching and repositioning with one learned value function (V1D3).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    from v1d3.cli import simulate

    simulate.register(app)
    for module in ("evaluate", "train", "kdd"):
        try:
            mod = __import__(f"v1d3.cli.{module}", fromlist=["register"])
        except ModuleNotFoundError as e:
            if e.name != f"v1d3.cli.{module}":
                raise
            continue
        mod.register(app)


_register()


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except V1D3Error as e:
        common.err_console.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except FileNotFoundError as e:
        common.err_console.print(
            f"[bold red]error:[/] {e.filename}: file not found", highlight=False, soft_wrap=True
        )
        sys.exit(2)
    except KeyboardInterrupt:
        common.err_console.print("interrupted; nothing half-written was kept")
        sys.exit(130)


if __name__ == "__main__":
    main()
