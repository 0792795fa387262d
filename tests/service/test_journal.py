"""The service's journal file on its own: rows back as written, a torn last write cut off, any
other damage refused in one line, snapshots rotating the files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from v1d3.errors import ConfigError
from v1d3.service.journal import LOG_DIR, Journal

ROWS = [
    ("day", "application/json", b'{"weekday": 2}'),
    ("dispatch", "application/vnd.apache.arrow.stream", bytes(range(256)) * 40),
    ("outcome", "application/json", b""),
    ("reposition", "application/json", b'{"t": 1}'),
]


def _filled(folder: Path, rows: list[tuple[str, str, bytes]] = ROWS) -> None:
    j = Journal(folder)
    try:
        for row in rows:
            j.append(*row)
    finally:
        j.close()


def _only_log(folder: Path) -> Path:
    (path,) = (folder / LOG_DIR).glob("*.log")
    return path


def test_rows_come_back_as_written_after_a_reopen(tmp_path: Path) -> None:
    _filled(tmp_path)
    j = Journal(tmp_path)
    try:
        assert j.seq == 4 and j.first_seq() == 1 and not j.has_snapshots()
        assert [r[1:] for r in j.rows_after(0)] == ROWS
        assert [r[0] for r in j.rows_after(2)] == [3, 4]
        assert j.append("day", "application/json", b"{}") == 5
    finally:
        j.close()


@pytest.mark.parametrize("cut", [1, 10, 30, 200])
def test_a_torn_last_row_is_cut_off_and_the_rest_kept(tmp_path: Path, cut: int) -> None:
    """A crash mid-write leaves part of the last row (never acknowledged: append had not
    returned); the rows before it stay, and the next row is written where it began."""
    three, tmp_path = tmp_path / "three", tmp_path / "four"
    _filled(three, ROWS[:3])
    _filled(tmp_path)
    path = _only_log(tmp_path)
    whole = path.stat().st_size
    last = whole - _only_log(three).stat().st_size
    with open(path, "r+b") as fh:
        fh.truncate(whole - min(cut, last - 1))
    j = Journal(tmp_path)
    try:
        assert j.seq == 3 and [r[0] for r in j.rows_after(0)] == [1, 2, 3]
        assert path.stat().st_size == whole - last
        j.append(*ROWS[-1])
    finally:
        j.close()
    assert path.stat().st_size == whole


def test_zeros_or_a_bad_crc_at_the_end_are_a_torn_write(tmp_path: Path) -> None:
    _filled(tmp_path)
    path = _only_log(tmp_path)
    with open(path, "ab") as fh:
        fh.write(b"\0" * 5000)  # a file system that grew the file before the data landed
    j = Journal(tmp_path)
    assert j.seq == 4
    j.close()
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0xFF  # the last row's body, its CRC no longer checks
    path.write_bytes(bytes(raw))
    j = Journal(tmp_path)
    assert j.seq == 3
    j.close()


def test_damage_before_the_last_row_is_refused(tmp_path: Path) -> None:
    _filled(tmp_path)
    path = _only_log(tmp_path)
    raw = bytearray(path.read_bytes())
    raw[40] ^= 0xFF  # inside the first row
    path.write_bytes(bytes(raw))
    with pytest.raises(ConfigError, match=r"000000000001\.log: damaged at byte 0 \(CRC"):
        Journal(tmp_path)


def test_a_missing_file_of_rows_is_refused(tmp_path: Path) -> None:
    j = Journal(tmp_path)
    for row in ROWS:
        j.append(*row)
    j.save_snapshot(4, b"state after 4")
    j.append(*ROWS[0])
    j.save_snapshot(5, b"state after 5")
    j.append(*ROWS[1])
    j.close()
    names = sorted(p.name for p in (tmp_path / LOG_DIR).iterdir())
    assert names == ["000000000006.log"]  # the rows the snapshots cover are gone
    assert sorted(p.name for p in (tmp_path / "snapshots").iterdir()) == ["000000000005.pkl"]
    (tmp_path / LOG_DIR / "000000000009.log").touch()  # rows 7 and 8 would be missing
    with pytest.raises(ConfigError, match=r"rows 7\.\.8 are missing"):
        Journal(tmp_path)


def test_a_snapshot_rotates_the_file_and_is_found_again(tmp_path: Path) -> None:
    j = Journal(tmp_path)
    try:
        for row in ROWS:
            j.append(*row)
        j.save_snapshot(4, b"state after 4")
        assert j.first_seq() == 5 and j.has_snapshots() and list(j.rows_after(4)) == []
        assert j.append(*ROWS[0]) == 5
        assert j.latest_snapshot() == (4, b"state after 4")
        with pytest.raises(RuntimeError, match="of the last row"):
            j.save_snapshot(4, b"stale")
    finally:
        j.close()
    snap = tmp_path / "snapshots" / "000000000004.pkl"
    snap.write_bytes(snap.read_bytes()[:-1] + b"X")  # its digest no longer checks
    j = Journal(tmp_path)
    try:
        assert j.seq == 5 and j.latest_snapshot() is None and j.has_snapshots()
    finally:
        j.close()


def test_withdraw_takes_back_the_last_row_only(tmp_path: Path) -> None:
    j = Journal(tmp_path)
    try:
        j.append(*ROWS[0])
        size = _only_log(tmp_path).stat().st_size
        seq = j.append(*ROWS[1])
        with pytest.raises(RuntimeError, match="only the last row"):
            j.withdraw(seq - 1)
        j.withdraw(seq)
        assert j.seq == 1 and _only_log(tmp_path).stat().st_size == size
        assert j.append(*ROWS[2]) == 2
    finally:
        j.close()
    j = Journal(tmp_path)
    try:
        assert [r[1:] for r in j.rows_after(0)] == [ROWS[0], ROWS[2]]
    finally:
        j.close()


def test_a_folder_of_an_earlier_sqlite_journal_or_a_stray_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "journal.sqlite3").write_bytes(b"SQLite format 3\0")
    with pytest.raises(ConfigError, match="earlier v1d3 serve"):
        Journal(tmp_path / "a")
    _filled(tmp_path / "b")
    (tmp_path / "b" / LOG_DIR / "notes.txt").write_text("hi")
    with pytest.raises(ConfigError, match="not a journal file"):
        Journal(tmp_path / "b")
    (tmp_path / "a" / "journal.sqlite3").unlink()
    (tmp_path / "b" / LOG_DIR / "notes.txt").unlink()
    for folder in ("a", "b"):  # the lock was let go after the refusal
        Journal(tmp_path / folder).close()


@pytest.mark.parametrize("byte", [12, 20, 24])  # the row number, content-type and body length
def test_a_damaged_header_is_refused_not_taken_for_a_torn_write(tmp_path: Path, byte: int) -> None:
    """A flipped bit in a middle row's length would otherwise read as a row cut short, and
    cutting there would drop the acknowledged rows after it."""
    _filled(tmp_path / "one", ROWS[:1])
    start = _only_log(tmp_path / "one").stat().st_size  # where row 2 begins
    tmp_path = tmp_path / "all"
    _filled(tmp_path)
    path = _only_log(tmp_path)
    raw = bytearray(path.read_bytes())
    raw[start + byte] ^= 0x40
    path.write_bytes(bytes(raw))
    with pytest.raises(ConfigError, match="header CRC does not check"):
        Journal(tmp_path)
    assert path.stat().st_size == len(raw)  # nothing cut


def test_journal_files_lost_behind_an_identity_or_a_snapshot_are_refused(tmp_path: Path) -> None:
    j = Journal(tmp_path)
    j.check_identity({"city": "manhattan"})
    for row in ROWS:
        j.append(*row)
    j.save_snapshot(4, b"state after 4")
    j.close()
    for p in (tmp_path / LOG_DIR).iterdir():
        p.unlink()
    with pytest.raises(ConfigError, match="journal files are gone"):
        Journal(tmp_path)
    (tmp_path / "identity.json").unlink()  # and without it: the snapshot still says so
    j = Journal(tmp_path)
    try:
        assert j.has_snapshots() and j.seq == 0  # core refuses: the journal ends before row 4
    finally:
        j.close()


def test_a_failed_rotation_leaves_the_rows_in_the_old_file(tmp_path: Path, monkeypatch) -> None:
    from v1d3.service import journal

    j = Journal(tmp_path)
    j.append(*ROWS[0])
    calls = []

    def failing(folder: Path) -> None:
        calls.append(folder)
        if folder.name == LOG_DIR:
            raise OSError(5, "Input/output error")

    monkeypatch.setattr(journal, "_fsync_dir", failing)
    with pytest.raises(OSError, match="Input/output"):
        j.save_snapshot(1, b"state after 1")
    monkeypatch.undo()
    assert [p.name for p in (tmp_path / LOG_DIR).iterdir()] == ["000000000001.log"]
    j.append(*ROWS[1])
    j.close()
    j = Journal(tmp_path)  # opens: no empty file after the one the rows went on into
    try:
        assert j.seq == 2 and j.latest_snapshot() == (1, b"state after 1")
    finally:
        j.close()


def test_a_row_that_fails_while_written_leaves_nothing_to_replay(tmp_path, monkeypatch) -> None:
    j = Journal(tmp_path)
    j.append(*ROWS[0])
    size = _only_log(tmp_path).stat().st_size
    real = os.fsync
    state = {"fail": True}

    def fsync(fd: int) -> None:
        if state.pop("fail", False):
            raise OSError(5, "Input/output error")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OSError):
        j.append(*ROWS[1])
    assert j.seq == 1 and _only_log(tmp_path).stat().st_size == size
    with pytest.raises(ValueError, match="content type"):
        j.append("day", "x" * 300, b"{}")
    j.close()
    with pytest.raises(RuntimeError, match="only the last row appended"):
        Journal(tmp_path).withdraw(1)  # nothing appended since it was opened
