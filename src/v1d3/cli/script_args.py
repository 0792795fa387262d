"""Command-line parsing for the scripts in ``scripts/`` and ``bench/``, with the project's rule
for bad input: one line on stderr and exit code 2 (argparse prints its usage block first).
``scripts/build_data.py`` builds the package's data without importing the package, so it keeps
plain argparse."""

from __future__ import annotations

import argparse
from typing import NoReturn

__all__ = ["ArgumentParser"]


class ArgumentParser(argparse.ArgumentParser):
    """:class:`argparse.ArgumentParser` whose usage errors are one line that names the script
    and points at its ``--help``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")
