"""Reading a journal: split it into header and records, recognise a torn last line, refuse
anything else that is not a record, and never unpickle (it is JSON only)."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

from trials._journal_errors import (
    FORMAT_VERSION,
    JournalCorruptError,
    JournalFormatError,
    JournalTornTailWarning,
)
from trials._journal_files import open_regular
from trials._json import MAX_DEPTH

__all__ = ["MAX_HEADER_BYTES", "iter_records", "read_header", "read_records"]

_HEADER_START = '{"type":"header"'

MAX_HEADER_BYTES = 64 << 20
"""The largest header line a journal may hold (its command and fingerprint hold the search
space): a larger one is refused when the journal is created, before any trial."""


class _Parsed:
    """What a journal file holds: its header, its records, and a torn tail if there is one."""

    __slots__ = ("header", "records", "good_end", "torn", "torn_reason")

    def __init__(self) -> None:
        self.header: dict[str, Any] | None = None
        self.records: list[dict[str, Any]] = []
        self.good_end = 0  # byte offset just past the last good line
        self.torn = b""
        self.torn_reason = ""


class _Malformed(ValueError):
    """A line that is complete JSON but holds what the journal never writes."""


def _refuse_constant(token: str) -> Any:
    raise _Malformed(f'a {token} token; a journal writes non-finite floats as {{"$float": ...}}')


def _finite_float(token: str) -> float:
    x = float(token)
    if x - x != 0:  # inf (or nan): the number overflows a float
        shown = token if len(token) <= 40 else token[:37] + "..."
        raise _Malformed(f"the number {shown}, too large for a float")
    return x


_decoder = json.JSONDecoder(parse_float=_finite_float, parse_constant=_refuse_constant)
_raw_decode = _decoder.raw_decode

MAX_RECORD_DEPTH = 2 * MAX_DEPTH + 8
"""Deepest nesting a record may have: a value nested ``MAX_DEPTH`` deep, each level possibly
escaped (``{"$dict": ...}``), inside the record's own few levels."""


def _decode(line: str) -> Any:
    try:
        obj, end = _raw_decode(line)
        if end == len(line):
            return obj
    except _Malformed:
        raise
    except ValueError:
        pass
    return _decoder.decode(line)  # surrounding whitespace (a "\r" left by an editor) is fine


def _loads_record(line: str) -> dict[str, Any] | None:
    """The JSON object on ``line``, or ``None`` if it holds none (not JSON, or not an object);
    `_Malformed` if it is JSON holding what the journal never writes."""
    try:
        obj = _decode(line)
    except _Malformed:
        raise
    except RecursionError:
        raise _Malformed("JSON nested too deeply to read") from None
    except ValueError as e:
        if "digits" in str(e):  # int() refused a number of thousands of digits
            raise _Malformed(f"an integer of more than {sys.get_int_max_str_digits()} digits"
                             ) from None
        return None
    if not isinstance(obj, dict):
        return None
    if line.count("[") + line.count("{") > MAX_RECORD_DEPTH and _depth(obj) > MAX_RECORD_DEPTH:
        raise _Malformed(f"JSON nested more than {MAX_RECORD_DEPTH} levels deep")
    return obj


