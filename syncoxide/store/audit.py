"""The audit_log table: who changed what, when, from where, and what they got.

The REST API records each mutating call (actor: the token's name); the CLI records the token changes it
makes (actor ``cli``, method ``CLI``, path the command, status as the HTTP call would have answered).
Entries are only ever added; ``recent`` pages through them newest first by id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from syncoxide.errors import InvalidInput

CLI_ACTOR = "cli"
LIMIT_AT_MOST = 10_000
TEXT_AT_MOST = 4096
"""Longer texts (a hostile request's path) are cut to this many characters."""
_COLUMNS = "id, at, actor, scope, method, path, target, status, address, detail"


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    scope: str | None
    method: str
    path: str
    target: str | None
    status: int
    address: str | None
    detail: dict[str, Any]


def record(
    conn: psycopg.Connection,
    *,
    actor: str,
    scope: str | None,
    method: str,
    path: str,
    status: int,
    address: str | None,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an entry. Texts PostgreSQL would refuse (a NUL, which a request path can hold) are recorded escaped."""
    texts = [_storable(v) for v in (actor, scope, method, path, target, address)]
    with conn.transaction():
        conn.execute(
            "INSERT INTO audit_log (actor, scope, method, path, target, address, status, detail)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (*texts, status, Jsonb(_storable_json(detail or {}), dumps=_dumps)),
        )


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)  # a datetime or a path in the detail is kept as its text


def _storable(text: str | None) -> str | None:
    return None if text is None else text.replace("\x00", "\\x00")[:TEXT_AT_MOST]


def _storable_json(value: Any) -> Any:
    if isinstance(value, str):
        return _storable(value)
    if isinstance(value, dict):
        return {str(_storable(str(k))): _storable_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable_json(v) for v in value]
    return value


def recent(
    conn: psycopg.Connection,
    *,
    limit: int = 100,
    before: int | None = None,
    actor: str | None = None,
    refused: bool = False,
) -> list[AuditEntry]:
    """Newest first; ``before`` (an entry's id) gives the ones older than it, ``actor`` only that one's,
    ``refused`` only those answered 400 or above."""
    if not 1 <= limit <= LIMIT_AT_MOST:
        raise InvalidInput(f"limit {limit}: give 1 to {LIMIT_AT_MOST}")
    if actor is not None and "\x00" in actor:
        return []  # no entry has one (record escapes it), and PostgreSQL's text refuses it
    clauses: list[str] = []
    params: list[object] = []
    if before is not None:
        clauses.append("id < %s")
        params.append(before)
    if actor is not None:
        clauses.append("actor = %s")
        params.append(actor)
    if refused:
        clauses.append("status >= 400")
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"SELECT {_COLUMNS} FROM audit_log {where} ORDER BY id DESC LIMIT %s", [*params, limit]
        ).fetchall()
    return [AuditEntry(**r) for r in rows]
