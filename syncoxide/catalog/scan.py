"""Scanning a source into the catalog: a parallel walk into Parquet parts, then optional hashing.

The walk is split across processes (each writes its own part). Hashing is incremental: a file
with the same path, size and mtime as in the source's previous scan keeps that scan's hashes;
only new or changed files are read. The scan becomes visible in one manifest transaction that
also retires the previous scan's parts.
"""

from __future__ import annotations

import glob
import os
import secrets
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from datetime import UTC, datetime
from multiprocessing import get_context

import pyarrow as pa

from syncoxide.catalog import duck
from syncoxide.catalog.hashing import Hasher, check_algorithms
from syncoxide.catalog.schema import HASH_ALGORITHMS, build_batch, conform
from syncoxide.catalog.storage import ROW_GROUP_ROWS, CatalogStorage, WrittenPart
from syncoxide.catalog.walk import TRASH_DIR_NAME, TopWalk, WalkStats, walk_subtrees
from syncoxide.engines.process import Cancelled
from syncoxide.errors import InvalidInput
from syncoxide.models import Progress, ScanSummary, Source

TASKS_PER_WORKER = 4
IN_PROCESS_ENTRIES = 150_000
WARM_UP_MODULES = ["pandas"]
"""pyarrow imports pandas (when installed) the first time it converts Python lists: a second a process
pays on its first batch unless it was imported up front."""
HASH_BATCH = 2048
POLL_S = 0.5

ProgressFn = Callable[[Progress], None]
CancelFn = Callable[[], bool]

_shared: dict[str, object] = {}
"""In pool processes: the progress counters and the cancel flag shared with the parent."""


def new_scan_id() -> str:
    return f"scan-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def _owner(source: Source, scan_id: str) -> dict[str, str | None]:
    return {"kind": "scan", "source_id": source.id, "scan_id": scan_id}


def _write(storage: CatalogStorage, relative: str, owner: dict, batches: Iterable[dict[str, list]]) -> WrittenPart:
    return storage.write_part(relative, (build_batch(b, owner) for b in batches))


def _init_pool(counters, cancel) -> None:
    _shared["counters"], _shared["cancel"] = counters, cancel


def _walk_task(
    storage: CatalogStorage, relative: str, owner: dict, roots: list[str], excludes: list[str], dev: int | None,
    slot: int,
) -> tuple[WrittenPart, WalkStats]:  # fmt: skip
    """In a pool process: walk whole subtrees into one part, publishing counts as it goes."""
    stats = WalkStats()
    counters, cancel = _shared["counters"], _shared["cancel"]

    def counted() -> Iterable[dict[str, list]]:
        for batch in walk_subtrees(roots, excludes, dev, stats, cancelled=lambda: bool(cancel.value)):
            counters[2 * slot], counters[2 * slot + 1] = stats.files, stats.bytes
            yield batch

    part = _write(storage, relative, owner, counted())
    counters[2 * slot], counters[2 * slot + 1] = 0, 0
    return part, stats


def _pool(workers: int, counters, cancel) -> ProcessPoolExecutor:
    context = get_context("forkserver")
    context.set_forkserver_preload([__name__, *WARM_UP_MODULES])
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_init_pool, initargs=(counters, cancel))


def _warm_up() -> None:
    """A no-op task: makes the pool start its processes while this one walks the top of the tree."""


def walk_to_parts(
    storage: CatalogStorage,
    prefix: str,
    owner: dict,
    root: str,
    *,
    excludes: list[str],
    one_file_system: bool,
    workers: int,
    progress: ProgressFn,
    cancelled: CancelFn,
    expected_entries: int | None = None,
) -> tuple[list[WrittenPart], WalkStats]:
    """Walk ``root`` into parts ``prefix/part-NNN.parquet``; on cancellation, nothing is left behind.

    The top of the tree (up to IN_PROCESS_ENTRIES) is walked here; what is left goes to
    ``workers`` processes, started ahead of time when the last scan says the tree is large.
    """
    stats = WalkStats()
    dev = os.lstat(root).st_dev if one_file_system else None
    tasks = workers * TASKS_PER_WORKER
    context = get_context("forkserver")
    counters = context.Array("q", 2 * tasks, lock=False)
    cancel = context.Value("b", 0, lock=False)
    pool = None
    if workers > 1 and (expected_entries or 0) > IN_PROCESS_ENTRIES:
        pool = _pool(workers, counters, cancel)
        for _ in range(workers):
            pool.submit(_warm_up)
    parts: list[WrittenPart] = []
    try:
        top = TopWalk(root, excludes, dev, stats, budget=IN_PROCESS_ENTRIES if workers > 1 else 1 << 62)
        parts.append(_write(storage, f"{prefix}/part-000.parquet", owner, _reported(top.batches(cancelled), stats,
                                                                                    progress)))  # fmt: skip
        if top.pending and not cancelled():
            pool = pool or _pool(workers, counters, cancel)
            parts += _walk_in_pool(pool, storage, prefix, owner, list(top.pending), excludes, dev, tasks, counters,
                                   cancel, stats, progress, cancelled)  # fmt: skip
        if cancelled():
            raise Cancelled()
    except BaseException:
        for part in parts:
            storage.delete(part.path)
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return [p for p in parts if p.rows], stats


def _reported(batches: Iterable[dict[str, list]], stats: WalkStats, progress: ProgressFn) -> Iterable[dict[str, list]]:
    for batch in batches:
        progress(Progress(phase="scan", files_done=stats.files, bytes_done=stats.bytes,
                          current_path=batch["parent"][-1]))  # fmt: skip
        yield batch


