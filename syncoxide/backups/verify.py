"""Check restored files against the snapshot's listing: type, size, mode, mtime, link target.

What is checked is what actually sits at the target path: every folder on the way is opened
without following symlinks (nofollow.py), so a file reached through a planted symlink is not
counted as restored."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from syncoxide.fs.nofollow import Blocked, Walker, lstat_at, split
from syncoxide.models import FileRecord, FileType

MAX_REPORTED = 20
PROGRESS_EVERY = 1000
_MTIME_TOLERANCE_NS = 1000  # borg lists mtimes rounded to microseconds


@dataclass
class VerifyReport:
    checked: int = 0
    files: int = 0
    bytes: int = 0
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def add_problem(self, text: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_REPORTED:
            self.problems.append(text)


def _type_of(st: os.stat_result) -> FileType:
    if stat.S_ISREG(st.st_mode):
        return FileType.file
    if stat.S_ISDIR(st.st_mode):
        return FileType.dir
    if stat.S_ISLNK(st.st_mode):
        return FileType.symlink
    return FileType.other


def _check(record: FileRecord, at: tuple[int, str] | Blocked | None, report: VerifyReport) -> None:
    """Check what sits at ``at`` (an opened parent folder and a name), never following a symlink."""
    if isinstance(at, Blocked):
        report.add_problem(f"{record.path}: not reachable in the target, {at.path} is {at.what}, not a folder")
        return
    st = lstat_at(*at) if at is not None else None
    if at is None or st is None:
        report.add_problem(f"{record.path}: missing")
        return
    kind = _type_of(st)
    if kind != record.type:
        report.add_problem(f"{record.path}: is a {kind}, snapshot has a {record.type}")
        return
    if kind == FileType.symlink:
        if record.link_target is not None and os.readlink(at[1], dir_fd=at[0]) != record.link_target:
            report.add_problem(f"{record.path}: link target differs")
        return
    if kind == FileType.dir:
        return  # a folder may have been there before the restore, with its own mode and mtime
    if stat.S_IMODE(st.st_mode) != record.mode:
        report.add_problem(f"{record.path}: mode {stat.S_IMODE(st.st_mode):o}, snapshot has {record.mode:o}")
    if kind == FileType.file:
        report.files += 1
        report.bytes += st.st_size
        if st.st_size != record.size:
            report.add_problem(f"{record.path}: size {st.st_size}, snapshot has {record.size}")
        if abs(st.st_mtime_ns - record.mtime_ns) >= _MTIME_TOLERANCE_NS:
            report.add_problem(f"{record.path}: mtime differs from the snapshot")


@dataclass(frozen=True)
class Locator:
    """Where entries were restored: below ``root``, at the components ``parts`` gives (None: not restored)."""

    root: Path
    parts: Callable[[FileRecord], list[str] | None]


def under(target: Path) -> Locator:
    """Locate entries at their absolute path below ``target`` (a plain restore)."""
    return Locator(target, lambda record: split(record.path))


def _reach(walker: Walker, parts: list[str]) -> tuple[int, str] | Blocked | None:
    """The opened parent and name of ``parts``; None when a folder above is missing."""
    try:
        return walker.parent(parts)
    except Blocked as blocked:
        return blocked
    except (FileNotFoundError, NotADirectoryError):
        return None


def _as_listed(walker: Walker, parts: list[str]) -> list[str] | None:
    """``parts`` with each component that is not there replaced by the one name in its folder that a listing
    shows so: borg 1.4 prints every byte of a name that is not UTF-8 as '?', while it restores the bytes."""
    found: list[str] = []
    for part in parts:
        try:
            folder = walker.folder(found)
        except (OSError, Blocked):
            return None
        if lstat_at(folder, part) is None:
            if "?" not in part:
                return None
            alike = [n for n in os.listdir(folder) if n != part and n.encode("utf-8", "replace").decode() == part]
            if len(alike) != 1:
                return None
            part = alike[0]
        found.append(part)
    return found


def verify_restore(
    records: Iterable[FileRecord],
    locate: Locator,
    on_progress: Callable[[VerifyReport], None] | None = None,
) -> VerifyReport:
    """Every entry of ``records`` must be found where ``locate`` says, each looked at relative to its
    opened parent folder, so an entry behind a symlink counts as not there."""
    report = VerifyReport()
    with Walker(locate.root) as walker:
        for record in records:
            parts = locate.parts(record)
            if not parts:  # not restored, or the target folder itself
                continue
            report.checked += 1
            at = _reach(walker, parts)
            if "?" in record.path and (at is None or (isinstance(at, tuple) and lstat_at(*at) is None)):
                listed = _as_listed(walker, parts)
                at = _reach(walker, listed) if listed else at
            _check(record, at, report)
            if on_progress and report.checked % PROGRESS_EVERY == 0:
                on_progress(report)
    return report
