"""Reading the catalog: one DuckDB connection over the live parts, with the manifest's tables beside them.

Views every query builds on:
  snapshot_entries  entries of live snapshots, with repository name and snapshot time
  scan_entries      entries of each source's latest scan, with source name and scan time
  snapshots, scans  the manifest's rows (engine stats, scan totals)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import duckdb
import psycopg
from pydantic import BaseModel, Field

from syncoxide.catalog import SCHEMA_VERSION, duck, name_match
from syncoxide.catalog.storage import CatalogStorage, open_storage
from syncoxide.config import Settings
from syncoxide.errors import InvalidInput
from syncoxide.store import catalog as manifest
from syncoxide.store import open_store

Where = Literal["all", "sources", "snapshots"]
DEFAULT_LIMIT = 100
_ROWS_PER_INSERT = 500

_SNAPSHOT_COLUMNS = {
    "repository_id": "VARCHAR",
    "repository": "VARCHAR",
    "snapshot_id": "VARCHAR",
    "time": "TIMESTAMPTZ",
    "hostname": "VARCHAR",
    "tags": "VARCHAR[]",
    "policy": "VARCHAR",
    "files": "BIGINT",
    "bytes": "BIGINT",
    "compressed_bytes": "BIGINT",
    "added_bytes": "BIGINT",
    "entries": "BIGINT",
}
_SCAN_COLUMNS = {
    "scan_id": "VARCHAR",
    "source_id": "VARCHAR",
    "source": "VARCHAR",
    "root": "VARCHAR",
    "started_at": "TIMESTAMPTZ",
    "finished_at": "TIMESTAMPTZ",
    "files": "BIGINT",
    "dirs": "BIGINT",
    "bytes": "BIGINT",
    "errors": "BIGINT",
    "hashed": "BIGINT",
    "reused": "BIGINT",
}


def _table(con: duckdb.DuckDBPyConnection, name: str, rows: list[dict], columns: dict[str, str]) -> None:
    """A small table of manifest rows (a few per snapshot or scan) inside DuckDB, a few statements in all."""
    con.execute(f"CREATE TABLE {name} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
    row_marks = "(" + ", ".join("?" for _ in columns) + ")"
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[start : start + _ROWS_PER_INSERT]
        values = [r.get(c) for r in chunk for c in columns]
        con.execute(f"INSERT INTO {name} VALUES {', '.join(row_marks for _ in chunk)}", values)


class SearchFilter(BaseModel):
    name: str | None = Field(
        None,
        description="part of the name, or a glob on it when it holds * ? or [; any case,"
        " any Unicode normalization (catalog/name_match.py)",
    )
    glob: str | None = Field(None, description="shell glob on the name (on the path when it holds a /)")
    regex: str | None = Field(None, description="regular expression searched in the path")
    path_prefix: str | None = None
    from_path: str | None = Field(None, description="only paths at or after this one in path order (paging)")
    extensions: list[str] = Field(default_factory=list)
    type: str | None = Field(None, description="file, dir, symlink or other")
    min_size: int | None = None
    max_size: int | None = None
    modified_after: datetime | None = None
    modified_before: datetime | None = None
    where: Where = "all"
    repository_ids: list[str] = Field(default_factory=list)
    source_ids: list[str] = Field(default_factory=list)
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=100_000)

    def conditions(self) -> tuple[list[str], list]:
        """SQL conditions on an entries view, with their parameters."""
        sql: list[str] = []
        args: list = []
        if self.name:
            condition, values = name_match.name_condition(self.name)
            sql.append(condition)
            args += values
        if self.glob:
            condition, values = name_match.glob_condition(self.glob, "path" if "/" in self.glob else "name")
            sql.append(condition)
            args += values
        if self.regex:
            sql.append("regexp_matches(path, ?)")
            args.append(self.regex)
        if self.path_prefix:
            prefix = self.path_prefix.rstrip("/") or "/"
            sql.append("(path = ? OR starts_with(path, ?))")
            args += [prefix, prefix if prefix == "/" else prefix + "/"]
        if self.from_path is not None:
            sql.append("path >= ?")
            args.append(self.from_path)
        if self.extensions:
            sql.append(f"extension IN ({', '.join('?' for _ in self.extensions)})")
            args += [e.lower().lstrip(".") for e in self.extensions]
        if self.type:
            if self.type not in ("file", "dir", "symlink", "other"):
                raise InvalidInput(f"type {self.type!r}: use file, dir, symlink or other")
            sql.append("type = ?")
            args.append(self.type)
        for column, op, value in (("size", ">=", self.min_size), ("size", "<=", self.max_size)):
            if value is not None:
                sql.append(f"{column} {op} ?")
                args.append(value)
        for op, moment in ((">=", self.modified_after), ("<", self.modified_before)):
            if moment is not None:
                sql.append(f"mtime_ns {op} ?")
                args.append(int(moment.timestamp() * 1_000_000_000))
        return sql, args


class SearchHit(BaseModel):
    """A path and where it lives: a source (as last scanned) or a repository (in some snapshots)."""

    location: Literal["source", "repository"]
    location_name: str
    location_id: str
    path: str
    type: str
    size: int
    mtime_ns: int
    snapshots: int | None = Field(None, description="how many snapshots hold this path")
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    latest_snapshot: str | None = None


class Version(BaseModel):
    repository: str
    repository_id: str
    snapshot_id: str
    time: datetime
    state: Literal["added", "changed", "unchanged", "absent", "removed"]
    type: str | None = None
    size: int | None = None
    mtime_ns: int | None = None
    hash: str | None = None
    changes: list[str] = Field(default_factory=list, description="what differs from the previous version")


@dataclass
class Manifest:
    """What a reader reads: the live parts, the live snapshots' rows and each source's latest scan."""

    parts: list[manifest.LivePart]
    snapshots: list[dict]
    scans: list[dict]

    @classmethod
    def load(cls, settings: Settings) -> Manifest:
        with open_store(settings) as conn:
            return cls.read(conn)

    @classmethod
    def read(cls, conn: psycopg.Connection) -> Manifest:
        return cls(manifest.live_parts(conn), manifest.snapshot_rows(conn), manifest.scan_rows(conn, latest_only=True))

    def fingerprint(self) -> str:
        """Equal for two manifests that make the same reader."""
        listed = [[(p.kind, p.path, p.schema_version) for p in self.parts], self.snapshots, self.scans]
        return hashlib.sha256(json.dumps(listed, sort_keys=True, default=str).encode()).hexdigest()


class CatalogReader:
    """Open with ``CatalogReader.open(settings)``; cheap enough to open per request."""

    def __init__(self, con: duckdb.DuckDBPyConnection, snapshots: list[dict], scans: list[dict]):
        self.con = con
        self.snapshot_rows = snapshots
        self.scan_rows = scans

    @classmethod
    def open(cls, settings: Settings, storage: CatalogStorage | None = None) -> CatalogReader:
        return cls.over(storage or open_storage(settings), Manifest.load(settings))

    @classmethod
    def over(cls, storage: CatalogStorage, found: Manifest) -> CatalogReader:
        """A reader of exactly the parts and rows ``found`` lists."""
        newer = [p.path for p in found.parts if p.schema_version > SCHEMA_VERSION]
        if newer:
            raise InvalidInput(
                f"catalog part {newer[0]}: written by a newer syncoxide (schema version above"
                f" {SCHEMA_VERSION}); upgrade syncoxide to read this catalog"
            )
        con = duck.connect()
        duck.attach_parts(con, "snapshot_parts", storage, [p.path for p in found.parts if p.kind == "snapshot"])
        duck.attach_parts(con, "scan_parts", storage, [p.path for p in found.parts if p.kind == "scan"])
        _table(con, "snapshots", found.snapshots, _SNAPSHOT_COLUMNS)
        _table(con, "scans", found.scans, _SCAN_COLUMNS)
        con.execute(
            "CREATE VIEW snapshot_entries AS SELECT e.*, s.repository, s.time AS snapshot_time FROM snapshot_parts e"
            " JOIN snapshots s ON e.repository_id = s.repository_id AND e.snapshot_id = s.snapshot_id"
        )
        con.execute(
            "CREATE VIEW scan_entries AS SELECT e.*, c.source, c.finished_at AS scan_time FROM scan_parts e"
            " JOIN scans c ON e.scan_id = c.scan_id"
        )
        return cls(con, found.snapshots, found.scans)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> CatalogReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def rows(self, sql: str, args: list | None = None) -> list[dict]:
        try:
            cursor = self.con.execute(sql, args or [])
        except (duckdb.InvalidInputException, duckdb.BinderException) as exc:
            raise InvalidInput(f"catalog query: {str(exc).splitlines()[0]}") from None
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    # -- search -------------------------------------------------------------------------------

    def search(self, query: SearchFilter) -> list[SearchHit]:
        conditions, args = query.conditions()
        where = " AND ".join(conditions) or "true"
        hits: list[SearchHit] = []
        only_repositories = bool(query.repository_ids) and not query.source_ids
        only_sources = bool(query.source_ids) and not query.repository_ids
        if query.where in ("all", "sources") and not only_repositories:
            scope, scope_args = _in("source_id", query.source_ids)
            for row in self.rows(
                "SELECT c.source AS location_name, e.source_id AS location_id, path, type, size, mtime_ns"
                f" FROM (SELECT * FROM scan_parts WHERE {where}{scope}) e JOIN scans c ON e.scan_id = c.scan_id"
                " ORDER BY path LIMIT ?",
                [*args, *scope_args, query.limit],
            ):
                hits.append(SearchHit(location="source", **row))
        if query.where in ("all", "snapshots") and not only_sources:
            scope, scope_args = _in("repository_id", query.repository_ids)
            for row in self.rows(
                "SELECT s.repository AS location_name, e.repository_id AS location_id, path, any_value(type) AS type,"
                " arg_max(size, s.time) AS size, arg_max(mtime_ns, s.time) AS mtime_ns,"
                " count(*) AS snapshots, min(s.time) AS first_seen, max(s.time) AS last_seen,"
                " arg_max(e.snapshot_id, s.time) AS latest_snapshot"
                f" FROM (SELECT * FROM snapshot_parts WHERE {where}{scope}) e JOIN snapshots s"
                " ON e.repository_id = s.repository_id AND e.snapshot_id = s.snapshot_id"
                " GROUP BY s.repository, e.repository_id, path ORDER BY path LIMIT ?",
                [*args, *scope_args, query.limit],
            ):
                hits.append(SearchHit(location="repository", **row))
        hits.sort(key=lambda h: (h.path, h.location, h.location_name))
        return hits[: query.limit]

    # -- versions -----------------------------------------------------------------------------

    def versions(self, path: str, repository_ids: Sequence[str] = ()) -> list[Version]:
        """Every snapshot that holds ``path`` (or could have: it covers the path) and what changed."""
        path = path.rstrip("/") or "/"
        scope, scope_args = _in("repository_id", list(repository_ids))
        found = {
            (r["repository_id"], r["snapshot_id"]): r
            for r in self.rows(
                "SELECT repository_id, snapshot_id, type, size, mtime_ns, coalesce(xxh3, blake3, sha1, md5) AS hash"
                f" FROM snapshot_entries WHERE path = ?{scope}",
                [path, *scope_args],
            )
        }
        repositories = {key[0] for key in found}
        versions: list[Version] = []
        previous: dict[str, dict | None] = {}
        for snap in self.snapshot_rows:
            rid = snap["repository_id"]
            if rid not in repositories:
                continue
            row = found.get((rid, snap["snapshot_id"]))
            before = previous.get(rid)
            base = {
                "repository": snap["repository"],
                "repository_id": rid,
                "snapshot_id": snap["snapshot_id"],
                "time": snap["time"],
            }
            if row is None:
                if before is not None:
                    versions.append(Version(state="removed", **base))
                previous[rid] = None
                continue
            changes = _changes(before, row) if before else []
            state = "added" if before is None else ("changed" if changes else "unchanged")
            versions.append(
                Version(
                    state=state,
                    type=row["type"],
                    size=row["size"],
                    mtime_ns=row["mtime_ns"],
                    hash=row["hash"],
                    changes=changes,
                    **base,
                )
            )
            previous[rid] = row
        return versions

    # -- browsing -----------------------------------------------------------------------------

    def children(self, repository_id: str, snapshot_id: str, directory: str) -> list[dict]:
        """The entries directly in ``directory`` of one snapshot, dirs first."""
        directory = directory.rstrip("/") or "/"
        return self.rows(
            "SELECT name, path, type, size, mtime_ns, mode FROM snapshot_entries"
            " WHERE repository_id = ? AND snapshot_id = ? AND parent = ? ORDER BY type <> 'dir', name",
            [repository_id, snapshot_id, directory],
        )

    def subtree_totals(self, repository_id: str, snapshot_id: str, paths: list[str]) -> dict:
        """Files and bytes a restore of ``paths`` (whole snapshot when empty) would write."""
        conditions, args = _under(paths)
        row = self.rows(
            "SELECT count(*) FILTER (WHERE type = 'file') AS files, coalesce(sum(size), 0) AS bytes,"
            " count(*) AS entries FROM snapshot_entries"
            f" WHERE repository_id = ? AND snapshot_id = ? AND ({conditions})",
            [repository_id, snapshot_id, *args],
        )[0]
        return row

    def entries_under(
        self, repository_id: str, snapshot_id: str, paths: list[str], *, limit: int, after: str | None = None
    ) -> list[dict]:
        """Entries of a snapshot at or below ``paths`` (all when empty), by path; only those after ``after``."""
        conditions, args = _under(paths)
        return self.rows(
            "SELECT path, type, size, mtime_ns, mode FROM snapshot_entries WHERE repository_id = ? AND snapshot_id = ?"
            f" AND ({conditions}) AND path > ? ORDER BY path LIMIT ?",
            [repository_id, snapshot_id, *args, after or "", limit],
        )

    def diff(
        self, repository_id: str, older: str, newer: str, *, limit: int = 10_000, after: str | None = None
    ) -> list[dict]:
        """Entries added, removed or modified (type, size or mtime) between two snapshots, by path; only those
        after ``after``."""
        return self.rows(
            f"WITH a AS ({_ONE_SNAPSHOT}), b AS ({_ONE_SNAPSHOT})"
            " SELECT * FROM (SELECT coalesce(b.path, a.path) AS path, CASE WHEN a.path IS NULL THEN 'added'"
            " WHEN b.path IS NULL THEN 'removed' ELSE 'modified' END AS change, a.size AS old_size,"
            " b.size AS new_size FROM a FULL OUTER JOIN b ON a.path = b.path WHERE a.path IS NULL OR b.path IS NULL"
            " OR a.type <> b.type OR a.size <> b.size OR a.mtime_ns <> b.mtime_ns) WHERE path > ? ORDER BY path"
            " LIMIT ?",
            [repository_id, older, repository_id, newer, after or "", limit],
        )

    def latest_snapshot_with(self, path: str, repository_id: str) -> str | None:
        row = self.rows(
            "SELECT arg_max(snapshot_id, snapshot_time) AS id FROM snapshot_entries"
            " WHERE repository_id = ? AND path = ?",
            [repository_id, path.rstrip("/") or "/"],
        )
        return row[0]["id"] if row else None


_ONE_SNAPSHOT = "SELECT path, type, size, mtime_ns FROM snapshot_entries WHERE repository_id = ? AND snapshot_id = ?"


def _under(paths: list[str]) -> tuple[str, list]:
    """SQL for 'at or below one of these paths' (true when there are none)."""
    conditions = " OR ".join("(path = ? OR starts_with(path, ?))" for _ in paths) or "true"
    return conditions, [a for p in paths for a in (p.rstrip("/") or "/", (p.rstrip("/") or "") + "/")]


def _in(column: str, values: list[str]) -> tuple[str, list]:
    if not values:
        return "", []
    return f" AND {column} IN ({', '.join('?' for _ in values)})", list(values)


def _changes(before: dict, after: dict) -> list[str]:
    changed = [field for field in ("type", "size", "mtime_ns") if before[field] != after[field]]
    if before["hash"] and after["hash"] and before["hash"] != after["hash"]:
        changed.append("hash")
    return ["mtime" if c == "mtime_ns" else c for c in changed]
