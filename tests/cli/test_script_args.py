"""The scripts' argument parser: a bad command line is one line on stderr and exit code 2."""

from __future__ import annotations

import pytest

from v1d3.cli.script_args import ArgumentParser


def _parser() -> ArgumentParser:
    ap = ArgumentParser(prog="tool.py")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("study")
    return ap


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["runs", "--seeds", "x"], "argument --seeds: invalid int value: 'x'"),
        (["runs", "--bogus"], "unrecognized arguments: --bogus"),
        ([], "the following arguments are required: study"),
    ],
)
def test_usage_errors_are_one_line_exit_2(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as e:
        _parser().parse_args(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "usage:" not in err
    assert err.startswith("error: tool.py: ") and needle in err and "tool.py --help" in err


def test_good_command_lines_parse_as_with_argparse() -> None:
    args = _parser().parse_args(["runs", "--seeds", "5"])
    assert (args.study, args.seeds) == ("runs", 5)
