"""Output paths: a bad one is one line on stderr, exit code 2, before any work, nothing written;
replacing a folder deletes nothing but it, and a killed run's temporaries are cleaned up later.

:func:`v1d3.files.check_output_path` and the writers that call it (``atomic_dir``,
``atomic_write_text``, the checkpoint, grid, KDD orders and trajectory writers), and every command
that writes: ``simulate``, ``evaluate``, ``train``, ``convert-trips``, ``export-agent``,
``kdd-grid``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cli_inprocess import SMALL_RUN as SMALL
from cli_inprocess import assert_one_line_error, run_v1d3
from v1d3.errors import ConfigError
from v1d3.files import (
    TMP_PREFIX,
    atomic_dir,
    atomic_file,
    atomic_write_text,
    check_output_path,
    remove_stale,
    temp_prefix,
)


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` (hidden ones included) with its bytes (None for a folder)."""
    out: dict[str, bytes | None] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root)] = None
        for f in filenames:
            p = os.path.join(dirpath, f)
            out[os.path.relpath(p, root)] = Path(p).read_bytes()
    return out


def write_trips(path: Path) -> Path:
    """A tiny TLC yellow-taxi parquet file."""
    pick = ["2021-03-01T08:00:00", "2021-03-01T09:30:00"]
    drop = ["2021-03-01T08:20:00", "2021-03-01T09:45:30"]
    ts = pa.timestamp("us")
    table = pa.table(
        {
            "tpep_pickup_datetime": pa.array([np.datetime64(t, "us") for t in pick], type=ts),
            "tpep_dropoff_datetime": pa.array([np.datetime64(t, "us") for t in drop], type=ts),
            "PULocationID": pa.array([161, 74], type=pa.int64()),
            "DOLocationID": pa.array([236, 75], type=pa.int64()),
            "fare_amount": pa.array([12.5, 8.0]),
        }
    )
    pq.write_table(table, path)
    return path


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder (the current one) with a regular file ``F``, an unrelated non-empty folder ``D``
    and a trip file ``T.parquet``; ``..`` is an empty folder above it."""
    root = tmp_path / "work"
    root.mkdir()
    (root / "F").write_text("precious\n")
    (root / "D").mkdir()
    (root / "D" / "keep.txt").write_text("unrelated\n")
    write_trips(root / "T.parquet")
    monkeypatch.chdir(root)
    return root


BAD = [
    # 1. the output's parent is a file
    (["simulate", *SMALL, "--out", "F/run"], "out: {w}/F is a file, not a folder"),
    (["evaluate", *SMALL, "--dispatch", "nearest", "--baseline", "nearest/stay",
      "--workers", "1", "--out", "F/ev"], "out: {w}/F is a file, not a folder"),
    (["train", *SMALL, "--method", "tabular-td", "--days", "2", "--out", "F/m"],
     "out: {w}/F is a file, not a folder"),
    (["train", *SMALL, "--method", "cvnet", "--days", "2", "--out", "F"],
     "out: {w}/F is a file, not a folder"),
    (["convert-trips", "T.parquet", "F/x.parquet"], "out: {w}/F is a file, not a folder"),
    (["export-agent", "--scenario", "synthetic", "F/agent"],
     "out_dir: {w}/F is a file, not a folder"),
    (["kdd-grid", "--scenario", "synthetic", "F/g.csv"], "out: {w}/F is a file, not a folder"),
    (["kdd-grid", "--scenario", "synthetic", "--orders-out", "F/o.csv", "g.csv"],
     "orders_out: {w}/F is a file, not a folder"),
    # 2. an existing folder where a file is expected (and nothing written before failing)
    (["convert-trips", "T.parquet", "D"], "out: {w}/D is a folder, not a file"),
    (["kdd-grid", "--scenario", "synthetic", "D"], "out: {w}/D is a folder, not a file"),
    (["kdd-grid", "--scenario", "synthetic", "--orders-out", "D", "g.csv"],
     "orders_out: {w}/D is a folder, not a file"),
    (["kdd-grid", "--scenario", "synthetic", "--orders-out", "g.csv", "g.csv"],
     "orders_out: {w}/g.csv is also the grid table"),
    # 3. names that would replace the current folder or the one above it
    (["simulate", *SMALL, "--out", "."], "out: '{w}' names no new folder"),
    (["simulate", *SMALL, "--out", ".."], "out: '{w}/..' names no new folder"),
    (["export-agent", "--scenario", "synthetic", "."], "out_dir: '{w}' names no new folder"),
    (["export-agent", "--scenario", "synthetic", ".."], "out_dir: '{w}/..' names no new folder"),
    (["convert-trips", "T.parquet", "."], "out: '{w}' names no new file"),
    # 4. a regular file where a folder is expected; an unrelated non-empty folder
    (["simulate", *SMALL, "--out", "F"], "out: {w}/F is a file, not a folder"),
    (["export-agent", "--scenario", "synthetic", "F"], "out_dir: {w}/F is a file, not a folder"),
    (["simulate", *SMALL, "--out", "D"], "out: {w}/D is not empty and holds no config.json"),
    (["export-agent", "--scenario", "synthetic", "D"],
     "out_dir: {w}/D is not empty and holds no v1d3_agent.json"),
    # 5. the output is the input
    (["convert-trips", "T.parquet", "T.parquet"], "out: {w}/T.parquet is the input file"),
    (["convert-trips", "T.parquet", "./T.parquet"], "out: {w}/T.parquet is the input file"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "needle"), BAD, ids=[" ".join(a[:1] + a[-2:]) for a, _ in BAD])
def test_bad_output_path_is_one_line_exit_2_nothing_written(
    work: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    needle: str,
) -> None:
    before, above = snapshot(work), sorted(os.listdir(work.parent))
    code, _, err = run_v1d3(monkeypatch, capsys, *args)
    assert_one_line_error(code, err, needle.format(w=work))  # paths are made absolute first
    assert snapshot(work) == before  # F, D and T.parquet untouched, no temporary files
    assert sorted(os.listdir(work.parent)) == above


def test_replacing_a_run_folder_or_an_agent_folder_still_works(
    work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (work / "E").mkdir()  # an empty folder is fine too
    # a user's folder under the name the previous release moved the old run folder to
    (work / ".E.old").mkdir()
    (work / ".E.old" / "backup.txt").write_text("data\n")
    for _ in range(2):
        code, _, err = run_v1d3(monkeypatch, capsys, "simulate", *SMALL[:-1], "0.25", "--out", "E")
        assert code == 0, err
        assert json.loads((work / "E" / "config.json").read_text())["scenario"]
    for _ in range(2):
        code, _, err = run_v1d3(monkeypatch, capsys, "export-agent", "--scenario", "synthetic", "A")
        assert code == 0, err
        assert (work / "A" / "v1d3_agent.json").is_file()
    # a run folder is not an agent folder
    code, _, err = run_v1d3(monkeypatch, capsys, "export-agent", "--scenario", "synthetic", "E")
    assert code == 2 and "holds no v1d3_agent.json" in err
    assert (work / "E" / "config.json").is_file()
    assert sorted(p for p in os.listdir(work) if p.startswith(".")) == [".E.old"]
    assert (work / ".E.old" / "backup.txt").read_text() == "data\n"


# the helper and the writers ---------------------------------------------------------------------


def test_check_output_path(work: Path) -> None:
    assert check_output_path("new/sub", "folder") == Path("new/sub")
    assert check_output_path("D", "folder") == Path("D")  # no marker: contents not checked
    assert check_output_path("F", "file") == Path("F")
    assert check_output_path(".", "folder", replaces=False) == Path(".")
    (work / "R").mkdir()
    (work / "R" / "config.json").write_text("{}")
    assert check_output_path("R", "folder", marker="config.json") == Path("R")
    (work / "Empty").mkdir()
    assert check_output_path("Empty", "folder", marker="config.json") == Path("Empty")
    cases = [
        (("", "folder"), "out: '' names no new folder"),
        (("x/..", "folder"), "out: 'x/..' names no new folder"),
        (("F/a/b.csv", "file"), "out: F is a file, not a folder"),
        (("D", "file"), "out: D is a folder, not a file"),
        (("F", "folder"), "out: F is a file, not a folder"),
        (("D", "folder", "config.json", "runs"), "runs: D is not empty and holds no config.json"),
    ]
    for args, message in cases:
        with pytest.raises(ConfigError, match="^" + message.replace(".", r"\.")):
            check_output_path(*args)  # type: ignore[arg-type]
    assert not (work / "x").exists() and not (work / "new").exists()


# what check_output_path says of a bad output path, whichever writer calls it
BAD_PATH = "is a file, not a folder|is a folder, not a file|names no new|holds no"


def test_atomic_writers_refuse_bad_paths_and_leave_nothing(work: Path) -> None:
    before = snapshot(work)
    for target in ("F", "F/run", ".", ".."):
        with pytest.raises(ConfigError, match=BAD_PATH), atomic_dir(Path(target)) as tmp:
            (tmp / "x").write_text("x")
    with (
        pytest.raises(ConfigError, match=BAD_PATH),
        atomic_dir(Path("D"), marker="config.json") as tmp,
    ):
        (tmp / "x").write_text("x")
    for target in ("D", "F/x.json", "."):
        with pytest.raises(ConfigError, match=BAD_PATH):
            atomic_write_text(Path(target), "x")
    assert snapshot(work) == before
    with atomic_dir(Path("D")) as tmp:  # no marker: replaced, as before
        (tmp / "x").write_text("x")
    assert os.listdir(work / "D") == ["x"]
    atomic_write_text(Path("F"), "new\n")
    assert (work / "F").read_text() == "new\n"
    assert not [p for p in os.listdir(work) if p.startswith(".")]


def test_checkpoint_grid_and_orders_writers_refuse_bad_paths(work: Path) -> None:
    import torch

    from v1d3.demand.tlc import trips_to_events
    from v1d3.kddcup.grid import write_grid
    from v1d3.kddcup.kdd_source import write_kdd_orders
    from v1d3.value.checkpoint import save_checkpoint

    before = snapshot(work)
    for path in ("F/m.pt", "D"):
        with pytest.raises(ConfigError, match=BAD_PATH):
            save_checkpoint(Path(path), {"x": torch.zeros(1)}, {"method": "x"})
        with pytest.raises(ConfigError, match=BAD_PATH):
            write_grid(None, path)  # type: ignore[arg-type]  # fails before reading the city
        with pytest.raises(ConfigError, match=BAD_PATH):
            write_kdd_orders(path, None, 0.0)  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match=BAD_PATH):
            trips_to_events("T.parquet", path)
    with pytest.raises(ConfigError, match="is the input file"):
        trips_to_events(work / "T.parquet", "T.parquet")
    assert snapshot(work) == before


def test_replacing_a_symbolic_link_leaves_no_old_link(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    link = tmp_path / "link"
    link.symlink_to(run)
    with atomic_dir(link, marker="config.json") as tmp:
        (tmp / "config.json").write_text('{"new": 1}')
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "run"]
    assert (link / "config.json").read_text() == '{"new": 1}'
    assert (run / "config.json").read_text() == "{}"  # what the link pointed to is left alone


# replacing: nothing but the replaced folder is deleted ------------------------------------------


def test_atomic_dir_deletes_no_folder_beside_the_target(tmp_path: Path) -> None:
    names = [".run.old", ".run.old.tmp", ".run.abcdefgh", f"{TMP_PREFIX}notours"]
    for name in names:  # a user's folders, some under names the writers use or used
        (tmp_path / name).mkdir()
        (tmp_path / name / "backup.txt").write_text(name)
    for i in range(3):
        with atomic_dir(tmp_path / "run", marker="config.json") as tmp:
            (tmp / "config.json").write_text(str(i))
    assert sorted(os.listdir(tmp_path)) == sorted([*names, "run"])
    assert all((tmp_path / n / "backup.txt").read_text() == n for n in names)
    assert (tmp_path / "run" / "config.json").read_text() == "2"


def test_a_failed_rename_puts_the_previous_folder_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("old")
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        if Path(src).name.startswith(TMP_PREFIX) and Path(dst) == run:  # the new folder's rename
            raise OSError(28, "No space left on device", str(dst))
        real(src, dst)

    monkeypatch.setattr("v1d3.files.os.replace", replace)
    with pytest.raises(ConfigError, match=f"^out: cannot write {run} \\(No space left"):
        with atomic_dir(run, marker="config.json") as tmp:
            (tmp / "config.json").write_text("new")
    assert os.listdir(tmp_path) == ["run"] and (run / "config.json").read_text() == "old"


def test_a_folder_made_during_the_run_is_not_replaced(tmp_path: Path) -> None:
    run = tmp_path / "run"
    with pytest.raises(ConfigError, match="holds no config.json"):
        with atomic_dir(run, marker="config.json") as tmp:
            (tmp / "config.json").write_text("new")
            run.mkdir()  # some other program writes there meanwhile
            (run / "theirs.txt").write_text("theirs")
    assert os.listdir(tmp_path) == ["run"] and os.listdir(run) == ["theirs.txt"]


# an output folder that takes no files: found before any work -----------------------------------

UNWRITABLE = [p for p in ("/sys/v1d3", "/proc/v1d3") if os.path.isdir(os.path.dirname(p))]
COMMANDS = [
    ["simulate", *SMALL, "--out", "{}"],
    ["evaluate", *SMALL, "--dispatch", "nearest", "--baseline", "nearest/stay", "--out", "{}"],
    ["train", *SMALL, "--method", "tabular-td", "--days", "1", "--out", "{}"],
    ["convert-trips", "T.parquet", "{}/x.parquet"],
    ["export-agent", "--scenario", "synthetic", "{}"],
    ["kdd-grid", "--scenario", "synthetic", "{}/g.csv"],
]


@pytest.mark.skipif(not UNWRITABLE, reason="no /sys or /proc here")
@pytest.mark.parametrize("where", UNWRITABLE)
@pytest.mark.parametrize("args", COMMANDS, ids=[a[0] for a in COMMANDS])
def test_an_output_folder_that_takes_no_files_fails_before_any_work(
    work: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    where: str,
    args: list[str],
) -> None:
    def no_work(*_: Any, **__: Any) -> None:
        raise AssertionError("work started")

    # where simulate's and evaluate's runs start
    monkeypatch.setattr("v1d3.cli.simulate.run_simulation", no_work)
    monkeypatch.setattr("v1d3.eval.evaluate.make_executor", no_work)
    code, _, err = run_v1d3(monkeypatch, capsys, *(a.format(where) for a in args))
    line = assert_one_line_error(code, err, f"cannot write {where}")
    assert f"{os.path.dirname(where)} takes no new files" in line


def test_an_os_error_while_writing_is_one_line_and_leaves_nothing(
    work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(self: Any, folder: Path) -> None:
        raise OSError(28, "No space left on device", str(Path(folder) / "events.parquet"))

    monkeypatch.setattr("v1d3.sim.log.RunLog.write", full)
    before = snapshot(work)
    code, _, err = run_v1d3(monkeypatch, capsys, "simulate", *SMALL, "--out", "run")
    line = assert_one_line_error(code, err, "out: cannot write ")
    assert line.endswith("run (No space left on device)")
    assert snapshot(work) == before
    with pytest.raises(ConfigError, match="^out: cannot write .*No space left"):
        with atomic_file(work / "x.json") as tmp:
            raise OSError(28, "No space left on device", str(tmp))
    with pytest.raises(FileNotFoundError):  # an input that cannot be read stays what it is
        with atomic_file(work / "x.json"):
            (work / "missing.csv").read_text()
    assert snapshot(work) == before


# temporaries a killed run left: removed by the next check in that folder, only ours -------------


def _dead_pid() -> int:
    """The id of a process that has just ended (not running any more)."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.skipif(os.name != "posix", reason="process ids are checked on POSIX")
