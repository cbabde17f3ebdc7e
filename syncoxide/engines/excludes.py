"""One exclude syntax for every engine.

Patterns are shell globs (``*``, ``?``, ``[...]``, ``**``). A pattern that starts with ``/`` is
anchored at the filesystem root; any other pattern matches at any depth (``*.tmp`` excludes every
``.tmp`` file, ``cache/*`` every ``cache`` folder's contents). An excluded folder is not entered.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Iterable

from syncoxide.errors import InvalidInput


def validate(patterns: Iterable[str]) -> list[str]:
    checked = []
    for pattern in patterns:
        if not pattern.strip():
            raise InvalidInput("exclude pattern: must not be empty")
        if "\n" in pattern or "\x00" in pattern:
            raise InvalidInput(f"exclude pattern {pattern!r}: must be one line")
        checked.append(pattern)
    return checked


def borg_args(patterns: Iterable[str]) -> list[str]:
    args: list[str] = []
    for pattern in patterns:
        style = "sh:" + (pattern[1:] if pattern.startswith("/") else "**/" + pattern)
        args += ["--exclude", style]
    return args


def restic_args(patterns: Iterable[str]) -> list[str]:
    args: list[str] = []
    for pattern in patterns:
        args += ["--exclude", pattern]
    return args


def matches(path: str, patterns: list[str]) -> bool:
    """Whether an absolute path is excluded (used for estimates; the engines decide for real)."""
    name = os.path.basename(path)
    for pattern in patterns:
        if pattern.startswith("/"):
            if fnmatch.fnmatch(path, pattern):
                return True
        elif "/" not in pattern:
            if fnmatch.fnmatch(name, pattern):
                return True
        elif fnmatch.fnmatch(path, "*/" + pattern):
            return True
    return False


def estimate_totals(
    sources: list[str], patterns: list[str], visit: Callable[[str, os.stat_result], None] | None = None
) -> tuple[int, int]:
    """(files, bytes) of what a backup of ``sources`` will read, without following symlinks.

    ``visit`` is called with the path and lstat of every entry the backup will read, folders too."""
    files = size = 0
    stack = list(sources)
    while stack:
        path = stack.pop()
        if matches(path, patterns):
            continue
        try:
            if visit is not None:
                visit(path, os.lstat(path))
            if os.path.isdir(path) and not os.path.islink(path):
                with os.scandir(path) as entries:
                    for entry in entries:
                        if matches(entry.path, patterns):
                            continue
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(entry.path)
                            continue
                        files += 1
                        if entry.is_file(follow_symlinks=False) or visit is not None:
                            info = entry.stat(follow_symlinks=False)
                            size += info.st_size if entry.is_file(follow_symlinks=False) else 0
                            if visit is not None:
                                visit(entry.path, info)
            else:
                files += 1
                size += os.lstat(path).st_size
        except OSError:
            continue
    return files, size
