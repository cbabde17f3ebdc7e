"""Repositories: list, show, and a repository's snapshots (read from the engine, as `syncoxide snapshots`)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from syncoxide.api.auth import Reader
from syncoxide.api.context import ApiContext, Ctx
from syncoxide.models import Engine, Repository, Retention, Snapshot
from syncoxide.secrets.in_locations import redacted
from syncoxide.store import repositories

router = APIRouter(prefix="/api/v1/repositories", tags=["repositories"])


class RepositoryView(BaseModel):
    """A repository as the API shows it: its location with any credential taken out, no passphrase."""

    id: str
    name: str
    engine: Engine
    location: str
    retention: Retention | None
    created_at: datetime | None

    @classmethod
    def of(cls, repository: Repository) -> RepositoryView:
        return cls(
            id=repository.id,
            name=repository.name,
            engine=repository.engine,
            location=redacted(repository.location),
            retention=repository.retention,
            created_at=repository.created_at,
        )


async def find(ctx: ApiContext, ref: str) -> Repository:
    """A repository by name or id (404 naming it when there is none)."""
    return await ctx.db(lambda conn: repositories.find(conn, ref))


@router.get("", response_model=list[RepositoryView], summary="Every repository")
async def list_repositories(ctx: Ctx, caller: Reader) -> list[RepositoryView]:
    return [RepositoryView.of(r) for r in await ctx.db(repositories.list_all)]


@router.get("/{repository}", response_model=RepositoryView, summary="One repository, by name or id")
async def show_repository(repository: str, ctx: Ctx, caller: Reader) -> RepositoryView:
    return RepositoryView.of(await find(ctx, repository))


@router.get("/{repository}/snapshots", response_model=list[Snapshot], summary="A repository's snapshots")
async def list_snapshots(repository: str, ctx: Ctx, caller: Reader) -> list[Snapshot]:
    from syncoxide.backups import operations

    found = await find(ctx, repository)
    return await run_in_threadpool(lambda: operations.open_repository(ctx.settings, found).snapshots())
