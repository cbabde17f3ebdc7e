"""Repositories: list, show, a repository's snapshots (read from the engine, as `syncoxide snapshots`), and
a snapshot's contents, folders and differences (read from the catalog, paged by path)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from syncoxide.api.audit import note
from syncoxide.api.auth import Admin, Reader
from syncoxide.api.context import ApiContext, Ctx
from syncoxide.api.paging import Cursor, Limit, Page, decode, page_of
from syncoxide.api.problems import ApiProblem
from syncoxide.catalog.query import CatalogReader
from syncoxide.errors import InvalidInput, NotFound
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


class RepositoryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    engine: Engine
    location: str = Field(min_length=1, max_length=4096, description="a path, or ssh:// (borg), sftp: (restic), ...")
    name: str | None = Field(None, min_length=1, max_length=200, description="default: the location's last part")
    passphrase: str = Field(
        max_length=4096,
        description="a secret reference, never the passphrase: env:VAR, file:PATH or command:CMD (on the workers)",
        examples=["file:/etc/syncoxide/nas.pass"],
    )
    create: bool = Field(True, description="true: make a new repository; false: register one that exists")


@router.post("", status_code=201, response_model=RepositoryView, summary="Create or register a repository")
async def create_repository(
    body: RepositoryCreate, request: Request, response: Response, ctx: Ctx, caller: Admin
) -> RepositoryView:
    """As `syncoxide repo init` (or `repo add` with create false): a name or location already registered is a
    422, and nothing is made; borg repositories are repokey-blake2, restic ones restic's default."""
    from syncoxide.backups.registration import register_repository
    from syncoxide.secrets import SecretRef

    try:
        passphrase = SecretRef.parse(body.passphrase)
    except InvalidInput:
        raise ApiProblem(
            422, "body.passphrase: must be env:NAME, file:PATH or command:COMMAND", field="body.passphrase"
        ) from None
    made = await run_in_threadpool(
        register_repository, ctx.settings, body.engine, body.location, body.name, passphrase, create=body.create
    )
    note(request, repository=made.id)
    response.headers["Location"] = str(request.url_for("show_repository", repository=made.name))
    return RepositoryView.of(made)


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
        with ctx.catalog() as reader:
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
    return page_of([SnapshotEntry(**row) for row in rows], limit, lambda entry: [entry.path])


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
    return page_of([Change(**row) for row in rows], limit, lambda change: [change.path])
