"""The temporary files of an SFTP root (``SftpProvider.temp_file_writer``): requests on the session by absolute
path, below folders the provider made or checked (``SftpProvider.mkdir`` refuses a symlink), without the
provider's own checks on every call. A write is durable once the server has answered it."""

from __future__ import annotations

import errno
import stat as statmod
from collections.abc import Callable
from datetime import datetime
from typing import Any

from syncoxide.providers.sftp.file import RemoteFile
from syncoxide.providers.sftp.session import SftpSession


class SftpTempFiles:
    def __init__(
        self,
        session: SftpSession,
        absolute: Callable[[str], str],
        explain: Callable[[BaseException, str], BaseException],
        failure: Callable[[Any, str], Exception],
    ):
        self._session = session
        self._abs = absolute
        self._explain = explain
        self._failure = failure

    def open(self, path: str, mode: str) -> RemoteFile:
        return RemoteFile(self._session, self._abs(path), mode)

    def size(self, path: str) -> int | None:
        try:
            return self._session.stat(self._abs(path)).size or 0
        except OSError as exc:
            if isinstance(exc, FileNotFoundError) or exc.errno == errno.ENOENT:
                return None
            raise

    def truncate(self, path: str, size: int) -> None:
        self._session.truncate(self._abs(path), size)

    def write_at(self, path: str, offset: int, data: bytes) -> None:
        with self.open(path, "r+b") as handle:
            handle.seek(offset)
            handle.write(data)  # closing waits for the server's answer to every write

    def seal(self, handle: Any, path: str, mtime: datetime | None) -> None:
        """The server answers in order, so its answer to the time change comes after every write's (and
        ``settle`` then only raises a write the server refused)."""
        handle.flush()
        if mtime is not None:
            handle.utime(mtime.timestamp())
        handle.settle()

    def close_unanswered(self, handle: Any) -> None:
        """The answer arrives before the answer to the next request, so the rename that follows does not wait a
        round trip longer."""
        handle.close_unanswered()

    def set_mtime(self, path: str, mtime: datetime) -> None:
        self._session.utime(self._abs(path), mtime.timestamp())

    def rename(self, temp: str, final: str) -> None:
        self._session.posix_rename(self._abs(temp), self._abs(final))

    def is_dir(self, path: str) -> bool:
        return statmod.S_ISDIR(self._session.stat(self._abs(path)).mode or 0)

    def remove(self, path: str) -> None:
        self._session.remove(self._abs(path))

    def explain(self, exc: BaseException, path: str) -> BaseException:
        return self._explain(exc, path)

    def failure(self, exc: Exception, path: str) -> Exception:
        return self._failure(exc, path)
