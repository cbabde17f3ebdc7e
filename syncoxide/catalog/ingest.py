"""Snapshot contents into the catalog: the engine's listings streamed into Parquet parts.

Listings are consumed as they come and cut into Arrow batches, so memory stays flat whatever
the snapshots' size. Engines list names in OS form (os.fsdecode); the catalog keeps them in the
stored form of syncoxide/fs/names.py, so every byte of every name reads back. The caller makes each
part live together with its snapshots' rows (store.catalog.record_snapshots).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator

from syncoxide.catalog.schema import RAW_COLUMNS, build_batch
from syncoxide.catalog.storage import CatalogStorage, WrittenPart
from syncoxide.contract.payloads import Progress
from syncoxide.engines.base import BackupEngine
from syncoxide.engines.process import Cancelled
from syncoxide.fs import names
from syncoxide.models import Snapshot

PART_ROWS = 4_000_000
NAME_COLUMNS = ("path", "parent", "name", "link_target")
_UNSAFE = re.compile(r"[^A-Za-z0-9._:-]")

ProgressFn = Callable[[Progress], None]


def snapshot_part_path(repository_id: str, snapshot_id: str, *, more: bool = False) -> str:
    """One snapshot's part, or (``more``) a part of several, named by its first and made unique."""
    if more:
        unique = f"{_UNSAFE.sub('_', snapshot_id)}-{uuid.uuid4().hex[:8]}"
        return f"snapshots/repository={repository_id}/from-{unique}.parquet"
    return f"snapshots/repository={repository_id}/snapshot={_UNSAFE.sub('_', snapshot_id)}/part-000.parquet"


def ingest_snapshots(
    storage: CatalogStorage,
    engine: BackupEngine,
    repository_id: str,
    snapshots: list[Snapshot],
    *,
    progress: ProgressFn = lambda _: None,
    cancelled: Callable[[], bool] = lambda: False,
) -> Iterator[tuple[WrittenPart, list[tuple[Snapshot, int]]]]:
    """Write the snapshots' listings into parts of about PART_ROWS rows (a snapshot is never split);
    yield each part with the snapshots in it and their entry counts, for the caller to make live.

    Many snapshots in one part spare a backfill the per-part costs and a compaction afterwards;
    one snapshot (after a backup) gets a part of its own, merged later by compaction.
    """
    pending = list(snapshots)
    state = Progress(phase="catalog", files_total=sum(s.files or 0 for s in snapshots) or None)

    def batches(group: list[tuple[Snapshot, int]]) -> Iterator:
        """Listings of pending snapshots until the part is full; each snapshot done goes into ``group``."""
        in_part = 0
        while pending and in_part < PART_ROWS:
            snapshot = pending.pop(0)
            owner = {"kind": "snapshot", "repository_id": repository_id, "snapshot_id": snapshot.id}
            count = 0
            for listed in engine.list_columns(snapshot.id):
                columns = dict(zip(RAW_COLUMNS, listed, strict=True))
                for column in NAME_COLUMNS:
                    columns[column] = names.stored_column(columns[column])
                count += len(columns["path"])
                state.files_done += len(columns["path"])
                state.current_path = columns["path"][-1]
                progress(state.model_copy())
                if cancelled():
                    raise Cancelled()
                yield build_batch(columns, owner)
            group.append((snapshot, count))
            in_part += count

    while pending:
        group: list[tuple[Snapshot, int]] = []
        first = pending[0].id
        part = storage.write_part(snapshot_part_path(repository_id, first, more=len(pending) > 1), batches(group))
        yield part, group
