"""Scanning a source into the catalog: a walk into a Parquet part, then optional hashing.

The walk (walk.py) streams into the part as it goes. Hashing is incremental: a file
with the same path, size and mtime as in the source's previous scan keeps that scan's hashes;
only new or changed files are read. The scan becomes visible in one manifest transaction that
also retires the previous scan's parts.
"""

from __future__ import annotations

import glob
import os
import queue
import secrets
import threading
import time
from collections.abc import Callable, Generator, Iterator
from datetime import UTC, datetime
from typing import TypeVar

import pyarrow as pa

from syncoxide.catalog import duck
from syncoxide.catalog.hashing import Hasher, check_algorithms
from syncoxide.catalog.schema import HASH_ALGORITHMS, SCHEMA, build_batch, conform
from syncoxide.catalog.storage import ROW_GROUP_ROWS, CatalogStorage, WrittenPart
from syncoxide.catalog.walk import TRASH_DIR_NAME, FindWalk, WalkStats
from syncoxide.contract.payloads import Progress, ScanSummary
from syncoxide.engines.process import Cancelled
from syncoxide.errors import InvalidInput
from syncoxide.fs import names
from syncoxide.models import Source

HASH_BATCH = 2048
SCAN_DICTIONARY_COLUMNS = [c for c in SCHEMA.names if c not in ("path", "name", "link_target", *HASH_ALGORITHMS)]
"""A scan holds each path once: only the columns with few distinct values are dictionary-encoded."""
WARM_UP_MODULES = ["numpy", "pandas", "pyarrow.parquet"]
"""What a worker imports at start, so its first scan does not pay for it (pyarrow imports pandas,
when installed, the first time it converts Python objects)."""

T = TypeVar("T")
ProgressFn = Callable[[Progress], None]
CancelFn = Callable[[], bool]


def new_scan_id() -> str:
    return f"scan-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def _owner(source: Source, scan_id: str) -> dict[str, str | None]:
    return {"kind": "scan", "source_id": source.id, "scan_id": scan_id}


def walk_to_part(
    storage: CatalogStorage,
    relative: str,
    owner: dict,
    root: str,
    *,
    excludes: list[str],
    one_file_system: bool,
    progress: ProgressFn,
    cancelled: CancelFn,
) -> tuple[WrittenPart, WalkStats]:
    """Walk ``root`` into the part ``relative``; on cancellation, nothing is left behind."""
    stats = WalkStats()
    walk = FindWalk(root, excludes, one_file_system=one_file_system, stats=stats)

    def built() -> Generator[tuple[pa.RecordBatch, Progress], None, None]:
        for columns in walk.batches():
            yield (
                build_batch(columns, owner),
                Progress(
                    phase="scan",
                    files_done=stats.files,
                    bytes_done=stats.bytes,
                    current_path=columns["parent"][-1].as_py(),
                ),
            )

    def reported() -> Iterator[pa.RecordBatch]:
        for batch, state in _ahead(built()):  # progress and cancellation are asked for on this thread
            progress(state)
            if cancelled():
                raise Cancelled()
            yield batch

    return storage.write_part(relative, reported(), dictionary=SCAN_DICTIONARY_COLUMNS), stats


