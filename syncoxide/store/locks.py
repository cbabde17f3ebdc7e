"""Per-repository gates: PostgreSQL advisory locks held for the length of an engine operation.

Exclusive for operations the engine cannot run side by side (borg writes, prune, check),
shared for those it can (restic backups, restores). Waiting is polite: the caller's ``waiting``
callback runs between attempts (activities heartbeat there, and learn of cancellation).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg

from syncoxide.config import Settings
from syncoxide.store.db import connect

POLL_S = 0.5


def lock_key(repository_id: str) -> int:
    return int.from_bytes(hashlib.sha256(repository_id.encode()).digest()[:8], "big", signed=True)


@contextmanager
def repository_gate(
    settings: Settings, repository_id: str, *, exclusive: bool, waiting: Callable[[], None]
) -> Iterator[None]:
    key = lock_key(repository_id)
    kind = "" if exclusive else "_shared"
    conn = connect(settings, autocommit=True)
    try:
        while not _try_lock(conn, kind, key):
            waiting()
            time.sleep(POLL_S)
        yield
    finally:
        conn.close()


def _try_lock(conn: psycopg.Connection, kind: str, key: int) -> bool:
    row = conn.execute(f"SELECT pg_try_advisory_lock{kind}(%s)", (key,)).fetchone()
    assert row is not None  # a SELECT of a function answers one row
    return bool(row[0])