def test_stale_temporaries_of_ours_are_removed_and_nothing_else(tmp_path: Path) -> None:
    dead = _dead_pid()
    mine = temp_prefix("run")
    stale_dir = mine.replace(f"{os.getpid()}.", f"{dead}.", 1) + "abcdefgh"
    stale_file = mine.replace(f"{os.getpid()}.", f"{dead}.", 1) + "tmp"
    kept = [
        mine + "ijklmnop",  # this process's own: in use
        mine.replace(f"{os.getpid()}.", f"{os.getppid()}.", 1) + "qrstuvwx",  # a live process's
        f"{TMP_PREFIX}{dead}.0123abcd-run.abcdefgh",  # another machine's
        ".run.old",  # a user's
        f"{TMP_PREFIX}x",
        "run",
    ]
    for name in (stale_dir, *kept):
        (tmp_path / name).mkdir()
        (tmp_path / name / "f.txt").write_text("x")
    (tmp_path / stale_file).write_text("half a file")
    young = mine.replace(f"{os.getpid()}.", f"{dead}.", 1) + "young"
    (tmp_path / young).mkdir()  # made after this process started: not stale yet
    for name in os.listdir(tmp_path):
        if name != young:
            os.utime(tmp_path / name, (1, 1))
    (tmp_path / "run" / "config.json").write_text("{}")
    check_output_path(tmp_path / "run", "folder", marker="config.json")
    assert sorted(os.listdir(tmp_path)) == sorted([*kept, young])
    assert remove_stale(tmp_path) == 0


