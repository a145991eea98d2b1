"""``iter_records``: the streaming reader behind ``trialrunner report`` reads what
``read_records`` reads, with the same checks, and says where each record starts."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from trials import (
    Journal,
    JournalCorruptError,
    JournalFormatError,
    JournalTornTailWarning,
    read_records,
)
from trials._journal_read import iter_records


def _journal(path: Path, n: int = 5) -> Path:
    with Journal.open(path, fsync="never") as journal:
        for i in range(n):
            journal.append({"type": "note", "i": i, "text": "é" * i})
    return path


def test_it_yields_the_records_and_their_offsets(tmp_path: Path) -> None:
    """Each record as ``read_records`` has it, with the byte offset of its line."""
    path = _journal(tmp_path / "j.jsonl")
    pairs = list(iter_records(path))
    assert [r for _, r in pairs] == read_records(path)
    data = path.read_bytes()
    for offset, record in pairs:
        assert data[offset:].startswith(b'{"type":"note","i":%d' % record["i"])


def test_a_torn_last_line_is_skipped_with_the_warning(tmp_path: Path) -> None:
    """A last line without its newline is a torn write: skipped, warned about, file kept."""
    path = _journal(tmp_path / "j.jsonl")
    with open(path, "ab") as f:
        f.write(b'{"type":"no')
    with pytest.warns(JournalTornTailWarning, match="torn write"):
        records = [r for _, r in iter_records(path)]
    assert len(records) == 5


def test_a_bad_middle_line_names_its_line(tmp_path: Path) -> None:
    """A line that is not a record, or holds a NaN token, before the last is corrupt."""
    path = _journal(tmp_path / "j.jsonl")
    lines = path.read_bytes().split(b"\n")
    for bad, reason in ((b"garbage", "not a valid JSON record"), (b'{"a":NaN}', "NaN token")):
        broken = tmp_path / "broken.jsonl"
        broken.write_bytes(b"\n".join(lines[:2] + [bad] + lines[2:]))
        with pytest.raises(JournalCorruptError, match=f"line 3 .*{reason}"):
            list(iter_records(broken))


def test_a_file_that_is_no_journal_is_refused(tmp_path: Path) -> None:
    """The first line must be a journal header; an empty file holds no records."""
    (tmp_path / "x.jsonl").write_text('{"type":"note"}\n')
    with pytest.raises(JournalFormatError, match="not a trial journal"):
        list(iter_records(tmp_path / "x.jsonl"))
    (tmp_path / "empty.jsonl").write_text("")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert list(iter_records(tmp_path / "empty.jsonl")) == []
