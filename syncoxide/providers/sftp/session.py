"""An SFTP v3 client over a pair of pipes (to ``ssh -s sftp``): requests are sent from the caller's thread and
answered to it by one reader thread, so any number may be in flight without either side blocking the other.

The SSH work (key exchange, encryption, the network) is the ``ssh`` process's; this side only frames SFTP
packets, one per 255 KiB of data at most, which costs a few microseconds of Python each."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

from syncoxide.fs.names import stored
from syncoxide.providers.sftp import wire
from syncoxide.providers.sftp.wire import Attrs, Reader, SftpError, string, u32

DEFAULT_REQUEST = 32 * 1024
"""bytes per read or write request every server takes (the protocol's own minimum)"""
LARGEST_REQUEST = 1024 * 1024
LOST = -1
ST_RDONLY = 0x1
"""statvfs@openssh.com's flag for a read-only filesystem"""


@dataclass(frozen=True)
class Room:
    """A filesystem's room for an unprivileged user, as statvfs@openssh.com says it."""

    free_bytes: int
    free_inodes: int
    inodes: int
    """0 where the filesystem does not count them (btrfs, vfat, many FUSE ones)"""
    read_only: bool


class ConnectionLost(ConnectionError):
    """The SSH connection (or the ssh process) ended while a request waited for its answer."""


class Answer:
    """A request's answer, once the reader thread has it: its packet type and body (for DATA, the bytes)."""

    __slots__ = ("ready", "kind", "body")

    def __init__(self) -> None:
        self.ready = threading.Lock()
        self.ready.acquire()
        self.kind = LOST
        self.body = b""


class SftpSession:
    def __init__(self, incoming: IO[bytes], outgoing: IO[bytes], why_lost: Callable[[], str]):
        self._in, self._out, self._why_lost = incoming, outgoing, why_lost
        self._send_lock = threading.Lock()
        self._waiting: dict[int, Answer] = {}
        self._next_id = 0
        self._lost: ConnectionLost | None = None
        self.extensions = self._handshake()
        self.request_size = self._request_size()
        self._reader = threading.Thread(target=self._read_answers, name="sftp-answers", daemon=True)
        self._reader.start()

    def _answer_now(self) -> tuple[int, Reader]:
        """The next packet, read in this thread (before the reader thread starts): its type and what follows it."""
        head = self._in.read(5)
        body = self._in.read(Reader(head).u32() - 1) if len(head) == 5 else b""
        if len(head) < 5 or len(body) < Reader(head).u32() - 1:
            raise ConnectionLost(self._why_lost())
        return head[4], Reader(body)

    def _handshake(self) -> dict[bytes, bytes]:
        self._out.write(u32(5) + bytes([wire.INIT]) + u32(3))
        self._out.flush()
        kind, body = self._answer_now()
        if kind != wire.VERSION:
            raise ConnectionLost(f"the server answered SFTP's greeting with packet type {kind}")
        body.u32()
        extensions = {}
        while body.at < len(body.data):
            name = body.string()
            extensions[name] = body.string()
        return extensions

    def _request_size(self) -> int:
        """The smaller of the server's read and write limits (OpenSSH's limits@openssh.com), else 32 KiB."""
        if b"limits@openssh.com" not in self.extensions:
            return DEFAULT_REQUEST
        name = string("limits@openssh.com")
        self._out.write(wire.header(wire.EXTENDED, 0, len(name)) + name)
        self._out.flush()
        kind, body = self._answer_now()
        if kind != wire.EXTENDED_REPLY:
            return DEFAULT_REQUEST
        body.u32()  # the request id
        _packet, read, write = body.u64(), body.u64(), body.u64()
        return max(DEFAULT_REQUEST, min(read, write, LARGEST_REQUEST)) if read and write else DEFAULT_REQUEST

    def _read_answers(self) -> None:
        read = self._in.read
        try:
            while True:
                head = read(9)
                if len(head) < 9:
                    return
                length, kind, request = wire.HEADER.unpack(head)
                if kind == wire.DATA:
                    size = read(4)
                    data = read(Reader(size).u32()) if len(size) == 4 else b""
                    complete = len(size) == 4 and len(data) == length - 9
                else:
                    data = read(length - 5)
                    complete = len(data) == length - 5
                if not complete:
                    return
                answer = self._waiting.pop(request, None)
                if answer is not None:
                    answer.kind, answer.body = kind, data
                    answer.ready.release()
        except (OSError, ValueError):
            return  # the pipe was closed under the thread: the connection is gone all the same
        finally:
            self._lose()

    def _lose(self) -> None:
        self._lost = ConnectionLost(self._why_lost())
        while self._waiting:
            _, answer = self._waiting.popitem()
            answer.ready.release()

    def send(self, kind: int, *fields: bytes | memoryview) -> Answer:
        """Send one request; its answer arrives in the returned Answer (``wait`` for it)."""
        answer = Answer()
        with self._send_lock:
            self._next_id = request = (self._next_id + 1) & 0xFFFFFFFF
            self._waiting[request] = answer
            if self._lost is not None:
                self._waiting.pop(request, None)
                raise self._lost
            try:
                self._out.write(wire.header(kind, request, sum(len(field) for field in fields)))
                for field in fields:
                    self._out.write(field)
                self._out.flush()
            except (OSError, ValueError):
                self._waiting.pop(request, None)
                raise ConnectionLost(self._why_lost()) from None
        return answer

    def wait(self, answer: Answer) -> tuple[int, bytes]:
        answer.ready.acquire()
        if answer.kind == LOST:
            raise self._lost or ConnectionLost(self._why_lost())
        return answer.kind, answer.body

    def call(self, kind: int, *fields: bytes) -> tuple[int, bytes]:
        return self.wait(self.send(kind, *fields))

    def check(self, answer: Answer) -> None:
        """Wait for a request that answers with a status; raise it unless OK."""
        kind, body = self.wait(answer)
        status_ok(kind, body)

    def expect(self, want: int, kind: int, body: bytes) -> Reader:
        if kind == want:
            return Reader(body)
        if kind == wire.STATUS:
            raise Reader(body).status()
        raise SftpError(wire.FAILURE, f"unexpected answer type {kind} (wanted {want})")

    def stat(self, path: str) -> Attrs:
        return self.expect(wire.ATTRS, *self.call(wire.STAT, string(path))).attrs()

    def lstat(self, path: str) -> Attrs:
        """The attributes of ``path`` itself (a symlink is not followed)."""
        return self.expect(wire.ATTRS, *self.call(wire.LSTAT, string(path))).attrs()

    def setstat(self, path: str, attrs: Attrs) -> None:
        self.check(self.send(wire.SETSTAT, string(path), attrs.encode()))

    def utime(self, path: str, mtime: float) -> None:
        self.setstat(path, Attrs(mtime=int(mtime)))

    def truncate(self, path: str, size: int) -> None:
        self.setstat(path, Attrs(size=size))

    def remove(self, path: str) -> None:
        self.check(self.send(wire.REMOVE, string(path)))

    def mkdir(self, path: str) -> None:
        self.check(self.send(wire.MKDIR, string(path), Attrs().encode()))

    def rmdir(self, path: str) -> None:
        self.check(self.send(wire.RMDIR, string(path)))

    def posix_rename(self, old: str, new: str) -> None:
        """Rename replacing ``new`` if it exists (plain SFTP v3 RENAME refuses to)."""
        self.check(self.send(wire.EXTENDED, string("posix-rename@openssh.com"), string(old), string(new)))

    def statvfs(self, path: str) -> Room | None:
        """What room the filesystem holding ``path`` has left; None where the server does not say."""
        if b"statvfs@openssh.com" not in self.extensions:
            return None
        kind, body = self.call(wire.EXTENDED, string("statvfs@openssh.com"), string(path))
        if kind != wire.EXTENDED_REPLY:
            return None
        reply = Reader(body)
        _bsize, frsize, _blocks, _bfree, bavail, files, _ffree, favail, _fsid, flag = (reply.u64() for _ in range(10))
        return Room(free_bytes=frsize * bavail, free_inodes=favail, inodes=files, read_only=bool(flag & ST_RDONLY))

    def listdir(self, path: str) -> Iterator[tuple[str, Attrs]]:
        """(name, attributes not following links) of every entry of the directory, but ``.`` and ``..``."""
        handle = self.expect(wire.HANDLE, *self.call(wire.OPENDIR, string(path))).string()
        try:
            while True:
                kind, body = self.call(wire.READDIR, string(handle))
                if kind == wire.STATUS:
                    status = Reader(body).status()
                    if status.code == wire.EOF:
                        return
                    raise status
                names = self.expect(wire.NAME, kind, body)
                for _ in range(names.u32()):
                    name = stored(names.string())
                    names.string()
                    attrs = names.attrs()
                    if name not in (".", ".."):
                        yield name, attrs
        finally:
            if self._lost is None:
                self.send(wire.CLOSE, string(handle))

    def open_handle(self, path: str, mode: str) -> bytes:
        """The server's handle of a file by absolute path, in one of ``rb``, ``wb``, ``w+b`` and ``r+b``."""
        flags = wire.OPEN_FLAGS[mode]
        made = Attrs(mode=0o600) if mode.startswith("w") else Attrs()  # private until it lands (see SftpProvider)
        return self.expect(wire.HANDLE, *self.call(wire.OPEN, string(path), u32(flags), made.encode())).string()

    def fstat(self, handle: bytes) -> Attrs:
        return self.expect(wire.ATTRS, *self.call(wire.FSTAT, string(handle))).attrs()

    def close(self) -> None:
        try:
            self._out.close()
        except OSError:
            pass


def status_ok(kind: int, body: bytes) -> None:
    if kind != wire.STATUS:
        raise SftpError(wire.FAILURE, f"unexpected answer type {kind} (wanted a status)")
    status = Reader(body).status()
    if status.code != wire.OK:
        raise status
