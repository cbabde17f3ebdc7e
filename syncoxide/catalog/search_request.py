"""`syncoxide search` as data: the command's options, checked and turned into a catalog search.

The same request runs in the CLI's own process or in the worker's catalog service (service.py),
so both give the same answers and the same one-line errors.
"""

from __future__ import annotations

import os
import time
from datetime import datetime

from pydantic import BaseModel, Field

from syncoxide.catalog.query import CatalogReader, SearchFilter, SearchHit
from syncoxide.config import Settings
from syncoxide.errors import InvalidInput
from syncoxide.models import parse_duration, parse_size
from syncoxide.store import catalog as manifest
from syncoxide.store import open_store, repositories

WHERE = ("all", "sources", "snapshots")


class SearchRequest(BaseModel):
    """The options of `syncoxide search`, as typed; ``cwd`` is where relative paths in them start."""

    text: str | None = None
    glob: str | None = None
    regex: str | None = None
    path: str | None = None
    ext: list[str] = Field(default_factory=list)
    type: str | None = None
    min_size: str | None = None
    max_size: str | None = None
    newer_than: str | None = None
    older_than: str | None = None
    where: str = "all"
    repo: list[str] = Field(default_factory=list)
    source: list[str] = Field(default_factory=list)
    limit: int = 100
    cwd: str = "/"

    def absolute(self, ref: str) -> str:
        return os.path.realpath(os.path.join(self.cwd, os.path.expanduser(ref)))


def search_filter(settings: Settings, request: SearchRequest, now: float | None = None) -> SearchFilter:
    """The request checked (bad values raise InvalidInput naming the option) and its names resolved."""
    if request.where not in WHERE:
        raise InvalidInput(f"--in {request.where}: use all, sources or snapshots")
    if request.limit < 1:
        raise InvalidInput(f"--limit {request.limit}: must be at least 1")
    now = time.time() if now is None else now

    def ago(duration: str | None) -> datetime | None:
        return datetime.fromtimestamp(now - parse_duration(duration).total_seconds()) if duration else None

    repository_ids, source_ids = [], []
    if request.repo or request.source:
        with open_store(settings) as conn:
            for ref in request.repo:
                location = request.absolute(ref) if "/" in ref or ref.startswith(".") else None
                repository_ids.append(repositories.find(conn, ref, location=location).id)
            for ref in request.source:
                source_ids.append(manifest.find_source(conn, request.absolute(ref) if "/" in ref else ref).id)
    return SearchFilter(
        name=request.text,
        glob=request.glob,
        regex=request.regex,
        path_prefix=request.path,
        extensions=request.ext,
        type=request.type,
        min_size=parse_size(request.min_size) if request.min_size else None,
        max_size=parse_size(request.max_size) if request.max_size else None,
        modified_after=ago(request.newer_than),
        modified_before=ago(request.older_than),
        where=request.where,
        repository_ids=repository_ids,
        source_ids=source_ids,
        limit=request.limit,
    )


def run_search(settings: Settings, request: SearchRequest, reader: CatalogReader | None = None) -> list[SearchHit]:
    """The hits, from ``reader`` if given (the caller keeps it open), else from a reader opened for this."""
    found = search_filter(settings, request)
    if reader is not None:
        return reader.search(found)
    with CatalogReader.open(settings) as opened:
        return opened.search(found)