def _depth(obj: Any) -> int:
    """How deeply lists and objects nest in ``obj`` (iterative: never a RecursionError)."""
    deepest = 0
    stack = [(obj, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > MAX_RECORD_DEPTH:
                return deepest
        children = item.values() if isinstance(item, dict) else item
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return deepest


def _looks_like_torn_header(line: str) -> bool:
    line = line.rstrip("\0\n")
    n = min(len(line), len(_HEADER_START))
    return line[:n] == _HEADER_START[:n]


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building many small objects, which it would scan repeatedly."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _parse(data: bytes, path: str) -> _Parsed:
    """Split ``data`` into header and records; raise on anything but a torn last line."""
    out = _Parsed()
    if not data:
        return out
    lines = data.decode("utf-8", "surrogateescape").split("\n")
    unterminated = lines[-1] != ""
    if not unterminated:
        lines.pop()
    last = len(lines) - 1
    i = 0
    try:
        header = None if (unterminated and last == 0) else _loads_record(lines[0])
        if header is None or header.get("type") != "header":
            if last == 0 and header is None and _looks_like_torn_header(lines[0]):
                _set_torn(out, data, unterminated)  # a crash while creating the file
                return out
            raise _not_a_journal(path)
        _check_format(header, path)
        out.header = header
        records = out.records
        append = records.append
        loads = _loads_record
        with _gc_paused():
            for i in range(1, last):
                obj = loads(lines[i])
                if obj is None:
                    raise _corrupt(path, lines, i)
                append(obj)
            if last >= 1:
                i = last  # complete but malformed (a NaN token) is corrupt, not torn
                obj = None if unterminated else loads(lines[last])
                if obj is None:
                    _set_torn(out, data, unterminated)
                    return out
                append(obj)
    except _Malformed as e:
        raise _corrupt(path, lines, i, str(e)) from None
    out.good_end = len(data)
    return out


def _set_torn(out: _Parsed, data: bytes, unterminated: bool) -> None:
    """Mark the last line of ``data`` as a torn tail."""
    stop = len(data) if unterminated else len(data) - 1
    out.good_end = data.rfind(b"\n", 0, stop) + 1
    out.torn = data[out.good_end :]
    out.torn_reason = "no newline at its end" if unterminated else "it is not a JSON object"


def _corrupt(path: str, lines: list[str], i: int, reason: str = "") -> JournalCorruptError:
    offset = sum(len(line.encode("utf-8", "surrogateescape")) + 1 for line in lines[:i])
    return _corrupt_at(path, i + 1, offset, lines[i], reason)


def _not_a_journal(path: str) -> JournalFormatError:
    return JournalFormatError(
        f"{path} is not a trial journal: its first line is not a journal header "
        '({"type":"header","format":...})'
    )


def _check_format(header: Mapping[str, Any], path: str) -> None:
    version = header.get("format")
    if isinstance(version, bool) or not isinstance(version, int):
        raise JournalFormatError(f"{path}: the journal header has no valid format version")
    if version > FORMAT_VERSION:
        raise JournalFormatError(
            f"{path} is in journal format {version}, but this version of trials reads formats up "
            f"to {FORMAT_VERSION}; upgrade trialrunner to open it"
        )


def _warn_torn(path: str, parsed: _Parsed, action: str, stacklevel: int) -> None:
    warnings.warn(
        f"{path}: the last line, at byte {parsed.good_end} ({len(parsed.torn)} bytes), is a torn "
        f"write ({parsed.torn_reason}), left by a crash mid-append; {action}",
        JournalTornTailWarning,
        stacklevel=stacklevel,
    )


def _read_bytes(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    chunks: list[bytes] = []
    pos = 0
    while True:
        chunk = os.pread(fd, max(size - pos, 1 << 16), pos)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        pos += len(chunk)


def read_records(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Records of the journal at ``path`` (header excluded), without locking it.

    A torn last line is skipped with a `JournalTornTailWarning` (the file is not changed); a
    corrupt line before the last raises `JournalCorruptError`.
    """
    spath = os.fspath(path)
    fd = open_regular(spath, os.O_RDONLY, "a journal must be a regular file")
    try:
        data = _read_bytes(fd)
    finally:
        os.close(fd)
    parsed = _parse(data, spath)
    if parsed.torn:
        _warn_torn(spath, parsed, "skipped it", stacklevel=3)
    return parsed.records


def read_header(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The header (first line) of the journal at ``path``, without locking it.

    Raises `JournalFormatError` when the file holds no journal header.
    """
    spath = os.fspath(path)
    fd = open_regular(spath, os.O_RDONLY, "give the path of a journal file")
    try:
        with os.fdopen(os.dup(fd), "rb") as f:
            first = f.readline(MAX_HEADER_BYTES + 1)
    finally:
        os.close(fd)
    if len(first) > MAX_HEADER_BYTES:
        raise JournalFormatError(f"{spath} is not a journal: its first line is longer than the "
                                 f"{MAX_HEADER_BYTES >> 20} MiB a journal header may hold")
    header = _loads_record(first.decode("utf-8", "surrogateescape").rstrip("\n"))
    if header is None or header.get("type") != "header":
        raise JournalFormatError(f"{spath} is not a journal: its first line is no journal header")
    return header


def iter_records(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(byte offset, record)`` for each record of the journal at ``path``, read line by line
    without locking it: the streaming `read_records` (same checks, same torn-tail warning)
    for readers of journals too large to hold at once. The header is checked, not yielded."""
    spath = os.fspath(path)
    fd = open_regular(spath, os.O_RDONLY, "a journal must be a regular file")
    with os.fdopen(fd, "rb") as f:
        first = f.readline()
        if not first:
            return
        header = None if not first.endswith(b"\n") else _loads_record(
            first.decode("utf-8", "surrogateescape")[:-1])
        if header is None or header.get("type") != "header":
            if not first.endswith(b"\n") and _looks_like_torn_header(
                    first.decode("utf-8", "surrogateescape")):
                return  # a crash while creating the file
            raise _not_a_journal(spath)
        _check_format(header, spath)
        offset, number = len(first), 2
        line = f.readline()
        while line:
            following = f.readline()
            text = line.decode("utf-8", "surrogateescape")
            complete = text.endswith("\n")
            try:
                obj = _loads_record(text[:-1]) if complete else None
            except _Malformed as e:
                raise _corrupt_at(spath, number, offset, text, str(e)) from None
            if obj is None:
                if following:
                    raise _corrupt_at(spath, number, offset, text)
                parsed = _Parsed()
                parsed.good_end, parsed.torn = offset, line
                parsed.torn_reason = ("no newline at its end" if not complete
                                      else "it is not a JSON object")
                _warn_torn(spath, parsed, "skipped it", stacklevel=3)
                return
            yield offset, obj
            offset, number, line = offset + len(line), number + 1, following


def _corrupt_at(path: str, number: int, offset: int, line: str,
                reason: str = "") -> JournalCorruptError:
    line = line.rstrip("\n")
    shown = repr(line[:80]) + ("..." if len(line) > 80 else "")
    why = f" ({reason})" if reason else ""
    return JournalCorruptError(
        f"{path}: line {number} (byte {offset}) is not a valid JSON record{why}: {shown}. A "
        "journal is never cut silently; repair or remove that line by hand, then open it again"
    )
