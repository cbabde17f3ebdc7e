"""What fills the storage: totals by type, extension, size and age, top folders, growth, deduplication.

A scope is one source (its latest scan) or one snapshot (a repository's latest by default).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field

from syncoxide.catalog.query import CatalogReader
from syncoxide.errors import InvalidInput, NotFound

SIZE_BUCKETS = [
    (0, "empty"),
    (4 << 10, "< 4 KiB"),
    (64 << 10, "4-64 KiB"),
    (1 << 20, "64 KiB-1 MiB"),
    (16 << 20, "1-16 MiB"),
    (256 << 20, "16-256 MiB"),
    (1 << 30, "256 MiB-1 GiB"),
]
AGE_BUCKETS = [(1, "< 1 day"), (7, "1-7 days"), (30, "1-4 weeks"), (365, "1-12 months"), (3 * 365, "1-3 years")]
DAY_NS = 86_400 * 1_000_000_000


@dataclass
class Scope:
    """Which entries: a source's latest scan, or one snapshot of a repository."""

    view: str
    condition: str
    args: list
    label: str
    root: str | None = None


def source_scope(reader: CatalogReader, source: str) -> Scope:
    for row in reader.scan_rows:
        if source in (row["source"], row["source_id"]):
            return Scope("scan_entries", "source_id = ?", [row["source_id"]], f"source {row['source']}", row["root"])
    raise NotFound(f"source {source!r} has not been scanned yet (syncoxide scan {source})")


def snapshot_scope(reader: CatalogReader, repository: str, snapshot: str | None = None) -> Scope:
    rows = [r for r in reader.snapshot_rows if repository in (r["repository"], r["repository_id"])]
    if snapshot:
        rows = [r for r in rows if r["snapshot_id"] == snapshot or r["snapshot_id"].startswith(snapshot)]
    if not rows:
        what = f"snapshot {snapshot} of " if snapshot else ""
        raise NotFound(f"{what}repository {repository!r} is not in the catalog (syncoxide catalog ingest --repo ...)")
    chosen = rows[-1]
    return Scope(
        "snapshot_entries",
        "repository_id = ? AND snapshot_id = ?",
        [chosen["repository_id"], chosen["snapshot_id"]],
        f"snapshot {chosen['snapshot_id']} of {chosen['repository']}",
    )


class Bucket(BaseModel):
    label: str
    files: int
    bytes: int


class Folder(BaseModel):
    path: str
    files: int
    bytes: int


class Totals(BaseModel):
    scope: str
    files: int = 0
    dirs: int = 0
    bytes: int = 0
    by_type: list[Bucket] = Field(default_factory=list)
    by_extension: list[Bucket] = Field(default_factory=list)
    by_size: list[Bucket] = Field(default_factory=list)
    by_age: list[Bucket] = Field(default_factory=list)
    top_folders: list[Folder] = Field(default_factory=list)


def _case(column: str, buckets: list[tuple[int, str]], last: str, scale: str = "") -> str:
    arms = " ".join(
        f"WHEN {column} {'=' if i == 0 and not scale else '<'} {limit}{scale} THEN '{label}'"
        for i, (limit, label) in enumerate(buckets)
    )
    return f"CASE {arms} ELSE '{last}' END"


