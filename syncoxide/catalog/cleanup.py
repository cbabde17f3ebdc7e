"""Finding what could go: duplicate files, large old files, junk, empty folders (from a source's latest scan).

This only proposes; trash.py moves exactly what an approved plan lists, after checking each
file is still what the plan saw. Every file candidate carries its content hash when the scan
recorded one, so apply re-checks the content of junk and large old files as it does duplicates.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from syncoxide.catalog import HASH_ALGORITHMS
from syncoxide.catalog.analytics import DAY_NS
from syncoxide.catalog.query import CatalogReader
from syncoxide.errors import InvalidInput, NotFound

JUNK_FILES = ["*.tmp", "*.temp", "*.swp", "*~", ".DS_Store", "Thumbs.db", "desktop.ini", "*.pyc", "*.pyo"]
JUNK_DIRS = ["__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "node_modules", ".cache", ".gradle"]


class CleanupRules(BaseModel):
    """What a plan looks for, on any source."""

    duplicates: bool = True
    junk: bool = True
    junk_files: list[str] = Field(default_factory=lambda: list(JUNK_FILES))
    junk_dirs: list[str] = Field(default_factory=lambda: list(JUNK_DIRS))
    large_old: bool = False
    min_size: int = Field(100 << 20, ge=0, description="large: at least this many bytes")
    older_than_days: int = Field(365, ge=0, description="old: not modified for this many days")
    empty_dirs: bool = False
    keep_days: int = Field(30, ge=0, description="how long the trash keeps what a plan moved")


class CleanupSpec(CleanupRules):
    """What a plan looks for on one source; stored with the plan so it can be reviewed."""

    source_id: str


class Candidate(BaseModel):
    path: str
    reason: str
    size: int
    mtime_ns: int
    type: str = "file"
    hash_kind: str | None = None
    hash: str | None = None
    keep_path: str | None = Field(None, description="duplicates: the copy that stays")


def _scan_of(reader: CatalogReader, source_id: str) -> dict:
    for row in reader.scan_rows:
        if row["source_id"] == source_id:
            return row
    raise NotFound(f"source {source_id} has not been scanned yet: run syncoxide scan first")


def hash_kind(reader: CatalogReader, source_id: str) -> str | None:
    """The content hash the source's scan recorded (the first of HASH_ALGORITHMS it has), if any."""
    counts = reader.rows(
        "SELECT "
        + ", ".join(f"count({a}) AS {a}" for a in HASH_ALGORITHMS)
        + " FROM scan_entries WHERE source_id = ? AND type = 'file'",
        [source_id],
    )[0]
    return next((a for a in HASH_ALGORITHMS if counts[a]), None)


def _hashed(kind: str | None) -> str:
    """Columns for a candidate's hash: apply re-checks the content of every item that carries one."""
    return f", '{kind}' AS hash_kind, {kind} AS hash" if kind else ""


def duplicates(reader: CatalogReader, source_id: str) -> list[Candidate]:
    """Every copy but the oldest of files with the same size and content hash."""
    kind = hash_kind(reader, source_id)
    if kind is None:
        raise InvalidInput(
            "duplicates need content hashes: register the source with --hash xxh3 (or another) and rescan"
        )
    groups = reader.rows(
        f"SELECT {kind} AS hash, size, list(path ORDER BY mtime_ns, path) AS paths,"
        " list(mtime_ns ORDER BY mtime_ns, path) AS mtimes FROM scan_entries"
        f" WHERE source_id = ? AND type = 'file' AND size > 0 AND {kind} IS NOT NULL"
        " GROUP BY ALL HAVING count(*) > 1 ORDER BY size DESC",
        [source_id],
    )
    found = []
    for group in groups:
        keep = group["paths"][0]
        for path, mtime in zip(group["paths"][1:], group["mtimes"][1:], strict=True):
            found.append(
                Candidate(
                    path=path,
                    reason="duplicate",
                    size=group["size"],
                    mtime_ns=mtime,
                    hash_kind=kind,
                    hash=group["hash"],
                    keep_path=keep,
                )
            )
    return found


def junk(
    reader: CatalogReader, source_id: str, root: str, files: list[str], dirs: list[str], kind: str | None = None
) -> list[Candidate]:
    """Files matching a junk name, and files inside a junk folder (below the source's root)."""
    conditions = ["name GLOB ?" for _ in files]
    conditions += ["contains(substr(parent, ?) || '/', ?)" for _ in dirs]
    if not conditions:
        return []
    args: list = list(files) + [a for d in dirs for a in (len(root) + 1, f"/{d}/")]
    rows = reader.rows(
        f"SELECT path, size, mtime_ns{_hashed(kind)} FROM scan_entries WHERE source_id = ? AND type = 'file'"
        f" AND ({' OR '.join(conditions)}) ORDER BY path",
        [source_id, *args],
    )
    return [Candidate(reason="junk", **r) for r in rows]


def large_old(
    reader: CatalogReader, source_id: str, min_size: int, older_than_ns: int, kind: str | None = None
) -> list[Candidate]:
    rows = reader.rows(
        f"SELECT path, size, mtime_ns{_hashed(kind)} FROM scan_entries WHERE source_id = ? AND type = 'file'"
        " AND size >= ? AND mtime_ns < ? ORDER BY size DESC",
        [source_id, min_size, older_than_ns],
    )
    return [Candidate(reason="large and old", **r) for r in rows]


def empty_dirs(reader: CatalogReader, source_id: str, root: str) -> list[Candidate]:
    rows = reader.rows(
        "SELECT d.path, d.mtime_ns FROM scan_entries d WHERE d.source_id = ? AND d.type = 'dir' AND d.path <> ?"
        " AND NOT EXISTS (SELECT 1 FROM scan_entries c WHERE c.source_id = d.source_id AND c.parent = d.path)"
        " ORDER BY d.path DESC",
        [source_id, root],
    )
    return [Candidate(reason="empty folder", size=0, type="dir", **r) for r in rows]


def find_candidates(reader: CatalogReader, spec: CleanupSpec, now_ns: int) -> list[Candidate]:
    """Everything the spec asks for, each path once (the first reason wins)."""
    root = _scan_of(reader, spec.source_id)["root"]
    kind = hash_kind(reader, spec.source_id) if spec.junk or spec.large_old else None
    found: list[Candidate] = []
    if spec.duplicates:
        found += duplicates(reader, spec.source_id)
    if spec.junk:
        found += junk(reader, spec.source_id, root, spec.junk_files, spec.junk_dirs, kind)
    if spec.large_old:
        found += large_old(reader, spec.source_id, spec.min_size, now_ns - spec.older_than_days * DAY_NS, kind)
    if spec.empty_dirs:
        found += empty_dirs(reader, spec.source_id, root)
    seen: set[str] = set()
    keepers = {c.keep_path for c in found if c.keep_path}
    unique = []
    for candidate in found:
        if candidate.path in seen or candidate.path in keepers:
            continue  # never trash the copy a duplicate relies on
        seen.add(candidate.path)
        unique.append(candidate)
    return unique
