"""Cursor paging for listings that can be large: a page holds at most ``limit`` items and, when more
follow, ``next_cursor``, an opaque token to pass back as ``?cursor=``. The cursor is the position after
the last item (keyset paging), so items added while a client pages through do not shift the pages."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from syncoxide.api.problems import ApiProblem

T = TypeVar("T")
CURSOR_MAX = 4096

Limit = Annotated[int, Query(ge=1, le=1000, description="items per page")]
Cursor = Annotated[
    str | None, Query(max_length=CURSOR_MAX, description="next_cursor of the previous page; unset: the first page")
]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="pass as ?cursor= for the next page; null on the last one")


def encode(position: list[Any]) -> str:
    text = json.dumps(position, separators=(",", ":"), ensure_ascii=False, default=str)
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def decode(cursor: str | None, size: int) -> list[Any] | None:
    """The position a cursor holds (a list of ``size`` values); a cursor this server did not make is a 422."""
    if cursor is None:
        return None
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        position = None
    if not isinstance(position, list) or len(position) != size:
        raise ApiProblem(422, "query.cursor: not a cursor this listing gave out", field="query.cursor")
    return position


def page_of(fetched: list[T], limit: int, position: Callable[[T], list[Any]]) -> Page[T]:
    """A page of the first ``limit`` of ``fetched`` (a query asked for ``limit + 1``: one more means a next
    page, whose cursor is the ``position`` of this page's last item)."""
    shown = fetched[:limit]
    more = len(fetched) > limit
    return Page[T](items=shown, next_cursor=encode(position(shown[-1])) if more else None)
