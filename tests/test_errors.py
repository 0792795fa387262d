"""first_line: the one line of an exception that the one-line errors show."""

from __future__ import annotations

import pytest

from v1d3.errors import first_line


@pytest.mark.parametrize(
    ("e", "kwargs", "line"),
    [
        (ValueError("\n  bad value  \nmore detail"), {}, "bad value"),
        (ValueError(""), {}, "ValueError"),
        (ValueError(""), {"typed": True}, "ValueError"),
        (KeyError("x"), {"typed": True}, "KeyError: 'x'"),
        (RuntimeError("advice\nmore advice\nERR:\n the cause"), {"after": "ERR:"}, "the cause"),
        (RuntimeError("no marker here"), {"after": "ERR:"}, "no marker here"),
    ],
)
def test_first_line(e: BaseException, kwargs: dict, line: str) -> None:
    assert first_line(e, **kwargs) == line
