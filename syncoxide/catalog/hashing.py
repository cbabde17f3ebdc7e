"""Content hashes of files, several algorithms in one read, many files in parallel threads.

hashlib, xxhash and blake3 release the GIL on large buffers, so threads overlap reading and
hashing without processes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import blake3
import xxhash

from syncoxide.catalog import HASH_ALGORITHMS
from syncoxide.errors import InvalidInput

CHUNK = 1 << 20
_FACTORIES: dict[str, Callable[[], object]] = {
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


def hash_file(path: str, algorithms: list[str]) -> dict[str, str] | None:
    """Hex digests of the file's bytes, or None when it cannot be read."""
    hashers = [(name, _FACTORIES[name]()) for name in algorithms]
    try:
        with open(path, "rb", buffering=0) as data:
            while chunk := data.read(CHUNK):
                for _, hasher in hashers:
                    hasher.update(chunk)  # type: ignore[attr-defined]
    except OSError:
        return None
    return {name: hasher.hexdigest() for name, hasher in hashers}  # type: ignore[attr-defined]


class Hasher:
    """Hashes lists of files with a pool of threads; use as a context manager."""

    def __init__(self, algorithms: list[str], *, threads: int = 4):
        self.algorithms = algorithms
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="syncoxide-hash")

    def __enter__(self) -> Hasher:
        return self

    def __exit__(self, *_: object) -> None:
        self._pool.shutdown(cancel_futures=True)

    def hash_all(self, paths: list[str]) -> list[dict[str, str] | None]:
        return list(self._pool.map(lambda p: hash_file(p, self.algorithms), paths))
