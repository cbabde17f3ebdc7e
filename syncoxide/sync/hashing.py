"""MD5 of files on any side: the provider's free hash, a hash computed by the server, or by reading.

MD5 is the one hash every side can give: S3's single-part ETag, ``md5sum`` on an SSH server, or
hashlib while streaming. It detects corruption in transit and at rest; it is not a security hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from syncoxide.providers.base import Entry, Provider, Readable

if TYPE_CHECKING:
    from syncoxide.sync.throttle import Limiter

HASH = "md5"
READ_CHUNK = 1024 * 1024
REMOTE_HASH_FROM = 8 * 1024 * 1024
"""SFTP files from this size are hashed by ``md5sum`` on the server instead of read back."""


class HashingReader:
    """Wraps a source stream: hashes, counts, throttles and checks for cancellation as it is read."""

    def __init__(
        self,
        raw: Readable,
        digest: hashlib._Hash | None = None,
        limiter: Limiter | None = None,
        check: Callable[[], None] | None = None,
    ):
        self._raw = raw
        self.digest = digest or hashlib.md5()
        self.count = 0
        self._limiter = limiter
        self._check = check

    def read(self, size: int = -1, /) -> bytes:
        if self._check is not None:
            self._check()
        data = self._raw.read(size)
        if data:
            if self._limiter is not None:
                self._limiter.take(len(data))
            self.digest.update(data)
            self.count += len(data)
        return data


def read_md5(
    provider: Provider, path: str, offset: int = 0, length: int | None = None, digest: hashlib._Hash | None = None
) -> hashlib._Hash:
    digest = digest or hashlib.md5()
    with provider.open_read(path, offset, length) as stream:
        while chunk := stream.read(READ_CHUNK):
            digest.update(chunk)
    return digest


def remote_md5(provider: Provider, path: str) -> str | None:
    """``md5sum`` run by an SSH server on its own file; None where that is not possible."""
    ask = getattr(provider, "remote_md5", None)
    return ask(path) if ask is not None else None


def file_md5(provider: Provider, entry: Entry) -> str:
    """The file's MD5, as cheaply as this provider can give it."""
    free = entry.hashes.get(HASH)
    if free:
        return free
    if entry.size >= REMOTE_HASH_FROM:
        remote = remote_md5(provider, entry.path)
        if remote:
            return remote
    return read_md5(provider, entry.path).hexdigest()
