"""SFTP file handles whose pipelined writes are answered, and a full disk said as such.

paramiko sends a pipelined write without waiting and registers no owner for the server's answer, so an
answer that refuses the write is read and dropped unseen: the data is simply not in the file, and only a
later read-back notices (as a wrong hash, or an early end of file). A ``CheckedFile`` owns the answers to its
writes: a refusal is kept and raised by the next call that waits for the server (``settle``, a read,
``close``), in the server's own words.

SFTP version 3 (all that OpenSSH speaks) has no status for a full disk: OpenSSH answers a write that
failed with ENOSPC or EDQUOT as ``SSH_FX_FAILURE`` ("Failure"), like most other errors. ``no_space``
asks the server how much room its filesystem has left (``statvfs@openssh.com``); a refusal with less
than ``NEARLY_FULL`` left is a full disk.
"""

from __future__ import annotations

import errno

import paramiko
import paramiko.sftp

from syncoxide.units import human_size

NEARLY_FULL = 1024 * 1024
"""Free bytes below which a refused write means a full disk: a write fails for want of room only when less
than its own size (at most 255 KiB from OpenSSH) is left, plus a few blocks of rounding."""


class CheckedFile(paramiko.SFTPFile):
    """An SFTP file whose pipelined writes raise the server's refusal (see the module docstring)."""

    def _write(self, data: bytes) -> int:
        if not self.pipelined:
            return int(super()._write(data))  # waits for every answer, and raises a refusal
        chunk = min(len(data), self.MAX_REQUEST_SIZE)
        # the answer comes back to self._async_response, which keeps a refusal for _check_exception
        self.sftp._async_request(self, paramiko.sftp.CMD_WRITE, self.handle, paramiko.sftp.int64(self._realpos),
                                 data[:chunk])
        return chunk

    def settle(self) -> None:
        """Wait for the answers to every request sent on this handle; then raise the first refusal among them."""
        refused = self._saved_exception
        while self in self.sftp._expecting.values():
            self.sftp._read_response()
            refused = refused or self._saved_exception
        self._saved_exception = None
        if refused is not None:
            raise refused

    def _close(self, async_: bool = False) -> None:
        refused: Exception | None = None
        if self.pipelined and not self._closed:
            try:
                self.settle()
            except Exception as exc:  # noqa: BLE001 - raised below, once the server's handle is closed
                refused = exc
        super()._close(async_)
        if refused is not None:
            raise refused


def checked(handle: paramiko.SFTPFile) -> CheckedFile:
    """The handle paramiko opened, as a CheckedFile (same state; only the class changes)."""
    handle.__class__ = CheckedFile
    return handle  # type: ignore[return-value]


def free_bytes(sftp: paramiko.SFTPClient, path: str) -> int | None:
    """Bytes an unprivileged user may still write on the server's filesystem holding ``path``; None when the
    server does not say (no ``statvfs@openssh.com``)."""
    try:
        kind, message = sftp._request(paramiko.sftp.CMD_EXTENDED, "statvfs@openssh.com", path)
    except (OSError, paramiko.SSHException, EOFError):
        return None
    if kind != paramiko.sftp.CMD_EXTENDED_REPLY:
        return None
    _bsize, frsize, _blocks, _bfree, bavail = (message.get_int64() for _ in range(5))
    return int(frsize * bavail)


def no_space(sftp: paramiko.SFTPClient, exc: BaseException, path: str) -> OSError | None:
    """``exc`` (a refused request on ``path``) as ENOSPC when the server's filesystem there is full, else None."""
    if not isinstance(exc, OSError) or exc.errno is not None:
        return None  # not a bare SFTP status (paramiko gives ENOENT and EACCES an errno)
    free = free_bytes(sftp, path)
    if free is None or free >= NEARLY_FULL:
        return None
    said = str(exc) or "Failure"
    return OSError(errno.ENOSPC, f"the SFTP server refused a write ({said!r}) with {human_size(free)} free on "
                                 "its filesystem")
