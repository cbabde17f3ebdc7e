"""Moving a restore from its staging dir into the target: strip-components and the overwrite policy.

The engine restores into a staging dir inside the target (same filesystem). Each file is then
renamed into its final place, so a final path only ever holds a complete file, and an existing
file is replaced only as the policy allows: never, if-newer (the snapshot's copy is newer), always.
An existing entry of another type (a folder where the snapshot has a file) is never replaced.

Nothing is written through a symlink: both trees are walked with opened folders (nofollow.py),
each entry is renamed relative to its opened parent, and a folder of the snapshot whose place in
the target holds a symlink (or a file) is not entered; what lies below it is reported as blocked.
"""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from syncoxide.errors import InvalidInput
from syncoxide.fs.modes import make_user_dirs
from syncoxide.fs.nofollow import Blocked, closing_fd, lstat_at, open_child, open_root, split
from syncoxide.models import Overwrite

STAGING_PREFIX = ".syncoxide-restore-"


def staging_dir(target: Path, run_id: str) -> Path:
    return target / f"{STAGING_PREFIX}{run_id}"


def fresh_staging(target: Path, run_id: str) -> Path:
    """An empty staging dir of this run inside ``target``, made by us (0700): a leftover of an earlier
    attempt is removed, one that is not a folder (a planted symlink) is unlinked, never followed. A target
    that is not there yet is made as the user's umask says (fs/modes.py), not 0700."""
    make_user_dirs(target)
    staging = staging_dir(target, run_id)
    with closing_fd(open_root(target)) as parent:
        found = lstat_at(parent, staging.name)
        if found is not None and stat.S_ISDIR(found.st_mode):
            shutil.rmtree(staging.name, dir_fd=parent)
        elif found is not None:
            os.unlink(staging.name, dir_fd=parent)
        os.mkdir(staging.name, 0o700, dir_fd=parent)
    return staging


def final_parts(snapshot_path: str, strip_components: int) -> list[str] | None:
    """The components below the target where a snapshot path lands; None when strip-components removes it."""
    parts = split(snapshot_path)
    if len(parts) <= strip_components:
        return None
    return parts[strip_components:]


def final_path(target: Path, snapshot_path: str, strip_components: int) -> Path | None:
    """Where a snapshot path lands; None when strip-components removes it entirely."""
    parts = final_parts(snapshot_path, strip_components)
    return None if parts is None else target.joinpath(*parts)


@dataclass
class Placement:
    placed: int = 0
    kept: list[str] = field(default_factory=list)
    """Snapshot paths left as they were in the target (the policy said no)."""
    blocked: list[str] = field(default_factory=list)
    """Snapshot paths not placed: a folder above them is a symlink or a file in the target."""
    blockers: list[Blocked] = field(default_factory=list)
    """What stands in the way of ``blocked``: the target path and what it is."""

    @property
    def kept_set(self) -> set[str]:
        return set(self.kept)

    def refusal(self, target: Path) -> str | None:
        """One line saying what was not placed and why, or None when everything was."""
        if not self.blocked:
            return None
        first = self.blockers[0]
        return (
            f"restore into {target}: {len(self.blocked)} entries not placed because {first.path} is"
            f" {first.what}, not a folder (a restore never writes through a symlink); first: {self.blocked[0]}"
        )


def _replace_allowed(staged: os.stat_result, existing: os.stat_result, policy: Overwrite) -> bool:
    if stat.S_IFMT(staged.st_mode) != stat.S_IFMT(existing.st_mode):
        return False
    if policy == Overwrite.always:
        return True
    if policy == Overwrite.if_newer:
        return staged.st_mtime_ns > existing.st_mtime_ns
    return False


@dataclass
class _Walk:
    target: Path
    strip: int
    overwrite: Overwrite
    target_fd: int
    result: Placement

    def folder(self, staged: int, dest: int | None, snapshot: str, rel: list[str]) -> None:
        """Place the entries of one staged folder into ``dest`` (None: still above the strip depth)."""
        depth = len(split(snapshot))
        for name in sorted(os.listdir(staged)):
            path = f"{snapshot}/{name}"
            info = os.stat(name, dir_fd=staged, follow_symlinks=False)
            is_dir = stat.S_ISDIR(info.st_mode)
            if depth < self.strip:  # this entry is stripped away; its children may land
                if is_dir:
                    with closing_fd(open_child(staged, name, path)) as inner:
                        self.folder(inner, self.target_fd if depth + 1 == self.strip else None, path, rel)
                continue
            assert dest is not None
            if is_dir:
                self.subfolder(staged, dest, name, info, path, [*rel, name])
            else:
                self.entry(staged, dest, name, info, path)

    def subfolder(self, staged: int, dest: int, name: str, info: os.stat_result, path: str, rel: list[str]) -> None:
        shown = str(self.target.joinpath(*rel))
        existing = lstat_at(dest, name)
        created = existing is None
        if created:
            os.mkdir(name, 0o700, dir_fd=dest)
        try:
            opened = open_child(dest, name, shown)
        except Blocked as blocked:
            self.result.kept.append(path)
            self.block(staged, name, path, blocked)
            return
        with closing_fd(opened) as inner_dest, closing_fd(open_child(staged, name, path)) as inner_staged:
            self.folder(inner_staged, inner_dest, path, rel)
            if created:  # its mode and mtime last: placing the children changed the mtime
                os.fchmod(inner_dest, stat.S_IMODE(info.st_mode))
                os.utime(inner_dest, ns=(info.st_atime_ns, info.st_mtime_ns))

    def entry(self, staged: int, dest: int, name: str, info: os.stat_result, path: str) -> None:
        existing = lstat_at(dest, name)
        if existing is not None and not _replace_allowed(info, existing, self.overwrite):
            self.result.kept.append(path)
            return
        os.rename(name, name, src_dir_fd=staged, dst_dir_fd=dest)  # renames the entry itself, follows nothing
        self.result.placed += 1

    def block(self, staged: int, name: str, path: str, blocked: Blocked) -> None:
        """Everything below staged ``name`` stays unplaced because ``blocked`` is in the way."""
        self.result.blockers.append(blocked)
        with closing_fd(open_child(staged, name, path)) as inner:
            for dirpath, dirnames, filenames, _ in os.fwalk(dir_fd=inner):
                below = "" if dirpath == "." else "/" + dirpath.removeprefix("./")
                self.result.blocked += [f"{path}{below}/{n}" for n in sorted(dirnames + filenames)]


def place(staging: Path, target: Path, *, strip_components: int, overwrite: Overwrite) -> Placement:
    """Move everything from ``staging`` into ``target``; remove ``staging`` afterwards."""
    result = Placement()
    with closing_fd(open_root(target)) as target_fd, closing_fd(open_root(staging)) as staging_fd:
        walk = _Walk(target, strip_components, overwrite, target_fd, result)
        walk.folder(staging_fd, target_fd if strip_components == 0 else None, "", [])
    shutil.rmtree(staging)
    return result


def check_strip(strip_components: int) -> int:
    if strip_components < 0:
        raise InvalidInput("strip-components: must be 0 or more")
    return strip_components
