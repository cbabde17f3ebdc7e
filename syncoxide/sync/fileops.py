"""File operations on a local or SFTP destination by path: what a verified, resumable transfer needs below
the provider contract (open at an offset, make durable, hash where it landed, rename into place).

A local destination is reached through its provider (``LocalProvider.open_file`` and friends), which never
follows a symlink on the way; an SFTP one through its session by absolute path, below folders its provider
made or checked (``SftpProvider.mkdir`` refuses a symlink)."""

from __future__ import annotations

import errno
import hashlib
import os
import stat as statmod
from datetime import datetime
from typing import Any

from syncoxide.providers.base import Provider
from syncoxide.providers.errors import ObjectNotFound, ProviderError
from syncoxide.sync.hashing import READ_CHUNK, REMOTE_HASH_FROM, remote_md5


class FileOps:
    def __init__(self, dst: Provider):
        self.dst = dst
        self.sftp = getattr(dst, "session", None) if dst.kind == "sftp" else None

    def abs(self, path: str) -> str:
        return str(self.dst._abs(path))  # type: ignore[attr-defined]

    def size(self, path: str) -> int | None:
        try:
            if self.sftp is not None:
                return self.sftp.stat(self.abs(path)).size or 0
            return self.dst.stat(path).size
        except ObjectNotFound:
            return None
        except OSError as exc:
            if isinstance(exc, FileNotFoundError) or exc.errno == errno.ENOENT:
                return None
            raise

    def open(self, path: str, mode: str) -> Any:
        """``wb`` (create or truncate), ``w+b`` (also read back), ``r+b`` (write into an existing file)."""
        if self.sftp is not None:
            return self.dst.open_file(self.abs(path), mode)  # type: ignore[attr-defined]
        return self.dst.open_file(path, mode)  # type: ignore[attr-defined]

    def truncate(self, path: str, size: int) -> None:
        if self.sftp is not None:
            self.sftp.truncate(self.abs(path), size)
        else:
            with self.open(path, "r+b") as handle:
                handle.truncate(size)

    def write_at(self, path: str, offset: int, data: bytes) -> None:
        """Write ``data`` at ``offset`` of an existing file and make it durable (fsync; on SFTP, every write
        acknowledged by the server)."""
        with self.open(path, "r+b") as handle:
            handle.seek(offset)
            if self.sftp is not None:
                handle.write(data)
                return  # closing waits for the server's answer to every write
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    def seal(self, handle: Any, path: str, mtime: datetime | None) -> None:
        """Everything written through ``handle`` is durable and the file has ``mtime``; the handle stays open.

        An SFTP server answers in order, so its answer to the time change comes after every write's (and
        ``settle`` then only raises a write the server refused)."""
        handle.flush()
        if self.sftp is None:
            os.fsync(handle.fileno())
            if mtime is not None:
                self.set_mtime(path, mtime)
            return
        if mtime is not None:
            handle.utime(mtime.timestamp())
        handle.settle()

    def explain(self, exc: BaseException, path: str) -> BaseException:
        """``exc`` from writing ``path``, as ENOSPC or EROFS where an SFTP server refused it for want of room or
        on a read-only filesystem (ask while what was written is still there: removing it frees the room again)."""
        return self.dst.explain(exc, path) if self.sftp is not None else exc  # type: ignore[attr-defined]

    def close_unanswered(self, handle: Any) -> None:
        """Close without waiting for the server's answer: on SFTP it arrives before the answer to the next request
        (the server answers in order), so the rename that follows does not wait a round trip longer."""
        if self.sftp is not None:
            handle.close_unanswered()
        else:
            handle.close()

    def set_mtime(self, path: str, mtime: datetime) -> None:
        if self.sftp is not None:
            self.sftp.utime(self.abs(path), mtime.timestamp())
        else:
            self.dst.set_mtime(path, mtime)

    def md5(self, path: str, size: int) -> str:
        """The MD5 of the file where it landed: ``md5sum`` on the SSH server for large files, else read back."""
        if self.sftp is not None and size >= REMOTE_HASH_FROM:
            remote = remote_md5(self.dst, path)
            if remote:
                return remote
        with self.open(path, "rb") as handle:
            return read_back(handle, size)

    def rename(self, temp: str, final: str) -> None:
        """Replace ``final`` with ``temp`` in one step (refused, with the reason, where ``final`` is a directory)."""
        try:
            if self.sftp is not None:
                self.sftp.posix_rename(self.abs(temp), self.abs(final))
            else:
                self.dst.move(temp, final)
        except (OSError, ProviderError):
            if self._is_dir(final):
                raise ProviderError(f"{self.dst.display}: {final} is a directory") from None
            raise

    def _is_dir(self, path: str) -> bool:
        try:
            if self.sftp is not None:
                return statmod.S_ISDIR(self.sftp.stat(self.abs(path)).mode or 0)
            return self.dst.stat(path).is_dir
        except (OSError, ProviderError):
            return False

    def remove(self, path: str) -> None:
        try:
            if self.sftp is not None:
                self.sftp.remove(self.abs(path))
            else:
                self.dst.delete(path)
        except (OSError, ProviderError):
            pass


def read_back(handle: Any, size: int) -> str:
    """MD5 of the first ``size`` bytes of an open file (an SFTP handle reads ahead, many requests in flight)."""
    handle.seek(0)
    if hasattr(handle, "read_ahead"):
        handle.read_ahead(size)
    digest, left = hashlib.md5(), size
    while left > 0 and (chunk := handle.read(min(READ_CHUNK, left))):
        digest.update(chunk)
        left -= len(chunk)
    return digest.hexdigest()
