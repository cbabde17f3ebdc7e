"""What the dashboard's overview shows, gathered from the store and the stack."""

from __future__ import annotations

from dataclasses import dataclass, field

from syncoxide.config import Settings
from syncoxide.dev import stack as devstack
from syncoxide.errors import SyncoxideError
from syncoxide.models import Repository, Run
from syncoxide.store import open_store, repositories, runs


@dataclass
class Overview:
    services: list[devstack.Service]
    repositories: list[Repository] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    error: str | None = None


def gather(settings: Settings, *, limit: int = 50) -> Overview:
    overview = Overview(services=devstack.status(settings))
    try:
        with open_store(settings) as conn:
            overview.repositories = repositories.list_all(conn)
            overview.runs = runs.recent(conn, limit=limit)
    except SyncoxideError as exc:
        overview.error = str(exc)
    return overview
