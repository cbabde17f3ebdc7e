"""A filtered listing of one side: files by path, and directories."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from syncoxide.fs.names import nfc, shown
from syncoxide.providers import paths
from syncoxide.providers.base import Entry, Provider
from syncoxide.sync.filters import FileFilter
from syncoxide.sync.models import Side


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
    listing.specials = {e.path: e.special or "special file" for e in specials if not file_filter.excluded_path(e.path)}
    return listing


@dataclass
class Forms:
    """Names that differ between the sides only in Unicode normalization (café as NFC on one, NFD on the other,
    as macOS writes it) are one name: the plan uses path1's form, and ``real`` gives path2's own."""

    aliases: dict[str, str] = field(default_factory=dict)
    """path1's form -> path2's form, for files and directories that differ"""

    def real(self, side: Side, path: str) -> str:
        if side is Side.path1 or not self.aliases:
            return path
        if path in self.aliases:
            return self.aliases[path]
        parent = paths.parent(path)
        if not parent:
            return path
        above = self.real(side, parent)
        return path if above == parent else paths.join(above, paths.name(path))

    def notes(self) -> list[str]:
        return [
            f"{shown(one)}: the same name as {shown(two)} on path2 in another Unicode form: matched as one"
            for one, two in sorted(self.aliases.items())
            if paths.name(one) != paths.name(two)
        ]


def unify_forms(one: Listing, two: Listing) -> Forms:
    """Re-key ``two``'s entries (files, folders, special files) whose names equal one of ``one``'s but for Unicode
    normalization under ``one``'s form, and what lies below such a folder with it (entries keep their own path,
    which is what is read). A side that holds both forms of a name keeps them apart."""
    forms = Forms()
    counts: dict[str, list[str]] = {}
    for path in (*one.files, *one.dirs, *one.specials):
        if not path.isascii():
            counts.setdefault(nfc(path), []).append(path)
    canonical = {key: found[0] for key, found in counts.items() if len(found) == 1}
    if not canonical:
        return forms
    renamed: dict[str, str] = {}  # path2's form of a folder -> path1's
    taken = {*two.files, *two.dirs, *two.specials}
    for path in sorted((p for p in taken if not p.isascii()), key=lambda p: p.count("/")):
        parent = paths.parent(path)
        mine = canonical.get(nfc(path))
        if mine is None or mine in taken:
            mine = paths.join(renamed[parent], paths.name(path)) if parent in renamed else path
        if mine == path or mine in taken:
            continue
        if path in two.files:
            two.files[mine] = two.files.pop(path)
        elif path in two.specials:
            two.specials[mine] = two.specials.pop(path)
        else:
            two.dirs.discard(path)
            two.dirs.add(mine)
            renamed[path] = mine
        forms.aliases[mine] = path
    return forms
