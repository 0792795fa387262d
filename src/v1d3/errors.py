"""The package's exceptions: one base class, specific subclasses.

Every error a user can cause (a bad file, a bad parameter, an unknown name) is a
:class:`V1D3Error`; the CLI turns it into one line on stderr and exit code 2.
"""

from __future__ import annotations

__all__ = [
    "V1D3Error",
    "ConfigError",
    "DataError",
    "PolicyError",
    "CheckError",
    "ModelError",
    "first_line",
]


class V1D3Error(Exception):
    """Base class of every error V1D3 raises on purpose."""


class ConfigError(V1D3Error, ValueError):
    """A parameter or name is out of its allowed range (unknown scenario, negative drivers, ...)."""


class DataError(V1D3Error, ValueError):
    """An input file is unreadable or lacks what is needed (columns, types, coordinates)."""


class PolicyError(V1D3Error):
    """A policy broke the decision contract (not one-to-one, unknown pair, bad destination)."""


class CheckError(V1D3Error, AssertionError):
    """A finished run violates an invariant of the simulation (see :mod:`v1d3.sim.checker`)."""


class ModelError(V1D3Error):
    """A model file is missing, unreadable, or does not fit the scenario or method."""


def first_line(e: BaseException, after: str | None = None, typed: bool = False) -> str:
    """The first non-blank line of an exception's message (its type's name when it has none),
    for the one-line errors; ``after``: start reading after this marker when the message has it
    (torch puts the useful line below a paragraph of advice); ``typed``: as ``Type: line``, for
    exceptions from code that is not ours (an agent's, a worker's)."""
    text = str(e)
    if after is not None and after in text:
        text = text.split(after, 1)[1]
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return type(e).__name__
    return f"{type(e).__name__}: {lines[0]}" if typed else lines[0]
