"""Sync pairs: every pair with its live state (as the dashboard's Sync page shows it), one pair, and
pause, resume, run now and stop, as `syncoxide sync pause|resume|now|stop` do. A pair is named by its
pair id or its workflow id (``sync-<pair>``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from syncoxide.api.auth import Operator, Reader
from syncoxide.api.context import Ctx
from syncoxide.contract import temporal as contract
from syncoxide.errors import NotFound
from syncoxide.orchestration import sync_client, sync_status
from syncoxide.orchestration.sync_status import PairStatus

router = APIRouter(prefix="/api/v1/sync/pairs", tags=["sync"])

PairRef = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$", description="the pair's id or its workflow id")
]
Action = Literal["pause", "resume", "now", "stop"]


class ActionDone(BaseModel):
    pair: str
    action: Action
    detail: str = Field(description="what happened, in one line")


async def _pair(ctx: Ctx, ref: str) -> PairStatus:
    wid = ref if ref.startswith("sync-") else sync_client.workflow_id(ref)
    client = await ctx.temporal()
    for status in await sync_status.gather(ctx.settings, client):
        if status.workflow_id == wid:
            return status
    raise NotFound(f"no sync pair {ref} (see GET /api/v1/sync/pairs)")


@router.get("", response_model=list[PairStatus], summary="Every sync pair, with its live state")
async def list_pairs(ctx: Ctx, caller: Reader) -> list[PairStatus]:
    return await sync_status.gather(ctx.settings, await ctx.temporal())


@router.get("/{pair}", response_model=PairStatus, summary="One sync pair")
async def show_pair(pair: PairRef, ctx: Ctx, caller: Reader) -> PairStatus:
    return await _pair(ctx, pair)


@router.post("/{pair}/{action}", status_code=202, response_model=ActionDone, summary="Pause, resume, run now, stop")
async def act_on_pair(pair: PairRef, action: Action, ctx: Ctx, caller: Operator) -> ActionDone:
    """``pause`` stops after the current pass, ``resume`` undoes it, ``now`` runs a pass now (one more pass of
    a pair whose workflow has ended), ``stop`` ends the workflow (a running pass stops between chunks; what it
    sent is kept and journaled)."""
    found = await _pair(ctx, pair)
    client = await ctx.temporal()
    wid = found.workflow_id
    if action == "pause":
        await sync_client.signal(client, wid, contract.SYNC_PAUSE.name)
        detail = "pauses after its current pass"
    elif action == "resume":
        await sync_client.signal(client, wid, contract.SYNC_RESUME.name)
        detail = "resumed"
    elif action == "now":
        signalled = await sync_client.run_now(client, ctx.settings, wid)
        detail = "runs a pass now" if signalled else "started one more pass"
    else:
        await sync_client.stop(client, wid)
        detail = "stopped"
    return ActionDone(pair=found.pair, action=action, detail=detail)
