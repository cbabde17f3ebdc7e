"""Content hashes of files, several algorithms in one read, many files in parallel threads.

hashlib, xxhash and blake3 release the GIL on large buffers, so threads overlap reading and
hashing without processes.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Protocol

import blake3
import xxhash

from syncoxide.catalog import HASH_ALGORITHMS
from syncoxide.errors import InvalidInput
from syncoxide.fs.nofollow import open_regular

CHUNK = 1 << 20


class _Hasher(Protocol):
    def update(self, data: bytes, /) -> object: ...

    def hexdigest(self) -> str: ...


_FACTORIES: dict[str, Callable[[], _Hasher]] = {
    "xxh3": xxhash.xxh3_128,
    "blake3": blake3.blake3,
    "md5": hashlib.md5,
    "sha1": hashlib.sha1,
}


def check_algorithms(names: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(names))
    for name in chosen:
        if name not in HASH_ALGORITHMS:
            raise InvalidInput(f"hash {name!r}: choose from {', '.join(HASH_ALGORITHMS)}")
    return chosen


def hash_file(
    path: str | int,
    algorithms: list[str],
    on_read: Callable[[int], None] = lambda _: None,
    stop: threading.Event | None = None,
) -> dict[str, str] | None:
    """Hex digests of the file's bytes, or None when it cannot be read (or ``stop`` was set, or it is no longer a
    regular file: a FIFO is never opened as data).

    ``path`` may be an open fd (read from its current offset, left open)."""
    hashers = [(name, _FACTORIES[name]()) for name in algorithms]
    try:
        fd = path if isinstance(path, int) else open_regular(path)
        with open(fd, "rb", buffering=0, closefd=not isinstance(path, int)) as data:
            while chunk := data.read(CHUNK):
                for _, hasher in hashers:
                    hasher.update(chunk)
                on_read(len(chunk))
                if stop is not None and stop.is_set():
                    return None
    except OSError:
        return None
    return {name: hasher.hexdigest() for name, hasher in hashers}


class Hasher:
    """Hashes lists of files with a pool of threads; use as a context manager. ``bytes_read`` grows
    as the threads read, so a caller can report progress inside one huge file."""

    def __init__(self, algorithms: list[str], *, threads: int = 4):
        self.algorithms = algorithms
        self.bytes_read = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="syncoxide-hash")

    def __enter__(self) -> Hasher:
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._pool.shutdown(cancel_futures=True)

    def _read(self, size: int) -> None:
        with self._lock:
            self.bytes_read += size

    def hash_all(
        self, paths: list[str], tick: Callable[[], None] = lambda: None, every_s: float = 1.0
    ) -> list[dict[str, str] | None]:
        """Digests of ``paths`` in order; ``tick`` runs every ``every_s`` while they are read, and what it
        raises (a cancellation) stops the threads within a chunk and is raised here."""
        futures = [self._pool.submit(hash_file, p, self.algorithms, self._read, self._stop) for p in paths]
        try:
            while wait(futures, timeout=every_s).not_done:
                tick()
        except BaseException:
            self._stop.set()
            raise
        return [f.result() for f in futures]
