"""The repositories table: which repositories syncoxide knows and how to open them."""

from __future__ import annotations

import uuid

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from syncoxide.errors import InvalidInput, NotFound
from syncoxide.models import Engine, Repository, Retention
from syncoxide.secrets import SecretRef
from syncoxide.secrets.in_locations import refuse_credentials

_COLUMNS = "id, name, engine, location, passphrase_ref, retention, created_at"


def _row_to_repository(row: dict) -> Repository:
    return Repository(
        id=row["id"],
        name=row["name"],
        engine=Engine(row["engine"]),
        location=row["location"],
        passphrase=SecretRef.parse(row["passphrase_ref"]),
        retention=Retention.model_validate(row["retention"]) if row["retention"] else None,
        created_at=row["created_at"],
    )


def add(conn: psycopg.Connection, *, name: str, engine: Engine, location: str, passphrase: SecretRef) -> Repository:
    refuse_credentials(location, kind=engine.value, field="repository location")  # never stored with a password
    repo_id = uuid.uuid4().hex[:12]
    try:
        with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                f"INSERT INTO repositories (id, name, engine, location, passphrase_ref)"
                f" VALUES (%s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
                (repo_id, name, engine.value, location, str(passphrase)),
            )
            row = cur.fetchone()
            assert row is not None  # INSERT … RETURNING answers the row it made
            return _row_to_repository(row)
    except psycopg.errors.UniqueViolation:
        raise InvalidInput(f"a repository named {name!r} or at {location} is already registered") from None


def get(conn: psycopg.Connection, repo_id: str) -> Repository:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(f"SELECT {_COLUMNS} FROM repositories WHERE id = %s", (repo_id,)).fetchone()
    if row is None:
        raise NotFound(f"no repository with id {repo_id}")
    return _row_to_repository(row)


def find(conn: psycopg.Connection, ref: str, *, location: str | None = None) -> Repository:
    """A repository by name, id or location (``location`` is ``ref`` made absolute, if it is a path)."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"SELECT {_COLUMNS} FROM repositories WHERE name = %s OR id = %s OR location = %s OR location = %s",
            (ref, ref, ref, location or ref),
        ).fetchone()
    if row is None:
        raise NotFound(f"no repository named {ref!r} (see: syncoxide repo list; create one: syncoxide repo init)")
    return _row_to_repository(row)


def list_all(conn: psycopg.Connection) -> list[Repository]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(f"SELECT {_COLUMNS} FROM repositories ORDER BY name").fetchall()
    return [_row_to_repository(r) for r in rows]


def set_retention(conn: psycopg.Connection, repo_id: str, retention: Retention | None) -> None:
    value = Jsonb(retention.model_dump(mode="json")) if retention and not retention.empty else None
    with conn.transaction():
        if conn.execute("UPDATE repositories SET retention = %s WHERE id = %s", (value, repo_id)).rowcount != 1:
            raise NotFound(f"no repository with id {repo_id}")


def set_passphrase(conn: psycopg.Connection, repo_id: str, passphrase: SecretRef) -> None:
    with conn.transaction():
        conn.execute("UPDATE repositories SET passphrase_ref = %s WHERE id = %s", (str(passphrase), repo_id))


def spec_hashes(conn: psycopg.Connection) -> dict[str, str | None]:
    """Repository name -> hash of the policy-file spec it was last applied from."""
    return dict(conn.execute("SELECT name, spec_hash FROM repositories").fetchall())


def apply_spec(
    conn: psycopg.Connection, repo_id: str, *, passphrase: SecretRef, retention: Retention | None, spec_hash: str
) -> None:
    value = Jsonb(retention.model_dump(mode="json")) if retention and not retention.empty else None
    with conn.transaction():
        conn.execute(
            "UPDATE repositories SET passphrase_ref = %s, retention = %s, spec_hash = %s WHERE id = %s",
            (str(passphrase), value, spec_hash, repo_id),
        )