def totals(reader: CatalogReader, scope: Scope, *, top: int = 15, depth: int = 2, now_ns: int | None = None) -> Totals:
    now_ns = now_ns or time.time_ns()
    base = f"FROM {scope.view} WHERE {scope.condition}"
    files = f"{base} AND type = 'file'"
    head = reader.rows(
        f"SELECT count(*) FILTER (WHERE type = 'file') AS files, count(*) FILTER (WHERE type = 'dir') AS dirs,"
        f" coalesce(sum(size) FILTER (WHERE type = 'file'), 0) AS bytes {base}",
        scope.args,
    )[0]
    result = Totals(scope=scope.label, **head)

    def buckets(expression: str, order: str, where: str = files, args: list | None = None) -> list[Bucket]:
        rows = reader.rows(
            f"SELECT {expression} AS label, count(*) AS files, coalesce(sum(size), 0) AS bytes {where}"
            f" GROUP BY label ORDER BY {order}",
            (args or []) + scope.args,
        )
        return [Bucket(**r) for r in rows]

    result.by_type = buckets("type", "bytes DESC", where=base)
    result.by_extension = buckets(
        "CASE WHEN extension = '' THEN '(none)' ELSE extension END", f"bytes DESC LIMIT {int(top)}"
    )
    size_order = {label: i for i, (_, label) in enumerate(SIZE_BUCKETS)}
    result.by_size = sorted(
        buckets(_case("size", SIZE_BUCKETS, ">= 1 GiB"), "label"),
        key=lambda b: size_order.get(b.label, len(size_order)),
    )
    age_order = {label: i for i, (_, label) in enumerate(AGE_BUCKETS)}
    age = _case("(? - mtime_ns)", AGE_BUCKETS, "> 3 years", scale=f" * {DAY_NS}")
    result.by_age = sorted(
        buckets(age, "label", args=[now_ns] * len(AGE_BUCKETS)), key=lambda b: age_order.get(b.label, len(age_order))
    )
    result.top_folders = top_folders(reader, scope, depth=depth, top=top)
    return result


def top_folders(reader: CatalogReader, scope: Scope, *, depth: int = 2, top: int = 15) -> list[Folder]:
    """Bytes under each folder ``depth`` levels below the scope's root (or the filesystem root)."""
    if depth < 1:
        raise InvalidInput("depth: must be at least 1")
    root_depth = len([p for p in (scope.root or "/").split("/") if p])
    keep = root_depth + depth
    rows = reader.rows(
        f"SELECT '/' || array_to_string(list_slice(string_split(ltrim(parent, '/'), '/'), 1, {keep}), '/') AS path,"
        f" count(*) AS files, sum(size) AS bytes FROM {scope.view} WHERE {scope.condition} AND type = 'file'"
        f" GROUP BY 1 ORDER BY bytes DESC LIMIT {int(top)}",
        scope.args,
    )
    return [Folder(**r) for r in rows]


class GrowthPoint(BaseModel):
    kind: str
    name: str
    time: datetime
    files: int | None
    bytes: int | None
    added_bytes: int | None = None


def growth(reader: CatalogReader, scan_history: list[dict]) -> list[GrowthPoint]:
    """Each repository's snapshots and each source's scans over time (sizes as engines and scans reported)."""
    points = [
        GrowthPoint(
            kind="repository",
            name=r["repository"],
            time=r["time"],
            files=r["files"],
            bytes=r["bytes"],
            added_bytes=r["added_bytes"],
        )
        for r in reader.snapshot_rows
    ]
    points += [
        GrowthPoint(kind="source", name=r["source"], time=r["finished_at"], files=r["files"], bytes=r["bytes"])
        for r in scan_history
    ]
    return sorted(points, key=lambda p: p.time)


class RepositoryUsage(BaseModel):
    repository: str
    snapshots: int
    latest_bytes: int = Field(description="original size of the newest snapshot")
    total_bytes: int = Field(description="original size summed over all snapshots")
    stored_bytes: int = Field(description="what the snapshots added to the repository, summed (deduplicated)")
    compressed_bytes: int | None = Field(None, description="summed compressed size, where the engine reports it")

    @property
    def dedup_ratio(self) -> float | None:
        return self.total_bytes / self.stored_bytes if self.stored_bytes else None


def repository_usage(reader: CatalogReader) -> list[RepositoryUsage]:
    by_repo: dict[str, list[dict]] = {}
    for row in reader.snapshot_rows:
        by_repo.setdefault(row["repository"], []).append(row)
    usage = []
    for name, rows in sorted(by_repo.items()):
        compressed = [r["compressed_bytes"] for r in rows if r["compressed_bytes"] is not None]
        usage.append(
            RepositoryUsage(
                repository=name,
                snapshots=len(rows),
                latest_bytes=rows[-1]["bytes"] or 0,
                total_bytes=sum(r["bytes"] or 0 for r in rows),
                stored_bytes=sum(r["added_bytes"] or 0 for r in rows),
                compressed_bytes=sum(compressed) if compressed else None,
            )
        )
    return usage
