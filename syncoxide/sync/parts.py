"""A large file in parallel parts: read in order on the caller's thread, each part sent on another thread.

Reading in order lets the whole file's MD5 be computed as it streams, while up to PART_CONCURRENCY parts
are on their way at once (S3 UploadPart, ranged writes to a local or SFTP temporary file). What a part's
sender returns is kept in part order, and the progress callback runs each time the contiguous prefix of
finished parts grows: a checkpoint taken there never claims a part that did not make it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from typing import TypeVar

from syncoxide.sync.hashing import HashingReader

PART_CONCURRENCY = 4
T = TypeVar("T")


def send_parts(
    reader: HashingReader,
    part_size: int,
    first: int,
    send: Callable[[int, bytes], T],
    done: list[T],
    on_progress: Callable[[], None],
    pool: ThreadPoolExecutor | None = None,
) -> int:
    """Read ``reader`` to its end in parts numbered from ``first``; returns the bytes read.

    ``send(number, data)`` runs on ``pool`` (or threads of its own); its results are appended to ``done``
    in part order. On a failure no part is still being sent when the exception propagates.
    """
    pending: dict[int, Future[T]] = {}
    finished: dict[int, T] = {}
    number, next_done, count = first, first, 0
    with ExitStack() as stack:
        if pool is None:
            pool = stack.enter_context(ThreadPoolExecutor(PART_CONCURRENCY, thread_name_prefix="part"))
        try:
            while data := read_exactly(reader, part_size):
                count += len(data)
                pending[number] = pool.submit(contextvars.copy_context().run, send, number, data)
                number += 1
                while len(pending) >= PART_CONCURRENCY:
                    _collect_one(pending, finished)
                    next_done = _advance(done, finished, next_done, on_progress)
            while pending:
                _collect_one(pending, finished)
                next_done = _advance(done, finished, next_done, on_progress)
        except BaseException:
            for future in pending.values():
                future.cancel()
            wait(list(pending.values()))
            raise
    return count


def _collect_one(pending: dict[int, Future[T]], finished: dict[int, T]) -> None:
    completed, _ = wait(list(pending.values()), return_when=FIRST_COMPLETED)
    for number in [n for n, f in pending.items() if f in completed]:
        finished[number] = pending.pop(number).result()  # a failed part raises here


def _advance(done: list[T], finished: dict[int, T], next_done: int, on_progress: Callable[[], None]) -> int:
    start = next_done
    while next_done in finished:
        done.append(finished.pop(next_done))
        next_done += 1
    if next_done != start:
        on_progress()
    return next_done


def read_exactly(reader: HashingReader, size: int) -> bytes:
    """``size`` bytes, fewer only at the end of the stream."""
    first = reader.read(size)
    if len(first) == size or not first:
        return first
    pieces, got = [first], len(first)
    while got < size and (data := reader.read(size - got)):
        pieces.append(data)
        got += len(data)
    return b"".join(pieces)
