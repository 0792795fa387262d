"""The entry point's last-resort handling: a missing file, an OS error and Ctrl-C."""

from __future__ import annotations

import pytest

from cli_inprocess import run_v1d3


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            FileNotFoundError(2, "No such file or directory", "/data/[old]/trips.parquet"),
            "error: /data/[old]/trips.parquet: file not found\n",
        ),
        (
            PermissionError(13, "Permission denied", "/data/out/metrics.json"),
            "error: /data/out/metrics.json: Permission denied\n",
        ),
    ],
    ids=["missing-file", "os-error"],
)
def test_a_file_error_is_one_line_exit_2(
    error: OSError, line: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def app(**_: object) -> None:
        raise error

    monkeypatch.setattr("v1d3.cli.main.app", app)
    code, out, err = run_v1d3(monkeypatch, capsys, "simulate")
    assert code == 2 and out == ""
    assert err == line


@pytest.mark.parametrize("how", ["exit-code", "exception"])
def test_ctrl_c_says_so_and_exits_130(
    how: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def app(**_: object) -> int:
        if how == "exception":
            raise KeyboardInterrupt
        return 130  # what typer hands back for Ctrl-C outside standalone mode

    monkeypatch.setattr("v1d3.cli.main.app", app)
    code, _, err = run_v1d3(monkeypatch, capsys, "simulate")
    assert code == 130 and err == "interrupted; nothing half-written was kept\n"
