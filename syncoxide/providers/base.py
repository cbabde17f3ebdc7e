"""The provider contract, modelled on rclone's Fs/Object.

A provider is one place (a directory, an SFTP root, an S3 bucket prefix, a WebDAV collection, an
rclone remote) addressed by relative paths (see paths.py). Writes are atomic: a reader sees the
old object or the whole new one, never a partial one, and a failed write leaves nothing behind.

What a provider can do beyond that is declared, never inferred from its ``kind`` (which only names it):
``Capabilities`` (flags with defaults), and the optional features of features.py, each an accessor of
``Provider`` that returns None where there is none.
"""

from __future__ import annotations

import functools
import io
import secrets
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

from syncoxide.fs.modes import user_file_mode
from syncoxide.fs.nofollow import kind_of
from syncoxide.providers import paths
from syncoxide.providers.errors import NotSupported
from syncoxide.providers.features import MultipartWriter, ServerMd5, TempFileWriter

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

HASH_TYPES = ("md5", "sha1", "sha256")
TEMP_MARKER = ".syncoxide-tmp-"
COPY_CHUNK = 1024 * 1024


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class ReadStream(Readable, Protocol):
    """What ``open_read`` hands back: read it (to ``b""`` at the end), then close it, as ``with`` does."""

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None, /
    ) -> None: ...


@dataclass(frozen=True)
class Entry:
    """One file or directory. ``hashes`` holds what the server gave for free (lowercase hex)."""

    path: str
    size: int
    mtime: datetime
    is_dir: bool = False
    hashes: dict[str, str] = field(default_factory=dict)
    mode: int | None = None
    """permission bits, where the provider has them (local, SFTP)"""
    special: str | None = None
    """what it is when it is neither a regular file nor a directory ('symlink', 'FIFO', 'socket', 'device'):
    such an entry is only ever reported, never opened as data"""


@dataclass(frozen=True)
class Metadata:
    """What rclone's ``--metadata`` carries besides mode and modification time."""

    uid: int | None = None
    gid: int | None = None
    xattrs: dict[bytes, bytes] = field(default_factory=dict)
    """extended attributes of the user namespace (``user.*``), by name"""


@dataclass(frozen=True)
class Capabilities:
    hashes: frozenset[str] = frozenset()
    """Hash types the provider gives without reading the data (in stat, and in list where it can)."""
    server_side_copy: bool = False
    set_mtime: bool = True
    mtime_precision: float = 1e-6
    """Seconds: a stored mtime reads back within this of what was set."""
    directories: bool = True
    """Empty directories exist on their own (False for S3, where a directory is a key prefix)."""
    listed_mtime: bool = True
    """``list`` gives the stored mtime; False where only ``stat`` does (S3: a listing has upload times)."""
    modes: bool = False
    """Files have permission bits (``Entry.mode``, ``set_mode``)."""
    metadata: frozenset[str] = frozenset()
    """What ``read_metadata`` / ``write_metadata`` carry besides mode and time: ``owner``, ``xattrs``."""
    connection_per_thread: bool = False
    """Its connection carries one caller at a time (SFTP): a thread of its own opens a provider of its own."""


@functools.cache
def default_mode() -> int:
    """What a new file gets without a source mode to copy: 0666 less the user's umask, as open() would give
    it had syncoxide not made its own umask private (fs/modes.py)."""
    return user_file_mode()


def special_kind(mode: int) -> str | None:
    """None for a regular file or a directory; else what it is ('symlink', 'FIFO', 'socket', 'device')."""
    kind = kind_of(mode)
    return None if kind in ("file", "folder") else kind


def set_aside(entry: Entry, specials: list[Entry] | None) -> bool:
    """For a listing: True (and the entry noted in ``specials``) when it is a symlink or a special file, which
    is never followed nor opened as data."""
    if entry.special is None:
        return False
    if specials is not None:
        specials.append(entry)
    return True


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def temp_name(path: str, token: str | None = None) -> str:
    """A hidden sibling of ``path`` for an atomic write (``token``: the random part, to find it again); the sync
    layer ignores such names. The name's first 100 bytes are kept, so it fits wherever the name does."""
    directory, base = paths.parent(path), paths.name(path)
    short = base.encode("utf-8", "surrogatepass")[:100].decode("utf-8", "ignore")
    return paths.join(directory, f".{short}{TEMP_MARKER}{token or secrets.token_hex(6)}")


def is_temp(path: str) -> bool:
    return TEMP_MARKER in paths.name(path)


class TrackedSource(io.RawIOBase):
    """Wraps the caller's source so a failure of the source is told apart from one of the provider.

    A write that fails because its source failed cleans up and re-raises the source's own error,
    whatever the transport (boto3, an ssh pipe, a subprocess) wrapped it in.
    """

    def __init__(self, source: Readable):
        self._source = source
        self.error: BaseException | None = None
        self.count = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1, /) -> bytes:
        try:
            data = self._source.read(size)
        except BaseException as exc:
            self.error = exc
            raise
        self.count += len(data)
        return data

    def readinto(self, buffer: WriteableBuffer) -> int:
        with memoryview(buffer) as view:
            data = self.read(len(view))
            view[: len(data)] = data
        return len(data)