@pytest.mark.skipif(os.name != "posix", reason="process ids are checked on POSIX")
def test_a_run_folder_moved_aside_by_a_killed_run_is_put_back(tmp_path: Path) -> None:
    """Killed between moving the previous run folder aside and putting the new one in place:
    the next run puts the previous one back; killed after, the aside copy is removed."""
    dead = _dead_pid()
    for name, landed in (("a", False), ("b", True)):
        aside = tmp_path / (
            temp_prefix(f"{name}.old").replace(f"{os.getpid()}.", f"{dead}.", 1) + "x1"
        )
        (aside / name).mkdir(parents=True)
        (aside / name / "config.json").write_text("old")
        if landed:
            (tmp_path / name).mkdir()
            (tmp_path / name / "config.json").write_text("new")
        os.utime(aside, (1, 1))
    assert remove_stale(tmp_path) == 2
    assert sorted(os.listdir(tmp_path)) == ["a", "b"]
    assert (tmp_path / "a" / "config.json").read_text() == "old"
    assert (tmp_path / "b" / "config.json").read_text() == "new"


def test_a_signal_during_the_swap_waits_for_its_end() -> None:
    import signal
    import threading

    from v1d3.files import _signals_held

    got: list[int] = []

    def handler(signum: int, frame: Any) -> None:
        got.append(signum)

    before = signal.signal(signal.SIGTERM, handler)
    busy = threading.Event()
    other = threading.Thread(target=busy.wait, daemon=True)  # a process with other threads
    other.start()
    try:
        with _signals_held():
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(100):  # time for the handler to run, were it not held
                sum(range(1000))
            assert got == []
        assert got == [signal.SIGTERM]
        assert signal.getsignal(signal.SIGTERM) is handler  # put back
    finally:
        signal.signal(signal.SIGTERM, before)
        busy.set()
