"""A filtered listing of one side: files by path, and directories."""

from __future__ import annotations

from dataclasses import dataclass, field

from syncoxide.providers.base import Entry, Provider
from syncoxide.sync.filters import FileFilter


@dataclass
class Listing:
    files: dict[str, Entry] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=set)

    def has_dir(self, path: str) -> bool:
        return path in self.dirs


def list_side(provider: Provider, file_filter: FileFilter) -> Listing:
    listing = Listing()
    for entry in provider.list():
        if not file_filter.accepts(entry):
            continue
        if entry.is_dir:
            listing.dirs.add(entry.path)
        else:
            listing.files[entry.path] = entry
    return listing
