"""A filtered listing of one side: files by path, and directories."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from syncoxide.providers.base import Entry, Provider
from syncoxide.sync.filters import FileFilter


@dataclass
class Listing:
    files: dict[str, Entry] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=set)
    specials: dict[str, str] = field(default_factory=dict)
    """symlinks, FIFOs, sockets and devices by path: what they are (never opened, never written through)"""

    def has_dir(self, path: str) -> bool:
        return path in self.dirs


CHECK_EVERY = 1000
"""entries between two calls of ``check`` (which raises to stop a run)"""


def list_side(provider: Provider, file_filter: FileFilter, check: Callable[[], None] = lambda: None) -> Listing:
    listing = Listing()
    specials: list[Entry] = []
    for number, entry in enumerate(provider.list(specials=specials), 1):
        if number % CHECK_EVERY == 0:
            check()
        if not file_filter.accepts(entry):
            continue
        if entry.is_dir:
            listing.dirs.add(entry.path)
        else:
            listing.files[entry.path] = entry
    listing.specials = {e.path: e.special or "special file" for e in specials
                        if not file_filter.excluded_path(e.path)}
    return listing
