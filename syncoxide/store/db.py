"""Connecting to PostgreSQL and applying the versioned migrations."""

from __future__ import annotations

import re
from importlib import resources
from urllib.parse import urlsplit

import psycopg

from syncoxide.config import Settings
from syncoxide.errors import ServiceUnavailable
from syncoxide.store import embedded

CONNECT_TIMEOUT_S = 5
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_MIGRATION_LOCK = 0x5C0_0001


def database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    url = embedded.running_url(settings.pgdata)
    if url is None:
        raise ServiceUnavailable(
            f"the embedded PostgreSQL under {settings.pgdata} is not running (start the stack: syncoxide dev up)"
        )
    return url


def describe_url(url: str) -> str:
    """The URL without credentials, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    query = f"?{parts.query}" if parts.query and not host else ""
    return f"{host}{parts.path}{query}"


def connect(settings: Settings, *, autocommit: bool = False) -> psycopg.Connection:
    url = database_url(settings)
    try:
        return psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S, autocommit=autocommit)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ServiceUnavailable(f"cannot reach PostgreSQL at {describe_url(url)}: {reason}") from None


def migrations() -> list[tuple[int, str, str]]:
    found = []
    for entry in resources.files("syncoxide.store.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def migrate(conn: psycopg.Connection) -> list[str]:
    """Apply pending migrations in one transaction; safe to run concurrently and repeatedly."""
    applied_now: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        for version, name, sql in migrations():
            if version in done:
                continue
            conn.execute(sql)
            conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name))
            applied_now.append(name)
    return applied_now
