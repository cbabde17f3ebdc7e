"""Snapshot contents into the catalog: the engine's listing streamed into one Parquet part per snapshot.

The listing is consumed as it comes and cut into Arrow batches, so memory stays flat whatever
the snapshot's size. The caller makes the part live together with the snapshot's row
(store.catalog.record_snapshot).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator

from syncoxide.catalog.schema import RAW_COLUMNS, build_batch
from syncoxide.catalog.storage import CatalogStorage, WrittenPart
from syncoxide.engines.base import BackupEngine, Row
from syncoxide.engines.process import Cancelled
from syncoxide.models import Progress, Snapshot

BATCH_ROWS = 64 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._:-]")

ProgressFn = Callable[[Progress], None]


def snapshot_part_path(repository_id: str, snapshot_id: str) -> str:
    return f"snapshots/repository={repository_id}/snapshot={_UNSAFE.sub('_', snapshot_id)}/part-000.parquet"


def _columns(rows: list[tuple]) -> dict[str, list]:
    return dict(zip(RAW_COLUMNS, map(list, zip(*rows, strict=True)), strict=True))


def row_batches(rows: Iterable[Row], *, every: int = BATCH_ROWS) -> Iterator[dict[str, list]]:
    """Listing rows as column dicts of up to ``every`` rows."""
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= every:
            yield _columns(batch)
            batch = []
    if batch:
        yield _columns(batch)


def ingest_snapshot(
    storage: CatalogStorage,
    engine: BackupEngine,
    repository_id: str,
    snapshot: Snapshot,
    *,
    progress: ProgressFn = lambda _: None,
    cancelled: Callable[[], bool] = lambda: False,
) -> WrittenPart:
    """Write the snapshot's listing as a part; nothing is left at the part's path if this fails."""
    owner = {"kind": "snapshot", "repository_id": repository_id, "snapshot_id": snapshot.id}
    state = Progress(phase="catalog", files_total=snapshot.files)

    def batches() -> Iterator:
        for columns in row_batches(engine.list_rows(snapshot.id)):
            state.files_done += len(columns["path"])
            state.current_path = columns["path"][-1]
            progress(state.model_copy())
            if cancelled():
                raise Cancelled()
            yield build_batch(columns, owner)

    return storage.write_part(snapshot_part_path(repository_id, snapshot.id), batches())
