"""The temporary files of a local directory (``LocalProvider.temp_file_writer``): through the provider's own
operations, which reach every path from the root without following a symlink; durable by fsync."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from syncoxide.providers.errors import ObjectNotFound

if TYPE_CHECKING:
    from syncoxide.providers.local import LocalProvider


class LocalTempFiles:
    def __init__(self, provider: LocalProvider, failure: Callable[[Any, str], Exception]):
        self._provider = provider
        self._failure = failure

    def open(self, path: str, mode: str) -> BinaryIO:
        return self._provider.open_file(path, mode)

    def size(self, path: str) -> int | None:
        try:
            return self._provider.stat(path).size
        except ObjectNotFound:
            return None

    def truncate(self, path: str, size: int) -> None:
        with self.open(path, "r+b") as handle:
            handle.truncate(size)

    def write_at(self, path: str, offset: int, data: bytes) -> None:
        with self.open(path, "r+b") as handle:
            handle.seek(offset)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    def seal(self, handle: Any, path: str, mtime: datetime | None) -> None:
        handle.flush()
        os.fsync(handle.fileno())
        if mtime is not None:
            self._provider.set_mtime(path, mtime)

    def close_unanswered(self, handle: Any) -> None:
        handle.close()

    def set_mtime(self, path: str, mtime: datetime) -> None:
        self._provider.set_mtime(path, mtime)

    def rename(self, temp: str, final: str) -> None:
        self._provider.move(temp, final)

    def is_dir(self, path: str) -> bool:
        return self._provider.stat(path).is_dir

    def remove(self, path: str) -> None:
        self._provider.delete(path)

    def explain(self, exc: BaseException, path: str) -> BaseException:
        return exc

    def failure(self, exc: Exception, path: str) -> Exception:
        return self._failure(exc, path)
