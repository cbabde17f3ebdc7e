"""An open SFTP file: writes pipelined with every answer checked, reads ahead in order.

Writes are sent without waiting, at most ``WRITES_IN_FLIGHT`` unanswered; every answer is read, and a
write the server refused raises (from a later write, ``settle`` or ``close``) in the server's own words.
Reads keep up to ``READS_IN_FLIGHT`` requests ahead of the caller.
"""

from __future__ import annotations

from collections import deque
from types import TracebackType

from syncoxide.providers.sftp import wire
from syncoxide.providers.sftp.session import Answer, SftpSession, status_ok
from syncoxide.providers.sftp.wire import Attrs, Reader, SftpError, string, u32, u64

WRITES_IN_FLIGHT = 32
READS_IN_FLIGHT = 16


class RemoteFile:
    def __init__(self, session: SftpSession, path: str, mode: str):
        self.session = session
        self.request_size = session.request_size
        self._handle = session.open_handle(path, mode)
        self._quoted = string(self._handle)
        self._pos = 0
        self._unanswered: deque[Answer] = deque()
        self._refused: BaseException | None = None
        self._ahead: deque[tuple[int, Answer]] = deque()
        self._ahead_end = self._ahead_limit = 0
        self._buffer, self._buffer_at = b"", 0
        self.closed = False

    def __enter__(self) -> RemoteFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close(quietly=kind is not None)

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int) -> int:
        if offset != self._pos:
            self._forget_reads()
            self._pos = offset
        return offset

    def write(self, data: bytes) -> int:
        self._forget_reads()
        view, step = memoryview(data), self.request_size
        for start in range(0, len(data), step):
            chunk = view[start : start + step]
            self._pipelined(self.session.send(wire.WRITE, self._quoted, u64(self._pos), u32(len(chunk)), chunk))
            self._pos += len(chunk)
        return len(data)

    def _pipelined(self, answer: Answer) -> None:
        self._unanswered.append(answer)
        while len(self._unanswered) > WRITES_IN_FLIGHT:
            self._take_answer()

    def _take_answer(self) -> None:
        try:
            self.session.check(self._unanswered.popleft())
        except SftpError as exc:
            self._refused = self._refused or exc
        if self._refused is not None:
            raise self._refused

    def utime(self, mtime: float) -> None:
        """Set the file's modification (and access) time, answered in turn with the writes before it."""
        self._pipelined(self.session.send(wire.FSETSTAT, self._quoted, Attrs(mtime=int(mtime)).encode()))

    def flush(self) -> None:
        """Writes are sent as they are made; ``settle`` waits for their answers."""

    def settle(self) -> None:
        """Wait for the answers to every write sent on this handle; raise the first refusal among them."""
        try:
            while self._unanswered:
                self._take_answer()
        finally:
            refused, self._refused = self._refused, None
            self._unanswered.clear()
        if refused is not None:
            raise refused

    def stat(self) -> Attrs:
        return self.session.fstat(self._handle)

    def read_ahead(self, size: int) -> None:
        """The next ``size`` bytes will be read: ask for them now, a window of requests at a time."""
        self._forget_reads()
        self._ahead_end, self._ahead_limit = self._pos, self._pos + size
        self._ask_more()

    def _ask_more(self) -> None:
        while len(self._ahead) < READS_IN_FLIGHT and self._ahead_end < self._ahead_limit:
            size = min(self.request_size, self._ahead_limit - self._ahead_end)
            self._ahead.append((size, self.session.send(wire.READ, self._quoted, u64(self._ahead_end), u32(size))))
            self._ahead_end += size

    def _forget_reads(self) -> None:
        self._ahead.clear()  # their answers are read and dropped by the session
        self._ahead_end = self._ahead_limit = 0
        self._buffer, self._buffer_at = b"", 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(self.request_size * READS_IN_FLIGHT), b""))
        parts, want = [], size
        while want > 0:
            if self._buffer_at >= len(self._buffer):
                self._buffer, self._buffer_at = self._next_data(want), 0
                if not self._buffer:
                    break
            piece = self._buffer[self._buffer_at : self._buffer_at + want]
            self._buffer_at += len(piece)
            self._pos += len(piece)
            want -= len(piece)
            parts.append(piece)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _next_data(self, want: int) -> bytes:
        if not self._ahead:
            self.read_ahead(want)
        size, answer = self._ahead.popleft()
        self._ask_more()
        kind, body = self.session.wait(answer)
        if kind == wire.DATA:
            if len(body) < size:  # a short answer: the requests after it asked for the wrong offsets
                self._ahead.clear()
                self._ahead_end = self._ahead_limit = 0
            return body
        self._forget_reads()
        if kind == wire.STATUS and Reader(body).status().code == wire.EOF:
            return b""
        status_ok(kind, body)
        raise SftpError(wire.FAILURE, f"unexpected answer type {kind} to a read")

    def close(self, quietly: bool = False) -> None:
        """Close on the server, after every write's answer; raise a refused write unless ``quietly``."""
        if self.closed:
            return
        self.closed = True
        self._forget_reads()
        refused: BaseException | None = None
        try:
            self.settle()
        except Exception as exc:  # noqa: BLE001 - raised below, once the server's handle is closed
            refused = exc
        try:
            self.session.check(self.session.send(wire.CLOSE, self._quoted))
        except OSError as exc:
            refused = refused or exc
        if refused is not None and not quietly:
            raise refused

    def close_unanswered(self) -> None:
        """Close without waiting for the server's answer (it comes before the answer to the next request: the
        server answers in order). Only once ``settle`` has said every write landed."""
        if not self.closed:
            self.closed = True
            self._forget_reads()
            self.session.send(wire.CLOSE, self._quoted)