def _walk_in_pool(
    pool: ProcessPoolExecutor, storage: CatalogStorage, prefix: str, owner: dict, subtrees: list[str],
    excludes: list[str], dev: int | None, tasks: int, counters, cancel, stats: WalkStats, progress: ProgressFn,
    cancelled: CancelFn,
) -> list[WrittenPart]:  # fmt: skip
    tasks = min(len(subtrees), tasks)
    shares = [subtrees[i::tasks] for i in range(tasks)]
    parts: list[WrittenPart] = []
    pending: set[Future] = {
        pool.submit(_walk_task, storage, f"{prefix}/part-{i + 1:03d}.parquet", owner, share, excludes, dev, i)
        for i, share in enumerate(shares)
    }
    try:
        while pending:
            done, pending = wait(pending, timeout=POLL_S, return_when=FIRST_COMPLETED)
            for future in done:
                part, share_stats = future.result()
                parts.append(part)
                stats.add(share_stats)
            progress(Progress(phase="scan", files_done=stats.files + sum(counters[0::2]),
                              bytes_done=stats.bytes + sum(counters[1::2])))  # fmt: skip
            if cancelled():
                cancel.value = 1
    except BaseException:
        cancel.value = 1
        for future in pending:
            try:
                parts.append(future.result()[0])
            except Exception:
                pass
        for part in parts:
            storage.delete(part.path)
        raise
    return parts


def add_hashes(
    storage: CatalogStorage,
    prefix: str,
    walked: list[WrittenPart],
    previous: list[str],
    algorithms: list[str],
    *,
    threads: int,
    progress: ProgressFn,
    cancelled: CancelFn,
) -> tuple[list[WrittenPart], int, int]:
    """Rewrite the walked parts with content hashes; returns (parts, files hashed, files reused)."""
    con = duck.connect()
    duck.attach_parts(con, "walked", storage, [p.path for p in walked])
    duck.attach_parts(con, "previous", storage, previous)
    have_all = " AND ".join(f"p.{a} IS NOT NULL" for a in algorithms)
    con.execute(
        "CREATE TEMP TABLE reusable AS SELECT n.path, " + ", ".join(f"p.{a}" for a in algorithms) +
        " FROM walked n JOIN previous p ON p.path = n.path AND p.size = n.size AND p.mtime_ns = n.mtime_ns"
        f" WHERE n.type = 'file' AND p.type = 'file' AND {have_all}"
    )  # fmt: skip
    reused = con.execute("SELECT count(*) FROM reusable").fetchall()[0][0]
    todo = con.sql(
        "SELECT n.path, n.size FROM walked n ANTI JOIN reusable r ON r.path = n.path WHERE n.type = 'file'"
    ).to_arrow_reader(HASH_BATCH)
    fresh: dict[str, list] = {"path": [], **{a: [] for a in algorithms}}
    state = Progress(phase="hash")
    with Hasher(algorithms, threads=threads) as hasher:
        for batch in todo:
            paths = batch.column("path").to_pylist()
            for path, digests in zip(paths, hasher.hash_all(paths), strict=True):
                fresh["path"].append(path)
                for algorithm in algorithms:
                    fresh[algorithm].append(digests[algorithm] if digests else None)
            state.files_done += len(paths)
            state.bytes_done += sum(batch.column("size").to_pylist())
            state.current_path = paths[-1]
            progress(state.model_copy())
            if cancelled():
                raise Cancelled()
    con.register("fresh", pa.table(fresh, schema=pa.schema([(c, pa.string()) for c in fresh])))
    columns = ", ".join(
        f"coalesce(f.{a}, r.{a}) AS {a}" if a in algorithms else f"NULL::VARCHAR AS {a}" for a in HASH_ALGORITHMS
    )
    result = con.sql(
        f"SELECT n.* EXCLUDE ({', '.join(HASH_ALGORITHMS)}), {columns} FROM walked n"
        " LEFT JOIN reusable r ON r.path = n.path LEFT JOIN fresh f ON f.path = n.path ORDER BY n.path"
    ).to_arrow_reader(ROW_GROUP_ROWS)
    part = storage.write_part(f"{prefix}/hashed.parquet", (conform(b) for b in result))
    con.close()
    for old in walked:
        storage.delete(old.path)
    return [part], len(fresh["path"]), reused


def scan(
    storage: CatalogStorage,
    source: Source,
    previous: list[str],
    *,
    scan_id: str,
    workers: int,
    hash_threads: int = 4,
    one_file_system: bool = False,
    expected_entries: int | None = None,
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
    parts, stats = walk_to_parts(storage, prefix, _owner(source, scan_id), root, excludes=excludes,
                                 one_file_system=one_file_system, workers=workers, progress=progress,
                                 cancelled=cancelled, expected_entries=expected_entries)  # fmt: skip
    hashed = reused = 0
    if algorithms:
        try:
            parts, hashed, reused = add_hashes(storage, prefix, parts, previous, algorithms, threads=hash_threads,
                                               progress=progress, cancelled=cancelled)  # fmt: skip
        except BaseException:
            for part in parts:
                storage.delete(part.path)
            raise
    summary = ScanSummary(
        scan_id=scan_id, source_id=source.id, files=stats.files, dirs=stats.dirs, bytes=stats.bytes,
        errors=stats.errors, hashed=hashed, reused=reused, duration_s=time.monotonic() - started,
        error_sample=stats.error_sample,
    )  # fmt: skip
    return summary, parts
