"""The catalog: search with every filter `syncoxide search` has, paged by cursor, a path's versions, and what
`syncoxide stats` shows (usage per repository, totals of a source or a snapshot)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from syncoxide.api.auth import Reader
from syncoxide.api.context import ApiContext, Ctx
from syncoxide.api.paging import Cursor, Page, decode, encode
from syncoxide.api.problems import ApiProblem
from syncoxide.catalog.analytics import RepositoryUsage, Totals
from syncoxide.catalog.query import SearchFilter, SearchHit, Version

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"])


def _key(hit: SearchHit) -> tuple[str, str, str]:
    return hit.path, hit.location, hit.location_name


def search_page(ctx: ApiContext, filters: SearchFilter, after: tuple[str, str, str] | None) -> Page[SearchHit]:
    """One page of hits in (path, location, name) order, after ``after``. The query starts at the cursor's
    path and asks for more than a page when hits share it, so no hit is skipped or shown twice."""

    wanted = filters.limit + 1
    ask = wanted + 16
    with ctx.catalog() as reader:
        while True:
            query = filters.model_copy(update={"limit": ask, "from_path": after[0] if after else None})
            hits = reader.search(query)
            fresh = [h for h in hits if after is None or _key(h) > after]
            if len(fresh) >= wanted or len(hits) < ask:
                break
            ask *= 4  # many hits on the cursor's path: look further
    items = fresh[: filters.limit]
    more = len(fresh) > filters.limit
    return Page[SearchHit](items=items, next_cursor=encode(list(_key(items[-1]))) if more else None)


@router.get("/search", response_model=Page[SearchHit], summary="Search sources and snapshots")
async def search(
    filters: Annotated[SearchFilter, Query()],
    ctx: Ctx,
    caller: Reader,
    cursor: Cursor = None,
) -> Page[SearchHit]:
    """``limit`` is the page size; pass ``next_cursor`` back as ``cursor`` for the next page."""
    position = decode(cursor, 3)
    after = (str(position[0]), str(position[1]), str(position[2])) if position else None
    return await run_in_threadpool(search_page, ctx, filters, after)


@router.get("/versions", response_model=list[Version], summary="Every version of a path, oldest first")
async def versions(
    path: Annotated[str, Query(min_length=1, description="an absolute path as the catalog holds it")],
    ctx: Ctx,
    caller: Reader,
    repository: Annotated[list[str] | None, Query(description="only these repository ids (repeatable)")] = None,
) -> list[Version]:

    def read() -> list[Version]:
        with ctx.catalog() as reader:
            return reader.versions(path, repository or [])

    return await run_in_threadpool(read)


@router.get("/usage", response_model=list[RepositoryUsage], summary="Per repository: snapshots, sizes, dedup")
async def usage(ctx: Ctx, caller: Reader) -> list[RepositoryUsage]:
    from syncoxide.catalog import analytics

    def read() -> list[RepositoryUsage]:
        with ctx.catalog() as reader:
            return analytics.repository_usage(reader)

    return await run_in_threadpool(read)


@router.get("/totals", response_model=Totals, summary="What fills a source or a snapshot")
async def totals(
    ctx: Ctx,
    caller: Reader,
    source: Annotated[str | None, Query(description="a source's name or id (its latest scan)")] = None,
    repository: Annotated[str | None, Query(description="a repository's name or id")] = None,
    snapshot: Annotated[str | None, Query(description="with repository: this snapshot (default: latest)")] = None,
    top: Annotated[int, Query(ge=1, le=1000, description="how many extensions and folders")] = 15,
    depth: Annotated[int, Query(ge=1, le=64, description="folder depth below the root for top folders")] = 2,
) -> Totals:
    """By type, extension, size, age and folder, as `syncoxide stats --source|--repo` shows."""
    from syncoxide.catalog import analytics

    if (source is None) == (repository is None):
        raise ApiProblem(422, "query.source: give exactly one of source and repository", field="query.source")

    def read() -> Totals:
        with ctx.catalog() as reader:
            scope = (
                analytics.source_scope(reader, source)
                if source is not None
                else analytics.snapshot_scope(reader, repository or "", snapshot)
            )
            return analytics.totals(reader, scope, top=top, depth=depth)

    return await run_in_threadpool(read)
