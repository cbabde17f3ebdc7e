"""What the dashboard's restore wizard asks of the core: is this destination allowed, and what
would a restore of these paths write there (files, bytes, conflicts), before it starts."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field

from syncoxide.backups.placement import final_path
from syncoxide.catalog.query import CatalogReader
from syncoxide.catalog.query import _under as under_paths
from syncoxide.errors import InvalidInput

CONFLICT_SAMPLE = 20
CONFLICT_CHECK_LIMIT = 200_000


class RestoreSummary(BaseModel):
    files: int
    bytes: int
    entries: int
    conflicts: int = Field(0, description="entries that already exist at their destination")
    conflict_sample: list[str] = Field(default_factory=list)
    conflicts_checked: int = Field(0, description="how many entries were looked at for conflicts")


def check_destination(target: str, allowed_roots: list[str]) -> Path:
    """An absolute folder inside one of ``allowed_roots``; InvalidInput says which rule it breaks."""
    if not target or not target.strip():
        raise InvalidInput("destination: choose a folder")
    path = Path(target.strip()).expanduser()
    if not path.is_absolute():
        raise InvalidInput(f"destination {target}: must be an absolute path")
    resolved = path.resolve()
    roots = [Path(r).expanduser().resolve() for r in allowed_roots]
    if not any(resolved == root or root in resolved.parents for root in roots):
        allowed = ", ".join(str(r) for r in roots) or "none configured (SYNCOXIDE_RESTORE_ROOTS)"
        raise InvalidInput(f"destination {resolved}: outside the folders restores may write to ({allowed})")
    if resolved.exists() and not resolved.is_dir():
        raise InvalidInput(f"destination {resolved}: exists and is not a folder")
    return resolved


def _root_forms(allowed_roots: list[str]) -> list[str]:
    """Each allowed root as written (made absolute) and resolved, for matching snapshot paths."""
    forms: list[str] = []
    for root in allowed_roots:
        written = Path(root).expanduser()
        for form in (os.path.normpath(written.absolute()), str(written.resolve())):
            if form not in forms:
                forms.append(form)
    return forms


def check_original_place(
    reader: CatalogReader, repository_id: str, snapshot_id: str, paths: list[str], allowed_roots: list[str]
) -> Path:
    """The target ``/`` for a restore of ``paths`` (the whole snapshot when empty) to where they were backed
    up, once every entry it would write lies inside an allowed root. Folders above a root are passed
    through, not written, so they do not count. InvalidInput names the first entry outside."""
    roots = _root_forms(allowed_roots)
    chosen, chosen_args = under_paths(paths)
    inside, inside_args = under_paths(roots) if roots else ("false", [])
    above = " OR ".join("starts_with(?, path || '/')" for _ in roots) or "false"
    outside = f"NOT ({inside}) AND NOT (type = 'dir' AND (path = '/' OR {above}))"
    outside_args = [*inside_args, *(f"{r.rstrip('/')}/" for r in roots)]
    row = reader.rows(
        f"SELECT count(*) AS entries, count(*) FILTER (WHERE {outside}) AS outside,"
        f" min(path) FILTER (WHERE {outside}) AS first FROM snapshot_entries"
        f" WHERE repository_id = ? AND snapshot_id = ? AND ({chosen})",
        [*outside_args, *outside_args, repository_id, snapshot_id, *chosen_args],
    )[0]
    if not row["entries"]:
        raise InvalidInput(f"snapshot {snapshot_id}: nothing to restore there (no entries in the catalog)")
    if row["outside"]:
        allowed = ", ".join(roots) or "none configured (SYNCOXIDE_RESTORE_ROOTS)"
        raise InvalidInput(
            f"original place: {row['outside']} entries of snapshot {snapshot_id} lie outside the"
            f" folders restores may write to ({allowed}), first: {row['first']}"
        )
    return Path("/")


def summarize(
    reader: CatalogReader, repository_id: str, snapshot_id: str, paths: list[str], target: Path, strip: int = 0
) -> RestoreSummary:
    """Totals from the catalog, and which of the entries would land on something that exists."""
    totals = reader.subtree_totals(repository_id, snapshot_id, paths)
    summary = RestoreSummary(**totals)
    for entry in reader.entries_under(repository_id, snapshot_id, paths, limit=CONFLICT_CHECK_LIMIT):
        summary.conflicts_checked += 1
        if entry["type"] == "dir":
            continue
        destination = final_path(target, entry["path"], strip)
        if destination is not None and os.path.lexists(destination):
            summary.conflicts += 1
            if len(summary.conflict_sample) < CONFLICT_SAMPLE:
                summary.conflict_sample.append(str(destination))
    return summary
