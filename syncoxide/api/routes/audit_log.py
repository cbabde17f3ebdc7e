"""``GET /api/v1/audit``: the recorded mutating calls, newest first, paged by cursor (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from syncoxide.api.auth import Admin
from syncoxide.api.context import Ctx
from syncoxide.api.paging import Cursor, Limit, Page, decode, page_of
from syncoxide.store import audit

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("", response_model=Page[audit.AuditEntry], summary="Who changed what, when, from where")
async def audit_log(
    ctx: Ctx,
    caller: Admin,
    actor: Annotated[str | None, Query(max_length=64, description="only this token's calls")] = None,
    refused: Annotated[bool, Query(description="only calls answered 400 or above")] = False,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[audit.AuditEntry]:
    position = decode(cursor, 1)
    before = int(position[0]) if position else None
    found = await ctx.db(lambda conn: audit.recent(conn, limit=limit + 1, before=before, actor=actor, refused=refused))
    return page_of(found, limit, lambda entry: [entry.id])