class RangeReader(io.RawIOBase):
    """A readable stream over ``raw`` that stops after ``length`` bytes and closes what it wraps."""

    def __init__(self, raw: Readable, length: int | None, on_close: object = None):
        self._raw = raw
        self._left = length
        self._on_close = on_close

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1, /) -> bytes:
        if self._left is not None:
            if self._left <= 0:
                return b""
            size = self._left if size is None or size < 0 else min(size, self._left)
        data = self._raw.read(size if size is not None else -1)
        if self._left is not None:
            self._left -= len(data)
        return data

    def readinto(self, buffer: WriteableBuffer) -> int:
        with memoryview(buffer) as view:
            data = self.read(len(view))
            view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            try:
                closer = self._on_close or getattr(self._raw, "close", None)
                if callable(closer):
                    closer()
            finally:
                super().close()


class Provider(ABC):
    """One storage location. Open it with ``open_provider``; close it (or use ``with``) when done."""

    kind: str = ""
    capabilities: Capabilities = Capabilities()

    def __init__(self, display: str):
        self.display = display
        """Where it is, for messages: never contains a credential."""

    # -- what a provider must implement ------------------------------------------------------

    @abstractmethod
    def list(self, path: str = "", *, specials: list[Entry] | None = None) -> Iterator[Entry]:
        """Every file and directory under ``path`` (recursively, streaming, in no particular order).

        Symlinks, FIFOs, sockets and devices are not followed nor listed: they are appended to ``specials``
        when it is given, so the caller can say what it left out."""

    @abstractmethod
    def stat(self, path: str) -> Entry:
        """The entry at ``path``; ObjectNotFound if there is none."""

    @abstractmethod
    def open_read(self, path: str, offset: int = 0, length: int | None = None) -> ReadStream:
        """A stream of ``length`` bytes (or to the end) from ``offset``; close it when done."""

    @abstractmethod
    def write(
        self,
        path: str,
        source: Readable,
        *,
        size: int | None = None,
        mtime: datetime | None = None,
        in_place: bool = False,
    ) -> Entry:
        """Store everything ``source`` yields at ``path`` atomically (parents are created).

        ``in_place``: the caller writes to a temporary name of its own and renames it when it has checked
        it, so the provider may skip its own temporary name (what fails is still removed)."""

    @abstractmethod
    def mkdir(self, path: str) -> None:
        """Create a directory and its parents; no error if it exists."""

    @abstractmethod
    def delete(self, path: str) -> None:
        """Delete the file at ``path``; ObjectNotFound if there is none."""

    @abstractmethod
    def rmdir(self, path: str) -> None:
        """Delete the empty directory at ``path``."""

    @abstractmethod
    def move(self, src: str, dst: str) -> None:
        """Rename a file, replacing ``dst`` if it exists (parents of ``dst`` are created)."""

    def copy(self, src: str, dst: str) -> None:
        """Server-side copy of a file, where ``capabilities.server_side_copy``."""
        raise NotSupported(f"{self.display}: server-side copy is not supported")

    def set_mtime(self, path: str, mtime: datetime) -> None:
        """Set a file's modification time, where ``capabilities.set_mtime``."""
        raise NotSupported(f"{self.display}: setting modification times is not supported")

    def set_mode(self, path: str, mode: int) -> None:
        """Set a file's permission bits, where ``capabilities.modes``."""
        raise NotSupported(f"{self.display}: permission bits are not supported")

    def read_metadata(self, path: str) -> Metadata:
        """A file's or folder's owner and extended attributes, as far as ``capabilities.metadata`` goes."""
        return Metadata()

    def write_metadata(self, path: str, metadata: Metadata) -> None:  # noqa: B027 - most keep none of it
        """Give a file or folder what ``metadata`` holds of what this provider keeps (the rest is left)."""

    def close(self) -> None:  # noqa: B027 - providers without a connection have nothing to close
        pass

    # -- optional features (features.py): None where the provider has none -------------------------

    def temp_file_writer(self) -> TempFileWriter | None:
        """Files written in place at offsets, made durable and renamed into place (local, SFTP)."""
        return None

    def multipart_writer(self) -> MultipartWriter | None:
        """Whole objects by a server-checked PUT or a resumable multipart upload (S3)."""
        return None

    def server_md5(self) -> ServerMd5 | None:
        """A server that hashes its own files (``md5sum`` over SSH)."""
        return None

    # -- shared helpers -------------------------------------------------------------------------

    @property
    def hashes(self) -> frozenset[str]:
        return self.capabilities.hashes

    def read_bytes(self, path: str, offset: int = 0, length: int | None = None) -> bytes:
        with self.open_read(path, offset, length) as stream:
            return stream.read()

    def write_bytes(self, path: str, data: bytes, *, mtime: datetime | None = None) -> Entry:
        return self.write(path, io.BytesIO(data), size=len(data), mtime=mtime)

    def exists(self, path: str) -> bool:
        from syncoxide.providers.errors import ObjectNotFound

        try:
            self.stat(path)
        except ObjectNotFound:
            return False
        return True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.display}>"


def check_range(offset: int, length: int | None) -> None:
    from syncoxide.errors import InvalidInput

    if offset < 0 or (length is not None and length < 0):
        raise InvalidInput(f"byte range offset={offset} length={length} must not be negative")
