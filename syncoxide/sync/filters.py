"""Which files take part in a sync: include/exclude globs, size and age.

A pattern without ``/`` matches a name at any depth (``*.tmp``, ``node_modules``); one with ``/``
matches the whole relative path (``photos/2024/*``; ``*`` crosses ``/`` there). An excluded
directory excludes everything under it. Includes select files; directories are never filtered out
by an include. Temporary names of atomic writes, and the backup folder (``backup_dir``), are always left out.
"""

from __future__ import annotations

import fnmatch
import re
from datetime import datetime

from syncoxide.errors import InvalidValue
from syncoxide.providers.base import Entry, is_temp
from syncoxide.sync.models import Filters


def _compile(patterns: list[str], what: str) -> list[tuple[bool, re.Pattern[str]]]:
    compiled = []
    for pattern in patterns:
        clean = pattern.strip().strip("/")
        if not clean:
            raise InvalidValue(f"{what} pattern {pattern!r} is empty")
        compiled.append(("/" in clean, re.compile(fnmatch.translate(clean))))
    return compiled


class FileFilter:
    def __init__(self, filters: Filters, now: datetime, backup_dir: str | None = None):
        self.filters = filters
        self._backup_dir = backup_dir
        self._include = _compile(filters.include, "include")
        self._exclude = _compile(filters.exclude, "exclude")
        self._now = now.timestamp()
        if filters.min_size is not None and filters.max_size is not None and filters.min_size > filters.max_size:
            raise InvalidValue(f"min-size {filters.min_size} is larger than max-size {filters.max_size}")

    @staticmethod
    def _matches(rules: list[tuple[bool, re.Pattern[str]]], path: str) -> bool:
        name = path.rpartition("/")[2]
        return any(rule.match(path if whole else name) for whole, rule in rules)

    def excluded_path(self, path: str) -> bool:
        """True if the path or one of its directories is excluded (or it is a temporary name, or the backup
        folder)."""
        parts = path.split("/")
        if parts[0] == self._backup_dir:  # a folder at the side's root
            return True
        for i in range(len(parts)):
            prefix = "/".join(parts[: i + 1])
            if is_temp(prefix) or (self._exclude and self._matches(self._exclude, prefix)):
                return True
        return False

    def accepts(self, entry: Entry) -> bool:
        if self.excluded_path(entry.path):
            return False
        if entry.is_dir:
            return True
        f = self.filters
        if self._include and not self._matches(self._include, entry.path):
            return False
        if f.min_size is not None and entry.size < f.min_size:
            return False
        if f.max_size is not None and entry.size > f.max_size:
            return False
        age = self._now - entry.mtime.timestamp()
        if f.min_age_s is not None and age < f.min_age_s:
            return False
        return not (f.max_age_s is not None and age > f.max_age_s)
