"""``GET /api/v1/audit``: the recorded mutating calls, newest first, paged by cursor (admin)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from syncoxide.api.auth import Admin
from syncoxide.api.context import Ctx
from syncoxide.api.paging import Cursor, Limit, Page, decode, encode
from syncoxide.store import audit

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class AuditView(BaseModel):
    id: int
    at: datetime
    actor: str
    scope: str | None
    method: str
    path: str
    target: str | None
    status: int
    address: str | None
    detail: dict[str, Any]


@router.get("", response_model=Page[AuditView], summary="Who changed what, when, from where")
async def audit_log(
    ctx: Ctx,
    caller: Admin,
    actor: Annotated[str | None, Query(max_length=64, description="only this token's calls")] = None,
    refused: Annotated[bool, Query(description="only calls answered 400 or above")] = False,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[AuditView]:
    position = decode(cursor, 1)
    before = int(position[0]) if position else None
    found = await ctx.db(lambda conn: audit.recent(conn, limit=limit + 1, before=before, actor=actor, refused=refused))
    items = [AuditView(**{**asdict(entry), "detail": entry.detail or {}}) for entry in found[:limit]]
    more = len(found) > limit
    return Page[AuditView](items=items, next_cursor=encode([items[-1].id]) if more else None)
