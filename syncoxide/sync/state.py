"""The pair's state: each file as both sides last agreed on it, and the directories both had.

One-way runs decide from it and the two listings alone (no ``stat`` per file); bisync compares each side
with it (its baseline).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from syncoxide.providers.base import Entry
from syncoxide.sync.compare import Signature
from syncoxide.sync.models import Side


@dataclass(frozen=True)
class FileState:
    """A file as each side listed it when the pair was last in sync (path1 is the source)."""

    path: str
    path1: Signature
    path2: Signature

    @classmethod
    def of(cls, e1: Entry, e2: Entry, md5_1: str | None = None, md5_2: str | None = None) -> FileState:
        return cls(e1.path, Signature.of(e1, md5_1), Signature.of(e2, md5_2))

    def on(self, side: Side) -> Signature:
        return self.path1 if side is Side.path1 else self.path2

    def keeping_md5(self, kept: FileState | None) -> FileState:
        """An MD5 the state knew stays known while that side's size and time are what they were."""
        if kept is None or kept == self:
            return self
        return replace(self, path1=_carried(self.path1, kept.path1), path2=_carried(self.path2, kept.path2))


def _carried(now: Signature, was: Signature) -> Signature:
    if now.md5 or (now.size, now.mtime_ns) != (was.size, was.mtime_ns):
        return now
    return replace(now, md5=was.md5)


@dataclass(frozen=True)
class PairState:
    files: Mapping[str, FileState] = field(default_factory=dict)
    """by path"""
    dirs: frozenset[str] = frozenset()
    """the directories both sides had (bisync's baseline of folders)"""
