"""What changes the catalog: ingest a repository's snapshots, scan a source, compact, vacuum.

Each step writes its parts first and makes them live in one manifest transaction, so a crash
at any point leaves the catalog as it was (plus files the next vacuum removes).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from syncoxide.catalog import duck
from syncoxide.catalog.ingest import ingest_snapshots
from syncoxide.catalog.scan import new_scan_id, scan
from syncoxide.catalog.schema import conform
from syncoxide.catalog.storage import ROW_GROUP_ROWS, CatalogStorage, open_storage
from syncoxide.config import Settings
from syncoxide.contract.payloads import IngestSummary, Progress, ScanSummary
from syncoxide.engines.base import BackupEngine
from syncoxide.models import Repository, Source
from syncoxide.store import catalog as manifest
from syncoxide.store import open_store

RETIRED_GRACE_S = 600
"""Retired parts stay this long, so a query that listed them before they retired can finish."""
SMALL_PART_ROWS = 256 * 1024
COMPACT_MIN_PARTS = 8

ProgressFn = Callable[[Progress], None]
CancelFn = Callable[[], bool]


def ingest_repository(
    settings: Settings,
    repository: Repository,
    engine: BackupEngine,
    *,
    only: list[str] | None = None,
    progress: ProgressFn = lambda _: None,
    cancelled: CancelFn = lambda: False,
) -> IngestSummary:
    """Bring the catalog in line with the repository: ingest snapshots it lacks (or just ``only``),
    hide those the repository no longer has, then compact if parts piled up."""
    started = time.monotonic()
    storage = open_storage(settings)
    snapshots = engine.snapshots()
    present = {s.id for s in snapshots}
    with open_store(settings) as conn:
        known = manifest.ingested_snapshots(conn, repository.id)
        gone = sorted(known - present)
        if gone:
            manifest.mark_removed(conn, repository.id, gone)
    wanted = [s for s in snapshots if (s.id in only if only is not None else s.id not in known)]
    summary = IngestSummary(repository_id=repository.id, removed=gone)
    for part, group in ingest_snapshots(storage, engine, repository.id, wanted, progress=progress, cancelled=cancelled):
        with open_store(settings) as conn:
            manifest.record_snapshots(conn, repository.id, group, part)
        summary.ingested += [snapshot.id for snapshot, _ in group]
        summary.entries += part.rows
    compact(settings, repository.id, storage=storage)
    vacuum(settings, storage=storage)
    summary.duration_s = time.monotonic() - started
    return summary


def scan_source(
    settings: Settings,
    source: Source,
    *,
    scan_id: str | None = None,
    one_file_system: bool = False,
    progress: ProgressFn = lambda _: None,
    cancelled: CancelFn = lambda: False,
) -> ScanSummary:
    storage = open_storage(settings)
    started_at = datetime.now(UTC)
    with open_store(settings) as conn:
        previous = [p.path for p in manifest.live_parts(conn, kind="scan", owner_id=source.id)]
    summary, parts = scan(
        storage,
        source,
        previous,
        scan_id=scan_id or new_scan_id(),
        hash_threads=settings.hash_threads,
        one_file_system=one_file_system,
        progress=progress,
        cancelled=cancelled,
    )
    with open_store(settings) as conn:
        manifest.record_scan(conn, summary, started_at, parts)
    vacuum(settings, storage=storage)
    return summary


def compact(
    settings: Settings, repository_id: str, *, storage: CatalogStorage | None = None, min_parts: int = COMPACT_MIN_PARTS
) -> int:
    """Merge a repository's small parts (and drop rows of removed snapshots); returns parts merged."""
    storage = storage or open_storage(settings)
    with open_store(settings) as conn:
        parts = manifest.live_parts(conn, kind="snapshot", owner_id=repository_id)
        live = {r["snapshot_id"] for r in manifest.snapshot_rows(conn, [repository_id])}
    small = [p.path for p in parts if p.rows < SMALL_PART_ROWS]
    if len(small) < min_parts:
        return 0
    con = duck.connect()
    duck.attach_parts(con, "small", storage, small)
    keep = ", ".join(duck.sql_literal(s) for s in sorted(live)) or "NULL"
    batches = con.sql(f"SELECT * FROM small WHERE snapshot_id IN ({keep}) ORDER BY path, snapshot_id").to_arrow_reader(
        ROW_GROUP_ROWS
    )
    merged = storage.write_part(
        f"snapshots/repository={repository_id}/compact-{uuid.uuid4().hex[:12]}.parquet", (conform(b) for b in batches)
    )
    con.close()
    with open_store(settings) as conn:
        manifest.replace_parts(conn, merged, "snapshot", repository_id, small)
    return len(small)


def vacuum(settings: Settings, *, storage: CatalogStorage | None = None, grace_s: float = RETIRED_GRACE_S) -> int:
    """Delete parts retired longer than ``grace_s`` ago and stale temporaries; returns files removed."""
    storage = storage or open_storage(settings)
    with open_store(settings) as conn:
        doomed = manifest.retired_parts(conn, older_than_s=grace_s)
        for path in doomed:
            storage.delete(path)
        if doomed:
            manifest.forget_parts(conn, doomed)
    return len(doomed) + storage.clear_temporaries(older_than_s=max(grace_s, 3600))
