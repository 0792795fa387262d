"""The ``v1d3`` command line. Every user error becomes one line on stderr and exit code 2."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import typer

from v1d3.cli import common
from v1d3.cli.paths import absolute_paths
from v1d3.errors import V1D3Error, first_line

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
    for module in ("evaluate", "train", "kdd", "serve"):
        try:
            mod = __import__(f"v1d3.cli.{module}", fromlist=["register"])
        except ModuleNotFoundError as e:
            if e.name != f"v1d3.cli.{module}":
                raise
            continue
        mod.register(app)
    # every command gets its paths absolute, so a later change of folder cannot move them
    for info in app.registered_commands:
        if info.callback is not None:
            info.callback = absolute_paths(info.callback)


_register()

# click's UsageError (unknown command or option, malformed or missing value): found through
# the public typer.BadParameter, as typer releases differ in where click's classes live
_UsageError: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError"
)


class Terminated(BaseException):
    """SIGTERM, raised in the main thread as Ctrl-C's KeyboardInterrupt is: every writer's
    with-block removes its temporary on the way out, so nothing half-written is kept. Not an
    Exception, so no handler meant for errors (a contained agent fault, a retried run) takes it."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """SIGTERM raises :class:`Terminated` in the block (from the main thread only; elsewhere
    the signal keeps its handler)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def main() -> None:
    """Console-script entry point."""
    with _sigterm_raises():
        _main()


def _main() -> None:
    try:
        code = app(standalone_mode=False)
    except _UsageError as e:
        usage: Any = e  # click's UsageError: format_message(), ctx
        if type(e).__name__ == "NoArgsIsHelpError":  # bare ``v1d3``: its help, as asked
            print(usage.format_message())
            sys.exit(2)
        path = usage.ctx.command_path if usage.ctx is not None else "v1d3"
        message = " ".join(usage.format_message().split())
        common.print_error(f"{path}: {message} (see {path} --help)")
        sys.exit(2)
    except typer.Abort:  # end of input at a prompt
        common.err_console.print("aborted; nothing half-written was kept")
        sys.exit(1)
    except V1D3Error as e:
        common.print_error(str(e))
        sys.exit(2)
    except FileNotFoundError as e:
        common.print_error(f"{e.filename}: file not found")
        sys.exit(2)
    except OSError as e:  # a path the system refuses (the writers name theirs: V1D3Error)
        where = f"{e.filename}: " if e.filename is not None else ""
        common.print_error(f"{where}{e.strerror or first_line(e)}")
        sys.exit(2)
    except KeyboardInterrupt:
        code = 130
    except Terminated:
        common.err_console.print("terminated; nothing half-written was kept")
        sys.exit(143)
    # without click's standalone mode, ``typer.Exit(n)`` and ``--help`` come back as a code
    # (typer turns Ctrl-C into Exit(130))
    if code == 130:
        common.err_console.print("interrupted; nothing half-written was kept")
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