def _ahead(items: Generator[T, None, None], depth: int = 2) -> Iterator[T]:
    """The items, made by a thread while the caller consumes the previous ones (Arrow and Parquet work
    releases the GIL, so the walk and the write overlap). Closing the result stops the thread."""
    ready: queue.Queue = queue.Queue(depth)
    stop = threading.Event()
    done = object()

    def offer(item: object) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer(item):
                    return
            offer(done)
        except BaseException as exc:  # handed to the consumer
            offer(exc)
        finally:
            items.close()

    worker = threading.Thread(target=produce, name="syncoxide-scan-walk", daemon=True)
    worker.start()
    try:
        while (item := ready.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def add_hashes(
    storage: CatalogStorage,
    prefix: str,
    walked: WrittenPart,
    previous: list[str],
    algorithms: list[str],
    *,
    threads: int,
    progress: ProgressFn,
    cancelled: CancelFn,
) -> tuple[WrittenPart, int, int]:
    """Rewrite the walked part with content hashes; returns (the new part, files hashed, files reused)."""
    con = duck.connect()
    duck.attach_parts(con, "walked", storage, [walked.path])
    duck.attach_parts(con, "previous", storage, previous)
    have_all = " AND ".join(f"p.{a} IS NOT NULL" for a in algorithms)
    con.execute(
        "CREATE TEMP TABLE reusable AS SELECT n.path, "
        + ", ".join(f"p.{a}" for a in algorithms)
        + " FROM walked n JOIN previous p ON p.path = n.path AND p.size = n.size AND p.mtime_ns = n.mtime_ns"
        f" WHERE n.type = 'file' AND p.type = 'file' AND {have_all}"
    )
    reused = con.execute("SELECT count(*) FROM reusable").fetchall()[0][0]
    todo = con.sql(
        "SELECT n.path, n.size FROM walked n ANTI JOIN reusable r ON r.path = n.path WHERE n.type = 'file'"
    ).to_arrow_reader(HASH_BATCH)
    fresh: dict[str, list] = {"path": [], **{a: [] for a in algorithms}}
    state = Progress(phase="hash")
    with Hasher(algorithms, threads=threads) as hasher:

        def report() -> None:  # between batches, and every second inside one (a huge file)
            progress(state.model_copy(update={"bytes_done": hasher.bytes_read}))
            if cancelled():
                raise Cancelled()

        for batch in todo:
            paths = batch.column("path").to_pylist()
            state.current_path = paths[0]
            opened = [names.to_os(p) for p in paths]  # stored names (syncoxide/fs/names.py) as the OS takes them
            for path, digests in zip(paths, hasher.hash_all(opened, report), strict=True):
                fresh["path"].append(path)
                for algorithm in algorithms:
                    fresh[algorithm].append(digests[algorithm] if digests else None)
            state.files_done += len(paths)
            state.current_path = paths[-1]
            report()
    con.register("fresh", pa.table(fresh, schema=pa.schema([(c, pa.string()) for c in fresh])))
    columns = ", ".join(
        f"coalesce(f.{a}, r.{a}) AS {a}" if a in algorithms else f"NULL::VARCHAR AS {a}" for a in HASH_ALGORITHMS
    )
    result = con.sql(
        f"SELECT n.* EXCLUDE ({', '.join(HASH_ALGORITHMS)}), {columns} FROM walked n"
        " LEFT JOIN reusable r ON r.path = n.path LEFT JOIN fresh f ON f.path = n.path ORDER BY n.path"
    ).to_arrow_reader(ROW_GROUP_ROWS)
    rows = (conform(b) for b in result)
    part = storage.write_part(f"{prefix}/hashed.parquet", rows, dictionary=SCAN_DICTIONARY_COLUMNS)
    con.close()
    storage.delete(walked.path)
    return part, len(fresh["path"]), reused


def scan(
    storage: CatalogStorage,
    source: Source,
    previous: list[str],
    *,
    scan_id: str,
    hash_threads: int = 4,
    one_file_system: bool = False,
    progress: ProgressFn = lambda _: None,
    cancelled: CancelFn = lambda: False,
) -> tuple[ScanSummary, list[WrittenPart]]:
    """Walk (and hash) the source into new parts; the caller makes them live (store.catalog.record_scan)."""
    started = time.monotonic()
    root = source.root
    if not os.path.isabs(root):
        raise InvalidInput(f"source {source.name}: root {root} must be an absolute path")
    if not os.path.isdir(root):
        raise InvalidInput(f"source {source.name}: {root} is not a directory (or is not reachable)")
    algorithms = check_algorithms(source.hashes)
    prefix = f"scans/source={source.id}/scan={scan_id}"
    excludes = [*source.excludes, glob.escape(f"{root.rstrip('/')}/{TRASH_DIR_NAME}")]
    part, stats = walk_to_part(
        storage,
        f"{prefix}/walked.parquet",
        _owner(source, scan_id),
        root,
        excludes=excludes,
        one_file_system=one_file_system,
        progress=progress,
        cancelled=cancelled,
    )
    hashed = reused = 0
    if algorithms:
        try:
            part, hashed, reused = add_hashes(
                storage,
                prefix,
                part,
                previous,
                algorithms,
                threads=hash_threads,
                progress=progress,
                cancelled=cancelled,
            )
        except BaseException:
            storage.delete(part.path)
            raise
    summary = ScanSummary(
        scan_id=scan_id,
        source_id=source.id,
        files=stats.files,
        dirs=stats.dirs,
        bytes=stats.bytes,
        errors=stats.errors,
        hashed=hashed,
        reused=reused,
        duration_s=time.monotonic() - started,
        error_sample=stats.error_sample,
    )
    return summary, [part] if part.rows else []
