"""Walking a directory tree fast into column batches: os.scandir, one lstat per entry, no recursion.

Unreadable entries are recorded as errors and the walk goes on. ``TopWalk`` walks the top of a
tree in this process; what it leaves (whole subtrees) is shared among processes (scan.py).
"""

from __future__ import annotations

import os
import re
import stat
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fnmatch import translate

BATCH_ROWS = 64 * 1024
TRASH_DIR_NAME = ".syncoxide-trash"
"""Where cleanups put what they move, below a source's root; scans never enter it."""
ERROR_SAMPLE = 20

_TYPE_NAMES = {stat.S_IFREG: "file", stat.S_IFDIR: "dir", stat.S_IFLNK: "symlink"}
COLUMNS = ("path", "parent", "name", "type", "size", "mtime_ns", "mode", "uid", "gid", "link_target")


@dataclass
class WalkStats:
    files: int = 0
    dirs: int = 0
    bytes: int = 0
    errors: int = 0
    error_sample: list[str] = field(default_factory=list)

    def add(self, other: WalkStats) -> None:
        self.files += other.files
        self.dirs += other.dirs
        self.bytes += other.bytes
        self.errors += other.errors
        self.error_sample = (self.error_sample + other.error_sample)[:ERROR_SAMPLE]

    def error(self, path: str, exc: OSError) -> None:
        self.errors += 1
        if len(self.error_sample) < ERROR_SAMPLE:
            self.error_sample.append(f"{path}: {exc.strerror or exc}")


def exclude_matcher(patterns: list[str]) -> Callable[[str, str], bool] | None:
    """One compiled regex for the project's exclude syntax (see engines/excludes.py): (path, name) -> excluded."""
    if not patterns:
        return None
    anchored = [translate(p) for p in patterns if p.startswith("/")]
    by_name = [translate(p) for p in patterns if not p.startswith("/") and "/" not in p]
    by_tail = [translate("*/" + p) for p in patterns if not p.startswith("/") and "/" in p]
    path_re = re.compile("|".join(anchored + by_tail)) if anchored or by_tail else None
    name_re = re.compile("|".join(by_name)) if by_name else None

    def excluded(path: str, name: str) -> bool:
        return bool((name_re and name_re.match(name)) or (path_re and path_re.match(path)))

    return excluded


class _Columns:
    def __init__(self) -> None:
        self.data: dict[str, list] = {name: [] for name in COLUMNS}

    def __len__(self) -> int:
        return len(self.data["path"])

    def take(self) -> dict[str, list]:
        taken, self.data = self.data, {name: [] for name in COLUMNS}
        return taken


def _scan_dir(
    directory: str,
    cols: dict[str, list],
    stats: WalkStats,
    excluded: Callable[[str, str], bool] | None,
    dev: int | None,
) -> list[str]:
    """Append the directory's entries to ``cols``; return its subdirectories to walk."""
    subdirs: list[str] = []
    try:
        entries = os.scandir(directory)
    except OSError as exc:
        stats.error(directory, exc)
        return subdirs
    prefix = directory if directory != "/" else ""
    paths, parents, names, types = cols["path"], cols["parent"], cols["name"], cols["type"]
    sizes, mtimes, modes, uids, gids, links = (cols[c] for c in COLUMNS[4:])
    file_type = _TYPE_NAMES
    with entries:
        for entry in entries:
            name = entry.name
            path = f"{prefix}/{name}"
            if excluded is not None and excluded(path, name):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                stats.error(path, exc)
                continue
            kind = file_type.get(stat.S_IFMT(st.st_mode), "other")
            link = None
            size = 0
            if kind == "file":
                stats.files += 1
                size = st.st_size
                stats.bytes += size
            elif kind == "dir":
                stats.dirs += 1
                if dev is None or st.st_dev == dev:
                    subdirs.append(path)
            elif kind == "symlink":
                try:
                    link = os.readlink(path)
                except OSError as exc:
                    stats.error(path, exc)
            paths.append(path)
            parents.append(directory)
            names.append(name)
            types.append(kind)
            sizes.append(size)
            mtimes.append(st.st_mtime_ns)
            modes.append(st.st_mode & 0o7777)
            uids.append(st.st_uid)
            gids.append(st.st_gid)
            links.append(link)
    return subdirs


def walk_subtrees(
    roots: list[str],
    excludes: list[str],
    dev: int | None,
    stats: WalkStats,
    cancelled: Callable[[], bool] = lambda: False,
) -> Iterator[dict[str, list]]:
    """Every entry below each root (not the roots), depth first, in column dicts of up to BATCH_ROWS rows."""
    excluded = exclude_matcher(excludes)
    columns = _Columns()
    pending = list(reversed(roots))
    while pending:
        pending.extend(reversed(_scan_dir(pending.pop(), columns.data, stats, excluded, dev)))
        if len(columns) >= BATCH_ROWS:
            yield columns.take()
            if cancelled():
                return
    if len(columns):
        yield columns.take()


def root_entry(root: str) -> dict[str, list]:
    st = os.lstat(root)
    parent, name = os.path.split(root) if root != "/" else ("", "/")
    return {"path": [root], "parent": [parent], "name": [name], "type": ["dir"], "size": [0],
            "mtime_ns": [st.st_mtime_ns], "mode": [st.st_mode & 0o7777], "uid": [st.st_uid], "gid": [st.st_gid],
            "link_target": [None]}  # fmt: skip


class TopWalk:
    """Walk breadth-first from root, in this process, until ``budget`` entries are seen or the tree ends.

    ``batches()`` yields the entries (root first); afterwards ``pending`` holds the folders not yet
    walked, each a whole subtree for another process. A small tree is finished here, so it never
    pays for starting processes.
    """

    def __init__(self, root: str, excludes: list[str], dev: int | None, stats: WalkStats, *, budget: int):
        self.root, self.dev, self.stats, self.budget = root, dev, stats, budget
        self.excluded = exclude_matcher(excludes)
        self.pending: deque[str] = deque([root])

    def batches(self, cancelled: Callable[[], bool] = lambda: False) -> Iterator[dict[str, list]]:
        columns = _Columns()
        for name, values in root_entry(self.root).items():
            columns.data[name].extend(values)
        self.stats.dirs += 1
        seen = 1
        while self.pending and seen < self.budget:
            before = len(columns)
            self.pending.extend(_scan_dir(self.pending.popleft(), columns.data, self.stats, self.excluded, self.dev))
            seen += len(columns) - before
            if len(columns) >= BATCH_ROWS:
                yield columns.take()
                if cancelled():
                    return
        if len(columns):
            yield columns.take()
