"""Moving a restore from its staging dir into the target: strip-components and the overwrite policy.

The engine restores into a staging dir inside the target (same filesystem). Each file is then
renamed into its final place, so a final path only ever holds a complete file, and an existing
file is replaced only as the policy allows: never, if-newer (the snapshot's copy is newer), always.
An existing entry of another type (a folder where the snapshot has a file) is never replaced.
"""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from syncoxide.errors import InvalidInput
from syncoxide.models import Overwrite

STAGING_PREFIX = ".syncoxide-restore-"


def staging_dir(target: Path, run_id: str) -> Path:
    return target / f"{STAGING_PREFIX}{run_id}"


def final_path(target: Path, snapshot_path: str, strip_components: int) -> Path | None:
    """Where a snapshot path lands; None when strip-components removes it entirely."""
    parts = [p for p in snapshot_path.split("/") if p]
    if len(parts) <= strip_components:
        return None
    return target.joinpath(*parts[strip_components:])


@dataclass
class Placement:
    placed: int = 0
    kept: list[str] = field(default_factory=list)
    """Snapshot paths left as they were in the target (the policy said no)."""

    @property
    def kept_set(self) -> set[str]:
        return set(self.kept)


def _replace_allowed(staged: os.stat_result, existing: os.stat_result, policy: Overwrite) -> bool:
    if stat.S_IFMT(staged.st_mode) != stat.S_IFMT(existing.st_mode):
        return False
    if policy == Overwrite.always:
        return True
    if policy == Overwrite.if_newer:
        return staged.st_mtime_ns > existing.st_mtime_ns
    return False


def place(staging: Path, target: Path, *, strip_components: int, overwrite: Overwrite) -> Placement:
    """Move everything from ``staging`` into ``target``; remove ``staging`` afterwards."""
    result = Placement()
    created_dirs: list[tuple[Path, os.stat_result]] = []
    for dirpath, dirnames, filenames in os.walk(staging):
        for name in sorted(dirnames) + sorted(filenames):
            staged = Path(dirpath) / name
            snapshot_path = "/" + staged.relative_to(staging).as_posix()
            dest = final_path(target, snapshot_path, strip_components)
            if dest is None:
                continue
            info = os.lstat(staged)
            try:
                existing = os.lstat(dest)
            except FileNotFoundError:
                existing = None
            if stat.S_ISDIR(info.st_mode) and not os.path.islink(staged):
                if existing is None:
                    dest.mkdir(parents=True)
                    created_dirs.append((dest, info))
                elif not stat.S_ISDIR(existing.st_mode):
                    result.kept.append(snapshot_path)
                continue
            if existing is not None and not _replace_allowed(info, existing, overwrite):
                result.kept.append(snapshot_path)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, dest)
            result.placed += 1
    for path, info in reversed(created_dirs):
        os.chmod(path, stat.S_IMODE(info.st_mode))
        os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    shutil.rmtree(staging)
    return result


def check_strip(strip_components: int) -> int:
    if strip_components < 0:
        raise InvalidInput("strip-components: must be 0 or more")
    return strip_components
