"""The runs table: one row per backup, restore, ... with its outcome."""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from syncoxide.errors import NotFound
from syncoxide.models import Run, RunKind, RunStatus

_COLUMNS = (
    "id, kind, status, repository_id, policy_id, started_at, finished_at,"
    " files, bytes, added_bytes, snapshot_id, error, workflow_id,"
    " coalesce(details->'warnings', '[]'::jsonb) AS warnings"
)


def start(
    conn: psycopg.Connection,
    *,
    run_id: str,
    kind: RunKind,
    repository_id: str | None,
    policy_id: str | None = None,
    details: dict | None = None,
    workflow_id: str | None = None,
) -> None:
    """Record a run as running. Idempotent: a retried activity finds its row already there."""
    with conn.transaction():
        conn.execute(
            "INSERT INTO runs (id, kind, status, repository_id, policy_id, details, workflow_id)"
            " VALUES (%s, %s, 'running', %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
            (run_id, kind.value, repository_id, policy_id, Jsonb(details or {}), workflow_id or run_id),
        )


def finish(
    conn: psycopg.Connection,
    *,
    run_id: str,
    status: RunStatus,
    files: int | None = None,
    bytes_: int | None = None,
    added_bytes: int | None = None,
    snapshot_id: str | None = None,
    error: str | None = None,
    warnings: list[str] | None = None,
) -> None:
    """Record the outcome; ``warnings`` (what a succeeded run could not do exactly) go into its details."""
    with conn.transaction():
        cur = conn.execute(
            "UPDATE runs SET status = %s, finished_at = now(), files = %s, bytes = %s, added_bytes = %s,"
            " snapshot_id = %s, error = %s, details = coalesce(details, '{}'::jsonb) || %s WHERE id = %s",
            (
                status.value,
                files,
                bytes_,
                added_bytes,
                snapshot_id,
                error,
                Jsonb({"warnings": warnings} if warnings else {}),
                run_id,
            ),
        )
        if cur.rowcount != 1:
            raise NotFound(f"no run with id {run_id}")


def get(conn: psycopg.Connection, run_id: str) -> Run:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(f"SELECT {_COLUMNS} FROM runs WHERE id = %s", (run_id,)).fetchone()
    if row is None:
        raise NotFound(f"no run with id {run_id}")
    return Run(**row)


def recent(
    conn: psycopg.Connection,
    *,
    limit: int = 50,
    repository_id: str | None = None,
    policy_id: str | None = None,
    kind: RunKind | None = None,
    kinds: list[RunKind] | None = None,
    statuses: list[RunStatus] | None = None,
    before: tuple[datetime, str] | None = None,
) -> list[Run]:
    """Newest first, optionally only one repository's, one policy's, some kinds' or statuses', and only those
    older than ``before`` (a run's started_at and id: the keyset a page of runs ends at)."""
    filters = {"repository_id": repository_id, "policy_id": policy_id, "kind": kind.value if kind else None}
    clauses = [f"{column} = %s" for column, value in filters.items() if value is not None]
    params: list = [value for value in filters.values() if value is not None]
    if kinds:
        clauses.append("kind = ANY(%s)")
        params.append([k.value for k in kinds])
    if statuses:
        clauses.append("status = ANY(%s)")
        params.append([s.value for s in statuses])
    if before is not None:
        clauses.append("(started_at, id) < (%s, %s)")
        params.extend(before)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"SELECT {_COLUMNS} FROM runs {where} ORDER BY started_at DESC, id DESC LIMIT %s", [*params, limit]
        ).fetchall()
    return [Run(**r) for r in rows]
