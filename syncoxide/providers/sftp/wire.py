"""SFTP version 3 on the wire (draft-ietf-secsh-filexfer-02, all that OpenSSH speaks): packet types, file
attributes, and a server's status as an ``OSError``."""

from __future__ import annotations

import errno
import struct
from dataclasses import dataclass

from syncoxide.fs.names import to_bytes

INIT, VERSION = 1, 2
OPEN, CLOSE, READ, WRITE, LSTAT, FSTAT, SETSTAT, FSETSTAT = 3, 4, 5, 6, 7, 8, 9, 10
OPENDIR, READDIR, REMOVE, MKDIR, RMDIR, REALPATH, STAT, RENAME = 11, 12, 13, 14, 15, 16, 17, 18
STATUS, HANDLE, DATA, NAME, ATTRS = 101, 102, 103, 104, 105
EXTENDED, EXTENDED_REPLY = 200, 201

OK, EOF, NO_SUCH_FILE, PERMISSION_DENIED, FAILURE = 0, 1, 2, 3, 4
STATUS_TEXT = {
    OK: "OK",
    EOF: "end of file",
    NO_SUCH_FILE: "No such file",
    PERMISSION_DENIED: "Permission denied",
    FAILURE: "Failure",
    5: "Bad message",
    6: "No connection",
    7: "Connection lost",
    8: "Operation unsupported",
}
STATUS_ERRNO = {NO_SUCH_FILE: errno.ENOENT, PERMISSION_DENIED: errno.EACCES}

OPEN_FLAGS = {"rb": 0x01, "wb": 0x02 | 0x08 | 0x10, "w+b": 0x01 | 0x02 | 0x08 | 0x10, "r+b": 0x01 | 0x02}
"""read, write, create, truncate: the modes of Python's ``open``"""

SIZE, UIDGID, PERMISSIONS, ACMODTIME, EXTENDED_ATTRS = 0x1, 0x2, 0x4, 0x8, 0x80000000

_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
HEADER = struct.Struct(">IBI")
"""length, type and request id: the start of every packet but INIT and VERSION"""


class SftpError(OSError):
    """The server refused a request. ``errno`` is set where the status has one (no such file, permission
    denied), else None: SFTP v3 gives every other failure, a full disk too, the one status "Failure"."""

    def __init__(self, code: int, message: str):
        text = message or STATUS_TEXT.get(code, f"status {code}")
        if code in STATUS_ERRNO:
            super().__init__(STATUS_ERRNO[code], text)
        else:
            super().__init__(text)
        self.code = code


def u32(value: int) -> bytes:
    return _U32.pack(value)


def u64(value: int) -> bytes:
    return _U64.pack(value)


def string(value: bytes | str) -> bytes:
    """A wire string; text (a path in stored form, ``syncoxide.fs.names``) goes as its exact bytes."""
    data = to_bytes(value) if isinstance(value, str) else value
    return _U32.pack(len(data)) + data


def header(kind: int, request: int, size: int) -> bytes:
    """A packet's header, for a body of ``size`` bytes (sent apart, so a large write's data is not copied)."""
    return HEADER.pack(size + 5, kind, request)


@dataclass(frozen=True)
class Attrs:
    size: int | None = None
    mode: int | None = None
    atime: int | None = None
    mtime: int | None = None
    uid: int | None = None
    gid: int | None = None

    def encode(self) -> bytes:
        flags, parts = 0, []
        if self.size is not None:
            flags |= SIZE
            parts.append(u64(self.size))
        if self.uid is not None and self.gid is not None:
            flags |= UIDGID
            parts.append(u32(self.uid) + u32(self.gid))
        if self.mode is not None:
            flags |= PERMISSIONS
            parts.append(u32(self.mode))
        if self.mtime is not None:
            flags |= ACMODTIME
            parts.append(u32(self.atime if self.atime is not None else self.mtime) + u32(self.mtime))
        return u32(flags) + b"".join(parts)


class Reader:
    """Reads the fields of one answer's body in order."""

    def __init__(self, data: bytes, at: int = 0):
        self.data = data
        self.at = at

    def u32(self) -> int:
        (value,) = _U32.unpack_from(self.data, self.at)
        self.at += 4
        return int(value)

    def u64(self) -> int:
        (value,) = _U64.unpack_from(self.data, self.at)
        self.at += 8
        return int(value)

    def string(self) -> bytes:
        size = self.u32()
        value = self.data[self.at : self.at + size]
        self.at += size
        return value

    def attrs(self) -> Attrs:
        flags = self.u32()
        size = self.u64() if flags & SIZE else None
        uid, gid = (self.u32(), self.u32()) if flags & UIDGID else (None, None)
        mode = self.u32() if flags & PERMISSIONS else None
        atime, mtime = (self.u32(), self.u32()) if flags & ACMODTIME else (None, None)
        if flags & EXTENDED_ATTRS:
            for _ in range(2 * self.u32()):
                self.string()
        return Attrs(size=size, mode=mode, atime=atime, mtime=mtime, uid=uid, gid=gid)

    def status(self) -> SftpError:
        code = self.u32()
        message = self.string().decode(errors="replace") if self.at < len(self.data) else ""
        return SftpError(code, message)
