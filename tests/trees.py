"""Generated source trees and an exact comparison of two trees (bytes, type, mode, mtime, links)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

MiB = 1024 * 1024


def make_tree(root: Path, *, big_mib: int = 50, small_files: int = 2000) -> Path:
    """Nested dirs, unicode and space names, an empty file, symlinks, a big random file, many small ones."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "deep" / "er" / "deepest").mkdir(parents=True)
    (root / "deep" / "er" / "deepest" / "leaf.txt").write_text("at the bottom\n")
    (root / "naïve café ünïcödé").mkdir()
    (root / "naïve café ünïcödé" / "日本語 ファイル.txt").write_text("こんにちは\n", encoding="utf-8")
    (root / "with space").mkdir()
    (root / "with space" / "a file with spaces.md").write_text("# spaced out\n")
    (root / "empty.bin").write_bytes(b"")
    (root / "script.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "script.sh").chmod(0o750)
    (root / "private.key").write_text("not really a key\n")
    (root / "private.key").chmod(0o600)
    os.symlink("deep/er/deepest/leaf.txt", root / "link-to-leaf")
    os.symlink("does-not-exist", root / "dangling-link")
    with open(root / "big.random", "wb") as out:
        for _ in range(big_mib):
            out.write(os.urandom(MiB))
    small = root / "small"
    for i in range(small_files):
        folder = small / f"group-{i % 20:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"file-{i:05d}.txt").write_text(f"small file {i}\n" * (1 + i % 7))
    os.utime(root / "private.key", ns=(1_600_000_000_123_456_789, 1_600_000_000_123_456_789))
    return root


def _entries(root: Path) -> dict[str, os.stat_result]:
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            found[os.path.relpath(full, root)] = os.lstat(full)
    return found


def compare_trees(expected: Path, actual: Path) -> list[str]:
    """Differences between two trees; empty when every entry matches in type, bytes, mode and mtime."""
    want, have = _entries(expected), _entries(actual)
    problems = [f"missing: {p}" for p in sorted(want.keys() - have.keys())]
    problems += [f"unexpected: {p}" for p in sorted(have.keys() - want.keys())]
    for rel in sorted(want.keys() & have.keys()):
        a, b = want[rel], have[rel]
        if stat.S_IFMT(a.st_mode) != stat.S_IFMT(b.st_mode):
            problems.append(f"type differs: {rel}")
            continue
        if stat.S_ISLNK(a.st_mode):
            if os.readlink(expected / rel) != os.readlink(actual / rel):
                problems.append(f"link target differs: {rel}")
            continue
        if stat.S_IMODE(a.st_mode) != stat.S_IMODE(b.st_mode):
            problems.append(f"mode differs: {rel} {stat.S_IMODE(a.st_mode):o} != {stat.S_IMODE(b.st_mode):o}")
        if stat.S_ISREG(a.st_mode):
            if a.st_mtime_ns != b.st_mtime_ns:
                problems.append(f"mtime differs: {rel} {a.st_mtime_ns} != {b.st_mtime_ns}")
            if (expected / rel).read_bytes() != (actual / rel).read_bytes():
                problems.append(f"bytes differ: {rel}")
    return problems
