"""Registering a repository: create it (init) or check that the passphrase opens an existing one, then
record it; a name or location already registered is refused before anything is made. The CLI's
`repo init|add` and the API's POST /api/v1/repositories both come here."""

from __future__ import annotations

from pathlib import Path

from syncoxide.backups import operations
from syncoxide.config import Settings
from syncoxide.errors import RepositoryExists
from syncoxide.models import Engine, Repository
from syncoxide.secrets import SecretRef
from syncoxide.store import open_store, repositories


def register_repository(
    settings: Settings, engine: Engine, location: str, name: str | None, passphrase: SecretRef, *, create: bool
) -> Repository:
    location = operations.normalize_location(engine, location)
    name = name or Path(location.rstrip("/")).name or location
    with open_store(settings) as conn:
        if any(r.name == name or r.location == location for r in repositories.list_all(conn)):
            raise RepositoryExists(f"a repository named {name!r} or at {location} is already registered")
        if create:
            operations.init_repository(settings, engine, location, passphrase)
        else:
            operations.open_location(settings, engine, location, passphrase).snapshots()
        return repositories.add(conn, name=name, engine=engine, location=location, passphrase=passphrase)
