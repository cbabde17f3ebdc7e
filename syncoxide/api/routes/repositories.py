"""Repositories: list, show, a repository's snapshots (read from the engine, as `syncoxide snapshots`), and
a snapshot's contents, folders and differences (read from the catalog, paged by path)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from syncoxide.api.auth import Reader
from syncoxide.api.context import ApiContext, Ctx
from syncoxide.api.paging import Cursor, Limit, Page, decode, encode
from syncoxide.catalog.query import CatalogReader
from syncoxide.errors import NotFound
from syncoxide.models import Engine, Repository, Retention, Snapshot
from syncoxide.secrets.in_locations import redacted
from syncoxide.store import repositories

router = APIRouter(prefix="/api/v1/repositories", tags=["repositories"])
T = TypeVar("T")


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


class SnapshotEntry(BaseModel):
    path: str
    type: str
    size: int
    mtime_ns: int | None = None
    mode: int | None = None


class Child(SnapshotEntry):
    name: str


class Change(BaseModel):
    path: str
    change: str = Field(description="added, removed or modified (type, size or modification time)")
    old_size: int | None
    new_size: int | None


SnapshotId = Annotated[str, PathParam(min_length=1, max_length=200, description="the snapshot's id")]


def _indexed(reader: CatalogReader, repository: Repository, *snapshots: str) -> None:
    held = {r["snapshot_id"] for r in reader.snapshot_rows if r["repository_id"] == repository.id}
    for snapshot in snapshots:
        if snapshot not in held:
            raise NotFound(
                f"snapshot {snapshot} of {repository.name} is not in the catalog"
                f" (syncoxide catalog ingest --repo {repository.name} --snapshot {snapshot})"
            )


async def _read_catalog(ctx: ApiContext, work: Callable[[CatalogReader], T]) -> T:
    def run() -> T:
        with CatalogReader.open(ctx.settings) as reader:
            return work(reader)

    return await run_in_threadpool(run)


@router.get(
    "/{repository}/snapshots/{snapshot}/entries",
    response_model=Page[SnapshotEntry],
    summary="A snapshot's contents, by path, paged",
)
async def snapshot_entries(
    repository: str,
    snapshot: SnapshotId,
    ctx: Ctx,
    caller: Reader,
    path: Annotated[list[str] | None, Query(description="only at or below these paths (repeatable)")] = None,
    limit: Limit = 1000,
    cursor: Cursor = None,
) -> Page[SnapshotEntry]:
    """From the catalog (every snapshot a backup makes is in it), not by listing the repository again."""
    found = await find(ctx, repository)
    position = decode(cursor, 1)

    def read(reader: CatalogReader) -> list[dict]:
        _indexed(reader, found, snapshot)
        after = str(position[0]) if position else None
        return reader.entries_under(found.id, snapshot, path or [], limit=limit + 1, after=after)

    rows = await _read_catalog(ctx, read)
    items = [SnapshotEntry(**row) for row in rows[:limit]]
    return Page[SnapshotEntry](items=items, next_cursor=encode([items[-1].path]) if len(rows) > limit else None)


@router.get(
    "/{repository}/snapshots/{snapshot}/children",
    response_model=list[Child],
    summary="One folder of a snapshot, folders first",
)
async def snapshot_children(
    repository: str,
    snapshot: SnapshotId,
    ctx: Ctx,
    caller: Reader,
    directory: Annotated[str, Query(min_length=1, description="an absolute folder of the snapshot")] = "/",
) -> list[Child]:
    found = await find(ctx, repository)

    def read(reader: CatalogReader) -> list[dict]:
        _indexed(reader, found, snapshot)
        return reader.children(found.id, snapshot, directory)

    return [Child(**row) for row in await _read_catalog(ctx, read)]


@router.get("/{repository}/diff", response_model=Page[Change], summary="What changed between two snapshots")
async def snapshot_diff(
    repository: str,
    older: Annotated[str, Query(min_length=1, max_length=200)],
    newer: Annotated[str, Query(min_length=1, max_length=200)],
    ctx: Ctx,
    caller: Reader,
    limit: Limit = 1000,
    cursor: Cursor = None,
) -> Page[Change]:
    found = await find(ctx, repository)
    position = decode(cursor, 1)

    def read(reader: CatalogReader) -> list[dict]:
        _indexed(reader, found, older, newer)
        after = str(position[0]) if position else None
        return reader.diff(found.id, older, newer, limit=limit + 1, after=after)

    rows = await _read_catalog(ctx, read)
    items = [Change(**row) for row in rows[:limit]]
    return Page[Change](items=items, next_cursor=encode([items[-1].path]) if len(rows) > limit else None)
