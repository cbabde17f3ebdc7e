"""Applied policies, versioned: the truth the schedules were made from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb


@dataclass
class StoredPolicy:
    name: str
    repository_id: str
    spec: dict
    spec_hash: str
    version: int
    origin: str | None
    created_at: datetime
    updated_at: datetime


def active(conn: psycopg.Connection) -> dict[str, StoredPolicy]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT name, repository_id, spec, spec_hash, version, origin, created_at, updated_at"
            " FROM policies WHERE removed_at IS NULL ORDER BY name"
        ).fetchall()
    return {r["name"]: StoredPolicy(**r) for r in rows}


def upsert(conn: psycopg.Connection, *, name: str, repository_id: str, spec: dict, spec_hash: str, origin: str) -> int:
    """Record a new version of the policy; returns the version number."""
    with conn.transaction():
        row = conn.execute("SELECT version FROM policies WHERE name = %s", (name,)).fetchone()
        version = (row[0] if row else 0) + 1
        conn.execute(
            "INSERT INTO policies (name, repository_id, spec, spec_hash, version, origin)"
            " VALUES (%s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (name) DO UPDATE SET repository_id = EXCLUDED.repository_id, spec = EXCLUDED.spec,"
            " spec_hash = EXCLUDED.spec_hash, version = EXCLUDED.version, origin = EXCLUDED.origin,"
            " updated_at = now(), removed_at = NULL",
            (name, repository_id, Jsonb(spec), spec_hash, version, origin),
        )
        conn.execute(
            "INSERT INTO policy_versions (name, version, spec) VALUES (%s, %s, %s)", (name, version, Jsonb(spec))
        )
    return version


def remove(conn: psycopg.Connection, name: str) -> None:
    with conn.transaction():
        row = conn.execute(
            "UPDATE policies SET removed_at = now(), version = version + 1 WHERE name = %s AND removed_at IS NULL"
            " RETURNING version, spec",
            (name,),
        ).fetchone()
        if row:
            conn.execute(
                "INSERT INTO policy_versions (name, version, spec, removed) VALUES (%s, %s, %s, true)",
                (name, row[0], Jsonb(row[1])),
            )


def late_notified(conn: psycopg.Connection) -> dict[str, datetime | None]:
    return dict(conn.execute("SELECT name, late_notified_at FROM policies WHERE removed_at IS NULL").fetchall())


def mark_late_notified(conn: psycopg.Connection, name: str, when: datetime) -> None:
    with conn.transaction():
        conn.execute("UPDATE policies SET late_notified_at = %s WHERE name = %s", (when, name))
