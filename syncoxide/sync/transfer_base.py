"""What every kind of transfer shares: its context and result, temporary names, and the checks on the source."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from syncoxide.errors import VerificationFailed
from syncoxide.providers.base import Entry, Provider, temp_name
from syncoxide.providers.errors import FULL, NoSpace, ProviderError, ProviderTransient
from syncoxide.providers.features import TempFileWriter
from syncoxide.sync.errors import Interrupted
from syncoxide.sync.hashing import HASH
from syncoxide.sync.throttle import Limiter

Progress = dict[str, Any]


class SourceChanged(ProviderTransient):
    """The source file changed while it was being copied; the next attempt copies the new one."""


@dataclass
class TransferContext:
    limiter: Limiter = field(default_factory=lambda: Limiter(None))
    check: Callable[[], None] = lambda: None
    """raises to stop (cancellation); called between chunks"""
    checkpoint: Callable[[Progress], None] = lambda progress: None
    """records resumable progress (the journal)"""
    on_bytes: Callable[[int], None] = lambda n: None
    chunk_size: int = 16 * 1024 * 1024
    large_file: int = 64 * 1024 * 1024
    parts: ThreadPoolExecutor | None = None
    """the run's threads for the chunks of large files (None: the transfer makes its own)"""
    dst_here: Callable[[], Provider] | None = None
    """the destination as the calling thread may use it (its own connection, where the destination has
    ``connection_per_thread``); None: the one given"""
    before_land: Callable[[], None] = lambda: None
    """called once the new version is sent and verified, just before it takes the final name (``backup_dir``
    moves the old one aside there)"""


@dataclass
class TransferResult:
    entry: Entry
    md5: str | None
    sent: int
    resumed_from: int = 0


def temp_for(path: str, token: str) -> str:
    return temp_name(path, token)


def source_mtime(src: Provider, entry: Entry) -> datetime:
    """The stored modification time (a listing of S3 has upload times; stat has the stored one)."""
    return entry.mtime if src.capabilities.listed_mtime else src.stat(entry.path).mtime


def check_source_unchanged(src: Provider, entry: Entry) -> None:
    now = src.stat(entry.path)
    if now.size != entry.size:
        raise SourceChanged(
            f"{src.display}: {entry.path} changed while it was copied (size {entry.size} -> {now.size})"
        )
    if src.capabilities.listed_mtime and abs(now.mtime.timestamp() - entry.mtime.timestamp()) > 1e-6:
        raise SourceChanged(f"{src.display}: {entry.path} changed while it was copied (modification time)")
    free = entry.hashes.get(HASH)
    if free and now.hashes.get(HASH) and now.hashes[HASH] != free:
        raise SourceChanged(f"{src.display}: {entry.path} changed while it was copied (hash)")


def check_read(src: Provider, entry: Entry, count: int, md5: str) -> None:
    """All of the source was read, and it hashes to the source's free hash where it has one."""
    if count != entry.size:
        raise SourceChanged(
            f"{src.display}: {entry.path} changed while it was copied (read {count} bytes, expected {entry.size})"
        )
    free = entry.hashes.get(HASH)
    if free and free != md5:
        raise VerificationFailed(f"{src.display}: {entry.path}: read {md5}, the server says {free}: corrupted read")


def resume_valid(resume: Progress | None, entry: Entry, kind: str) -> bool:
    if not resume:
        return False
    return (
        resume.get("writer") == kind
        and resume.get("size") == entry.size
        and resume.get("mtime") == entry.mtime.timestamp()
    )


def resumable(exc: BaseException) -> bool:
    """Keep what was sent for the next attempt after an interruption, not after a hard failure."""
    if isinstance(exc, VerificationFailed | SourceChanged):
        return False
    if isinstance(exc, Interrupted):
        return True
    if isinstance(exc, ProviderTransient | ConnectionError | EOFError | TimeoutError):
        return True
    if isinstance(exc, OSError):
        return exc.errno not in FULL
    return not isinstance(exc, Exception)  # KeyboardInterrupt, cancellation (BaseException)


def provider_failure(dst: Provider, files: TempFileWriter, exc: BaseException, path: str) -> BaseException:
    """The error to report for a failed write to ``dst`` through ``files``: the provider's own classes, a full disk
    said as such."""
    if isinstance(exc, ProviderError | VerificationFailed | Interrupted):
        return exc
    if isinstance(exc, OSError) and exc.errno in FULL:
        return NoSpace.of(dst.display, path, exc)
    if isinstance(exc, Exception):
        return files.failure(exc, path)
    return exc
