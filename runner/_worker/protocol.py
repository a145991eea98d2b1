"""The pipe protocol between the driver and a worker process, in one place.

    driver -> worker   trial frames:  !I length | pickle(trial tuple)       (runner/_worker/wire.py)
                       decisions:     !I length | DECISION | seq | kind     (stop trial ``seq``)
                       (``kind`` WAIT before trial ``seq``: its reports wait for an answer,
                        STOP or CONTINUE, one per report: runner/_core/waiting.py)
    worker -> driver   result frames: MAGIC | token | seq | length | crc32 | pickle(payload)
                       report frames: the same, the payload REPORT | pickle(report tuple)

A trial sends any number of report frames, then one result frame, all with its ``seq``; a
decision names the ``seq`` of the trial it is for, so one that arrives after its trial ended
is recognised as stale and dropped.

The driver trusts nothing that comes back: the target runs in the worker and may write to any
descriptor it finds there, or fork a child that carries on in the worker's loop. So a result
frame carries the worker session's random ``token`` and the number of the trial it answers
(``seq``), its length is bounded and its body checksummed. The driver reads without ever
blocking, into a buffer (`FrameReader`); anything that fails a check ends that worker's
session (``ChannelCorrupted``) and costs only its trial.
"""

from __future__ import annotations

import logging
import os
import pickle
import struct
import zlib
from typing import Any

__all__ = [
    "BUFFERED", "CONTINUE", "NOT_RUN", "ChannelCorrupted", "FrameReader", "MAX_RESULT_BYTES", "NotRun",
    "RECYCLE", "UNRUN", "WAIT", "decode_decision", "decode_report", "encode_decision",
    "encode_frame", "encode_report", "has_buffered", "is_report", "read_trial", "unread",
    "write_all", "write_trial",
]

MAGIC = b"TRR1"
RECYCLE = b"\x00recycle:"
"""A frame after an answer: the trial left the worker changed (the reason follows); replace it."""
UNRUN = b"\x00unrun"
"""The answer of a worker that is being recycled to a trial it was sent meanwhile: not run."""
_HEAD = struct.Struct("!4sQQII")  # magic, token, seq, length, crc32
MAX_RESULT_BYTES = 256 * 1024 * 1024
"""Results larger than this (pickled) are refused as CRASHED instead of being shipped."""
_MAX_FRAME = MAX_RESULT_BYTES + 4096
_TRIAL_HEAD = struct.Struct("!I")
_SMALL = 16384

REPORT = b"R"
"""First byte of a report frame's payload (a pickle starts with 0x80, so never this)."""
DECISION = b"\x00D"
"""First bytes of a decision on the trial pipe (a pickled trial starts with 0x80)."""
_DECISION = struct.Struct("!2sQc")  # DECISION, seq, kind (b"s": stop)
STOP = b"s"
CONTINUE = b"c"
"""The answer to a waiting report: go on (STOP ends the trial, as without waiting)."""
WAIT = b"w"
"""Sent just before trial ``seq``: each of its reports waits for its answer."""


def encode_report(step: Any, cost: Any, metrics: Any, elapsed: float) -> bytes:
    """A report frame's payload (the worker side)."""
    return REPORT + pickle.dumps((step, cost, metrics, elapsed), protocol=pickle.HIGHEST_PROTOCOL)


def is_report(payload: bytes) -> bool:
    """Whether a frame's payload is a report (else it is the trial's result)."""
    return payload[:1] == REPORT


def decode_report(payload: bytes) -> Any:
    """The ``trials.Report`` in a report frame's payload (driver side); ``None``, logged, for
    one the driver cannot read (a metric that does not unpickle here)."""
    from trials import Report

    try:
        step, cost, metrics, elapsed = pickle.loads(payload[1:])
        return Report(step, cost, metrics, elapsed)
    except Exception as exc:
        logging.getLogger(__name__).warning("dropping a report the driver cannot read: %r", exc)
        return None


def encode_decision(seq: int, kind: bytes = STOP) -> bytes:
    """A decision for trial ``seq`` (the driver side, sent with `write_trial`)."""
    return _DECISION.pack(DECISION, seq, kind)


def decode_decision(message: bytes) -> tuple[int, bytes] | None:
    """``(seq, kind)`` of a decision message, ``None`` for a trial message."""
    if len(message) != _DECISION.size or message[:2] != DECISION:
        return None
    _, seq, kind = _DECISION.unpack(message)
    return seq, kind


class NotRun:
    """What ``WorkerProcess.collect`` returns for a trial the worker answered `UNRUN`:
    it was being replaced (send the trial again, to a new worker)."""

    __slots__ = ()


NOT_RUN = NotRun()


class ChannelCorrupted(Exception):
    """Bytes on a result channel that are not our worker's answer; the message says which."""


