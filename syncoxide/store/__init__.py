"""PostgreSQL state shared by workers, CLI and dashboard."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from syncoxide.config import Settings
from syncoxide.store.db import connect, database_url, migrate

_migrated: set[str] = set()
"""Databases this process has brought up to date; migrations run once per process and database."""


@contextmanager
def open_store(settings: Settings) -> Iterator[psycopg.Connection]:
    """A migrated autocommit connection, closed on exit; writes use explicit transaction blocks."""
    conn = connect(settings, autocommit=True)
    try:
        url = database_url(settings)
        if url not in _migrated:
            migrate(conn)
            _migrated.add(url)
        yield conn
    finally:
        conn.close()
