"""PostgreSQL state shared by workers, CLI and dashboard."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from syncoxide.config import Settings
from syncoxide.store.db import connect, migrate


@contextmanager
def open_store(settings: Settings) -> Iterator[psycopg.Connection]:
    """A migrated autocommit connection, closed on exit; writes use explicit transaction blocks."""
    conn = connect(settings, autocommit=True)
    try:
        migrate(conn)
        yield conn
    finally:
        conn.close()