def encode_frame(token: int, seq: int, payload: bytes) -> bytes:
    """A result frame for ``payload`` (the worker side)."""
    return _HEAD.pack(MAGIC, token, seq, len(payload), zlib.crc32(payload)) + payload


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to the blocking descriptor ``fd`` (one ``write`` when it fits)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_trial(fd: int, data: bytes) -> None:
    """Send one trial message (the driver side; the worker is the only reader)."""
    if len(data) <= _SMALL:
        write_all(fd, _TRIAL_HEAD.pack(len(data)) + data)
    else:
        write_all(fd, _TRIAL_HEAD.pack(len(data)))
        write_all(fd, data)


_leftover: dict[int, bytes] = {}
"""Per trial pipe, bytes read past the message returned (the worker side): a decision and the
next trial can both be in the pipe when the worker reads, and one ``read`` takes both."""
BUFFERED = _leftover
"""The same buffer, for the report path: ``fd in BUFFERED`` is `has_buffered` without a
function call (a report looks twice per call)."""


def read_trial(fd: int) -> bytes | None:
    """One message (a trial or a decision), blocking (the worker side); ``None`` when the driver
    closed the pipe. One ``read`` for messages that fit the pipe; what it took past this message
    is kept for the next call (`has_buffered`)."""
    head = _TRIAL_HEAD.size
    chunk = _leftover.pop(fd, b"")
    if len(chunk) < head:
        try:
            got = os.read(fd, _SMALL)
        except OSError:
            return None
        if not got:
            return None
        chunk += got
        if len(chunk) < head:
            rest = _read_exactly(fd, head - len(chunk))
            if rest is None:
                return None
            chunk += rest
    (size,) = _TRIAL_HEAD.unpack_from(chunk)
    end = head + size
    if len(chunk) < end:
        more = _read_exactly(fd, end - len(chunk))
        return None if more is None else chunk[head:] + more
    if len(chunk) > end:
        _leftover[fd] = chunk[end:]
    return chunk[head:end]


def has_buffered(fd: int) -> bool:
    """Whether a message (or its start) was read from ``fd`` already and waits in the buffer:
    poll the pipe *and* this before deciding that nothing is there."""
    return fd in _leftover


def unread(fd: int, message: bytes) -> None:
    """Put ``message`` back in front of ``fd``'s buffer (a trial read where only a decision
    was expected: the next `read_trial` returns it)."""
    _leftover[fd] = _TRIAL_HEAD.pack(len(message)) + message + _leftover.pop(fd, b"")


def _read_exactly(fd: int, n: int) -> bytes | None:
    parts = []
    while n > 0:
        part = os.read(fd, min(n, 1 << 20))
        if not part:
            return None
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


class FrameReader:
    """Driver side: a non-blocking, buffered reader of one worker session's result frames."""

    __slots__ = ("fd", "token", "_buf")

    def __init__(self, fd: int, token: int) -> None:
        os.set_blocking(fd, False)
        self.fd, self.token = fd, token
        self._buf = bytearray()

    def pending(self) -> bool:
        """Whether bytes of an unfinished frame are buffered."""
        return bool(self._buf)

    def fill(self) -> bool:
        """Read whatever is there now; ``False`` at end of file (the worker closed the pipe)."""
        size = _SMALL  # a small read first: asking for more costs an allocation each time
        while True:
            try:
                chunk = os.read(self.fd, size)
            except BlockingIOError:
                return True
            if not chunk:
                return False
            self._buf += chunk
            if len(chunk) < size:
                return True
            size = 1 << 20  # a large answer: take it in big pieces

    def frame(self) -> tuple[int, bytes] | None:
        """The next whole frame as ``(seq, payload)``, ``None`` until one is complete;
        ``ChannelCorrupted`` for bytes that cannot be our worker's."""
        buf = self._buf
        if len(buf) < _HEAD.size:
            if buf and not MAGIC.startswith(bytes(buf[:4])):
                raise ChannelCorrupted(f"{len(buf)} stray byte(s) {bytes(buf[:16])!r}")
            return None
        magic, token, seq, size, crc = _HEAD.unpack_from(buf)
        if magic != MAGIC or token != self.token:
            raise ChannelCorrupted(f"stray bytes {bytes(buf[:16])!r} instead of a result frame")
        if size > _MAX_FRAME:
            raise ChannelCorrupted(f"a frame claims {size} bytes, over the cap")
        end = _HEAD.size + size
        if len(buf) < end:
            return None
        payload = bytes(buf[_HEAD.size:end])
        del buf[:end]
        if zlib.crc32(payload) != crc:
            raise ChannelCorrupted("a result frame failed its checksum (bytes written into it)")
        return seq, payload
