"""Is a file the same on both sides? By size + modification time, by hash, or by the recorded state."""

from __future__ import annotations

from dataclasses import dataclass

from syncoxide.providers.base import Entry, Provider
from syncoxide.sync.hashing import HASH, file_md5


@dataclass(frozen=True)
class Signature:
    """What a listing said about a file when both sides were last known to be in sync."""

    size: int
    mtime_ns: int
    md5: str | None = None

    @classmethod
    def of(cls, entry: Entry, md5: str | None = None) -> Signature:
        return cls(entry.size, mtime_ns(entry), md5 or entry.hashes.get(HASH))

    def matches(self, entry: Entry) -> bool:
        """The listing still says the same (the file has not changed since)."""
        if entry.size != self.size:
            return False
        listed = entry.hashes.get(HASH)
        if listed and self.md5:
            return listed == self.md5
        return mtime_ns(entry) == self.mtime_ns


def mtime_ns(entry: Entry) -> int:
    return round(entry.mtime.timestamp() * 1e9)


def precision(a: Provider, b: Provider) -> float:
    return max(a.capabilities.mtime_precision, b.capabilities.mtime_precision)


def same_mtime(a: Entry, b: Entry, tolerance: float) -> bool:
    return abs(a.mtime.timestamp() - b.mtime.timestamp()) < tolerance + 1e-6


def common_hash(a: Entry, b: Entry) -> tuple[str, str] | None:
    """Hashes both listings carry for free, if they share a type."""
    for kind in sorted(set(a.hashes) & set(b.hashes)):
        return a.hashes[kind], b.hashes[kind]
    return None


def same_content(src: Provider, s: Entry, dst: Provider, d: Entry) -> tuple[bool, str | None]:
    """Compare by hash (free where both sides have one, else MD5 computed); returns (same, source md5)."""
    if s.size != d.size:
        return False, None
    shared = common_hash(s, d)
    if shared is not None:
        return shared[0] == shared[1], s.hashes.get(HASH)
    a = file_md5(src, s)
    return a == file_md5(dst, d), a
