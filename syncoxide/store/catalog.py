"""The catalog's manifest: sources, the live Parquet parts, ingested snapshots and scans.

A part counts once its row is here and not retired; a query reads exactly the live parts, so
writing a part, compacting parts or replacing a scan is one transaction away from visible.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import dict_row

from syncoxide.catalog import HASH_ALGORITHMS, SCHEMA_VERSION
from syncoxide.catalog.storage import WrittenPart
from syncoxide.contract.payloads import ScanSummary
from syncoxide.errors import InvalidInput, NotFound
from syncoxide.models import Snapshot, Source

_SOURCE_COLUMNS = "id, name, root, excludes, hashes, created_at"


@dataclass
class LivePart:
    path: str
    kind: str
    owner_id: str
    rows: int
    schema_version: int


# -- sources ----------------------------------------------------------------------------------


def add_source(conn: psycopg.Connection, *, name: str, root: str, excludes: list[str], hashes: list[str]) -> Source:
    unknown = [h for h in hashes if h not in HASH_ALGORITHMS]
    if unknown:
        raise InvalidInput(f"hash {unknown[0]!r}: choose from {', '.join(HASH_ALGORITHMS)}")
    try:
        with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                f"INSERT INTO sources (id, name, root, excludes, hashes) VALUES (%s, %s, %s, %s, %s)"
                f" RETURNING {_SOURCE_COLUMNS}",
                (uuid.uuid4().hex[:12], name, root, excludes, hashes),
            )
            return Source.model_validate(cur.fetchone())
    except psycopg.errors.UniqueViolation:
        raise InvalidInput(f"a source named {name!r} is already registered") from None


def remove_source(conn: psycopg.Connection, source_id: str) -> None:
    """The source, its scans and its cleanup plans; its parts retire (vacuum deletes them later)."""
    with conn.transaction():
        conn.execute(
            "UPDATE catalog_parts SET retired_at = now() WHERE kind = 'scan' AND owner_id = %s AND retired_at IS NULL",
            (source_id,),
        )
        conn.execute("DELETE FROM cleanup_plans WHERE spec->>'source_id' = %s", (source_id,))
        conn.execute("DELETE FROM sources WHERE id = %s", (source_id,))


def list_sources(conn: psycopg.Connection) -> list[Source]:
    with conn.cursor(row_factory=dict_row) as cur:
        return [Source.model_validate(r) for r in cur.execute(f"SELECT {_SOURCE_COLUMNS} FROM sources ORDER BY name")]


def find_source(conn: psycopg.Connection, ref: str) -> Source:
    """By name, id or root path."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE name = %s OR id = %s OR root = %s LIMIT 1", (ref, ref, ref)
        ).fetchone()
    if row is None:
        raise NotFound(f"no source named {ref!r} (see: syncoxide source list)")
    return Source.model_validate(row)


# -- parts ------------------------------------------------------------------------------------


def _insert_part(conn: psycopg.Connection, part: WrittenPart, kind: str, owner_id: str) -> None:
    conn.execute(
        "INSERT INTO catalog_parts (path, kind, owner_id, rows, bytes, schema_version) VALUES (%s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (path) DO UPDATE SET rows = EXCLUDED.rows, bytes = EXCLUDED.bytes, retired_at = NULL",
        (part.path, kind, owner_id, part.rows, part.bytes, SCHEMA_VERSION),
    )


def live_parts(conn: psycopg.Connection, *, kind: str | None = None, owner_id: str | None = None) -> list[LivePart]:
    query = "SELECT path, kind, owner_id, rows, schema_version FROM catalog_parts WHERE retired_at IS NULL"
    args: list = []
    if kind:
        query += " AND kind = %s"
        args.append(kind)
    if owner_id:
        query += " AND owner_id = %s"
        args.append(owner_id)
    return [LivePart(*row) for row in conn.execute(query + " ORDER BY path", args)]


def replace_parts(conn: psycopg.Connection, new: WrittenPart, kind: str, owner_id: str, old: list[str]) -> None:
    """Compaction: the new part becomes live and the old ones retire, at once."""
    with conn.transaction():
        _insert_part(conn, new, kind, owner_id)
        conn.execute("UPDATE catalog_parts SET retired_at = now() WHERE path = ANY(%s)", (old,))


def retired_parts(conn: psycopg.Connection, *, older_than_s: float) -> list[str]:
    rows = conn.execute(
        "SELECT path FROM catalog_parts WHERE retired_at < now() - make_interval(secs => %s)", (older_than_s,)
    )
    return [r[0] for r in rows]


def forget_parts(conn: psycopg.Connection, paths: list[str]) -> None:
    with conn.transaction():
        conn.execute("DELETE FROM catalog_parts WHERE path = ANY(%s)", (paths,))


# -- snapshots --------------------------------------------------------------------------------


