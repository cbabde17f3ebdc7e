"""File operations on a destination with a temp-file writer (``Provider.temp_file_writer``): what a verified,
resumable transfer needs below the provider contract.

The writer opens files at an offset, makes writes durable, renames into place, and never follows a symlink on
the way (each provider says how: see its ``temp_file_writer``). Here is what a transfer adds on top: the
file's MD5 where it landed (hashed by the server where it offers that, ``Provider.server_md5``, else read
back), a rename refused with its reason, and removal that never fails."""

from __future__ import annotations

import hashlib
from typing import Any

from syncoxide.providers.base import Provider
from syncoxide.providers.errors import NotSupported, ProviderError
from syncoxide.providers.features import TempFileWriter
from syncoxide.sync.hashing import READ_CHUNK, REMOTE_HASH_FROM


class FileOps:
    def __init__(self, dst: Provider):
        files = dst.temp_file_writer()
        if files is None:
            raise NotSupported(f"{dst.display}: files cannot be written in place there")
        self.dst = dst
        self.files: TempFileWriter = files
        self._server = dst.server_md5()

    def write_at(self, path: str, offset: int, data: bytes) -> None:
        """Write ``data`` at ``offset`` of an existing file and make it durable (one chunk of a large file)."""
        self.files.write_at(path, offset, data)

    def hashed_by_server(self, size: int) -> bool:
        """Whether a file of ``size`` is worth hashing on the server rather than reading back."""
        return self._server is not None and size >= REMOTE_HASH_FROM

    def md5(self, path: str, size: int) -> str:
        """The MD5 of the file where it landed: by the server for large files where it can, else read back."""
        if self.hashed_by_server(size) and self._server is not None and (remote := self._server.remote_md5(path)):
            return remote
        with self.files.open(path, "rb") as handle:
            return read_back(handle, size)

    def rename(self, temp: str, final: str) -> None:
        """Replace ``final`` with ``temp`` in one step (refused, with the reason, where ``final`` is a directory)."""
        try:
            self.files.rename(temp, final)
        except (OSError, ProviderError):
            if self._is_dir(final):
                raise ProviderError(f"{self.dst.display}: {final} is a directory") from None
            raise

    def _is_dir(self, path: str) -> bool:
        try:
            return self.files.is_dir(path)
        except (OSError, ProviderError):
            return False

    def remove(self, path: str) -> None:
        try:
            self.files.remove(path)
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
