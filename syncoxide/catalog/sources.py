"""Which source a `scan` means: a registered source's name, or a folder (registered on its first scan)."""

from __future__ import annotations

import os
import re

from syncoxide.config import Settings
from syncoxide.errors import InvalidInput, NotFound
from syncoxide.models import Source
from syncoxide.store import catalog as manifest
from syncoxide.store import open_store

_NAME = re.compile(r"[^a-z0-9_-]+")


def find_source(settings: Settings, ref: str, cwd: str | None = None) -> Source:
    """A source by name, or by its folder when ``ref`` holds a / (relative to ``cwd``)."""
    with open_store(settings) as conn:
        return manifest.find_source(conn, _absolute(ref, cwd) if "/" in ref else ref)


def source_or_register(settings: Settings, ref: str, cwd: str | None = None) -> Source:
    """The source ``ref`` names; a folder no source has yet becomes one, named after it."""
    try:
        return find_source(settings, ref, cwd)
    except NotFound:
        path = _absolute(ref, cwd)
        if "/" not in ref and not os.path.isdir(path):
            raise
    if not os.path.isdir(path):
        raise InvalidInput(f"source {ref}: not a registered source nor a directory")
    with open_store(settings) as conn:
        taken = {s.name for s in manifest.list_sources(conn)}
        name = _NAME.sub("-", os.path.basename(path).lower()).strip("-") or "root"
        candidate, n = name, 1
        while candidate in taken:
            n += 1
            candidate = f"{name}-{n}"
        return manifest.add_source(conn, name=candidate, root=path, excludes=[], hashes=[])


def _absolute(ref: str, cwd: str | None) -> str:
    return os.path.realpath(os.path.join(cwd or os.getcwd(), os.path.expanduser(ref)))