def record_snapshots(
    conn: psycopg.Connection, repository_id: str, snapshots: list[tuple[Snapshot, int]], part: WrittenPart
) -> None:
    """A part and the rows of the snapshots in it (with their entry counts) become visible together."""
    with conn.transaction():
        _insert_part(conn, part, "snapshot", repository_id)
        for snapshot, entries in snapshots:
            _record_snapshot(conn, repository_id, snapshot, entries, part)


def _record_snapshot(
    conn: psycopg.Connection, repository_id: str, snapshot: Snapshot, entries: int, part: WrittenPart
) -> None:
    conn.execute(
        "INSERT INTO catalog_snapshots (repository_id, snapshot_id, time, hostname, paths, tags, policy, files,"
        " bytes, compressed_bytes, added_bytes, entries, part) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
        " %s, %s, %s) ON CONFLICT (repository_id, snapshot_id) DO UPDATE SET entries = EXCLUDED.entries,"
        " part = EXCLUDED.part, removed_at = NULL, ingested_at = now()",
        (
            repository_id,
            snapshot.id,
            snapshot.time,
            snapshot.hostname,
            snapshot.paths,
            snapshot.tags,
            snapshot.policy,
            snapshot.files,
            snapshot.bytes,
            snapshot.compressed_bytes,
            snapshot.added_bytes,
            entries,
            part.path,
        ),
    )


def ingested_snapshots(conn: psycopg.Connection, repository_id: str) -> set[str]:
    rows = conn.execute(
        "SELECT snapshot_id FROM catalog_snapshots WHERE repository_id = %s AND removed_at IS NULL", (repository_id,)
    )
    return {r[0] for r in rows}


def mark_removed(conn: psycopg.Connection, repository_id: str, snapshot_ids: list[str]) -> None:
    """Snapshots the repository no longer has: hidden from queries now, their rows dropped at compaction."""
    with conn.transaction():
        conn.execute(
            "UPDATE catalog_snapshots SET removed_at = now()"
            " WHERE repository_id = %s AND snapshot_id = ANY(%s) AND removed_at IS NULL",
            (repository_id, snapshot_ids),
        )


def snapshot_rows(conn: psycopg.Connection, repository_ids: list[str] | None = None) -> list[dict]:
    """Live ingested snapshots with their repository's name and engine stats."""
    query = (
        "SELECT s.repository_id, r.name AS repository, s.snapshot_id, s.time, s.hostname, s.tags, s.policy,"
        " s.files, s.bytes, s.compressed_bytes, s.added_bytes, s.entries"
        " FROM catalog_snapshots s JOIN repositories r ON r.id = s.repository_id WHERE s.removed_at IS NULL"
    )
    args: list = []
    if repository_ids:
        query += " AND s.repository_id = ANY(%s)"
        args.append(repository_ids)
    with conn.cursor(row_factory=dict_row) as cur:
        return list(cur.execute(query + " ORDER BY s.time", args))


# -- scans ------------------------------------------------------------------------------------


def record_scan(
    conn: psycopg.Connection, summary: ScanSummary, started_at: datetime, parts: list[WrittenPart]
) -> list[str]:
    """The scan's parts go live and the source's earlier scan parts retire; returns the retired paths."""
    with conn.transaction():
        previous = [
            r[0]
            for r in conn.execute(
                "SELECT path FROM catalog_parts WHERE kind = 'scan' AND owner_id = %s AND retired_at IS NULL",
                (summary.source_id,),
            )
        ]
        conn.execute("UPDATE catalog_parts SET retired_at = now() WHERE path = ANY(%s)", (previous,))
        for part in parts:
            _insert_part(conn, part, "scan", summary.source_id)
        conn.execute(
            "INSERT INTO catalog_scans (id, source_id, started_at, files, dirs, bytes, errors, hashed, reused,"
            " part_count, error_sample) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                summary.scan_id,
                summary.source_id,
                started_at,
                summary.files,
                summary.dirs,
                summary.bytes,
                summary.errors,
                summary.hashed,
                summary.reused,
                len(parts),
                summary.error_sample,
            ),
        )
    return previous


def scan_rows(
    conn: psycopg.Connection, source_ids: list[str] | None = None, *, latest_only: bool = False
) -> list[dict]:
    """Scans with their source's name and root, oldest first (``latest_only``: each source's last)."""
    query = (
        "SELECT sc.id AS scan_id, sc.source_id, so.name AS source, so.root, sc.started_at, sc.finished_at,"
        " sc.files, sc.dirs, sc.bytes, sc.errors, sc.hashed, sc.reused"
        " FROM catalog_scans sc JOIN sources so ON so.id = sc.source_id"
    )
    args: list = []
    if source_ids:
        query += " WHERE sc.source_id = ANY(%s)"
        args.append(source_ids)
    query += " ORDER BY sc.finished_at"
    with conn.cursor(row_factory=dict_row) as cur:
        found = list(cur.execute(query, args))
    if latest_only:
        latest: dict[str, dict] = {}
        for row in found:
            latest[row["source_id"]] = row
        return list(latest.values())
    return found
