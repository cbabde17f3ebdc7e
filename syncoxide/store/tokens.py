"""The api_tokens table: the REST API's tokens, each kept as its name, scope, dates and an HMAC digest.

The token text itself is shown once, when made, and never stored; nothing here returns a digest. A name
belongs to one live (not revoked) token at a time; an expired token gives its name up when a new token
takes it (it is marked revoked then).
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from syncoxide.api.tokens import ID_CHARS, Scope, digest, new_token, token_id_of
from syncoxide.errors import InvalidInput, NotFound
from syncoxide.models import shown

NAME_CHARS_AT_MOST = 64
EXPIRES_AT_MOST = timedelta(days=36500)
LAST_USED_EVERY = timedelta(minutes=1)
"""last_used_at is written at most this often per token: a busy client does not make every request a write."""

_NAME = re.compile(rf"[A-Za-z0-9._-]{{1,{NAME_CHARS_AT_MOST}}}")
_LOOKS_LIKE_ID = re.compile(rf"[0-9a-f]{{{ID_CHARS}}}")
_LIVE_NAME_INDEX = "api_tokens_live_name"
_NO_DIGEST = "0" * 64
"""Compared against when no token has the presented id, so an unknown id takes as long as a wrong secret."""
_COLUMNS = "id, name, scope, created_at, expires_at, last_used_at, revoked_at"


@dataclass(frozen=True)
class ApiToken:
    id: str
    name: str
    scope: Scope
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def state(self) -> str:
        """``active``, ``expired`` or ``revoked``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= datetime.now(UTC):
            return "expired"
        return "active"


def _token(row: dict[str, Any]) -> ApiToken:
    return ApiToken(**{**row, "scope": Scope(row["scope"])})


def check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInput(
            f"name {shown(name)}: use 1 to {NAME_CHARS_AT_MOST} of the letters A-Z a-z, 0-9, '.', '_', '-'"
        )
    if _LOOKS_LIKE_ID.fullmatch(name):
        raise InvalidInput(f"name {name!r} looks like a token id: choose one that cannot be taken for another token")
    return name


def create(
    conn: psycopg.Connection, key: bytes, *, name: str, scope: Scope, expires: timedelta | None
) -> tuple[ApiToken, str]:
    """Make a token: its row, and its text, which exists nowhere else from then on."""
    check_name(name)
    try:
        scope = Scope(scope)
    except ValueError:
        raise InvalidInput(f"scope {shown(scope)}: use one of {', '.join(s.value for s in Scope)}") from None
    if expires is not None and not timedelta(0) < expires <= EXPIRES_AT_MOST:
        raise InvalidInput("expires: give a duration above 0 and at most 100y (or none: never expires)")
    token_id, text = new_token()
    try:
        with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                "UPDATE api_tokens SET revoked_at = now()"
                " WHERE name = %s AND revoked_at IS NULL AND expires_at <= now()",
                (name,),
            )
            row = cur.execute(
                f"INSERT INTO api_tokens (id, name, scope, digest, expires_at)"
                f" VALUES (%s, %s, %s, %s, now() + %s::interval) RETURNING {_COLUMNS}",
                (token_id, name, scope.value, digest(key, text), expires),
            ).fetchone()
    except psycopg.errors.UniqueViolation as exc:
        if exc.diag.constraint_name != _LIVE_NAME_INDEX:
            raise
        raise InvalidInput(f"name {name!r}: an active token has that name (revoke it first)") from None
    assert row is not None
    return _token(row), text


def authenticate(conn: psycopg.Connection, key: bytes, presented: str) -> ApiToken | None:
    """The live token ``presented`` is, or None: malformed, unknown, wrong secret, expired or revoked alike."""
    token_id = token_id_of(presented)
    if token_id is None:
        return None
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"SELECT {_COLUMNS}, digest, coalesce(expires_at <= now(), false) AS expired FROM api_tokens WHERE id = %s",
            (token_id,),
        ).fetchone()
    stored = row.pop("digest") if row else _NO_DIGEST
    expired = row.pop("expired") if row else True
    matches = hmac.compare_digest(stored, digest(key, presented))
    if row is None or not matches or expired or row["revoked_at"] is not None:
        return None
    with conn.transaction():
        used = conn.execute(
            "UPDATE api_tokens SET last_used_at = now() WHERE id = %s"
            " AND (last_used_at IS NULL OR last_used_at <= now() - %s::interval) RETURNING last_used_at",
            (token_id, LAST_USED_EVERY),
        ).fetchone()
    if used is not None:
        row["last_used_at"] = used[0]
    return _token(row)


def list_tokens(conn: psycopg.Connection, *, include_revoked: bool = False) -> list[ApiToken]:
    """Oldest first; expired tokens are listed (their state says so), revoked ones only when asked."""
    where = "" if include_revoked else "WHERE revoked_at IS NULL"
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(f"SELECT {_COLUMNS} FROM api_tokens {where} ORDER BY created_at, id").fetchall()
    return [_token(r) for r in rows]


def revoke(conn: psycopg.Connection, name_or_id: str) -> ApiToken:
    """Revoke the not yet revoked token of that name or id (an expired one too); it is refused from now on."""
    missing = NotFound(f"no API token {shown(name_or_id)} to revoke (none of that name or id is left unrevoked)")
    if not isinstance(name_or_id, str) or not _NAME.fullmatch(name_or_id):
        raise missing  # also keeps a NUL, which PostgreSQL's text refuses, out of the query
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"UPDATE api_tokens SET revoked_at = now() WHERE revoked_at IS NULL AND (id = %s OR name = %s)"
            f" RETURNING {_COLUMNS}",
            (name_or_id, name_or_id),
        ).fetchone()
    if row is None:
        raise missing
    return _token(row)
