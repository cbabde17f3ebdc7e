"""Sync pairs: every pair with its live state (as the dashboard's Sync page shows it), one pair, starting
one (admin: a pair's sides may be any location the workers reach, and a sync deletes), pause, resume,
run now and stop, as `syncoxide sync start|pause|resume|now|stop` do, and a check of two sides by hash
(operate), as `syncoxide sync check`. A pair is named by its pair id or its workflow id (``sync-<pair>``).
A pair is given as a policy file gives it (SyncPairSpec), with absolute sides."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from syncoxide.api.audit import note
from syncoxide.api.auth import Admin, Operator, Reader
from syncoxide.api.context import Ctx
from syncoxide.api.problems import ApiProblem
from syncoxide.contract import temporal as contract
from syncoxide.errors import InvalidInput, NotFound
from syncoxide.orchestration import sync_client, sync_status
from syncoxide.orchestration.sync_status import PairStatus
from syncoxide.policies.schema import SyncPairSpec
from syncoxide.sync.check import CheckReport

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


class PairStart(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$", description="the pair's name (its workflow is sync-<name>)"
    )
    pair: SyncPairSpec


class PairStarted(BaseModel):
    workflow_id: str
    schedule: str


class SidesCheck(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    pair: SyncPairSpec = Field(description="the two sides (and filters, backup_dir) as a pair gives them")


def _pair_request(name: str, pair: SyncPairSpec):
    from syncoxide.policies.loader import pair_request

    try:
        return pair_request(name, pair)
    except InvalidInput as exc:
        key = str(exc).split(":", 1)[0]
        field = f"body.pair.{key}" if key in ("source", "destination") else "body.pair"
        raise ApiProblem(422, f"body.pair.{exc}", field=field) from None


@router.post("", status_code=202, response_model=PairStarted, summary="Start a sync pair (admin)")
async def start_pair(body: PairStart, request: Request, ctx: Ctx, caller: Admin) -> PairStarted:
    """Once, or continuously with ``every`` or ``cron``; a pair whose workflow runs already is refused."""
    wanted = _pair_request(body.name, body.pair)
    cadence = body.pair.cadence()
    wid = await sync_client.start(await ctx.temporal(), ctx.settings, wanted, cadence, paused=body.pair.paused)
    note(request, workflow_id=wid)
    return PairStarted(workflow_id=wid, schedule=cadence.describe())


@router.post("/check", response_model=CheckReport, summary="Compare two sides by hash")
async def check_sides(body: SidesCheck, ctx: Ctx, caller: Operator) -> CheckReport:
    """Every file on either side, compared by hash: matching, differing, only on one side, unreadable."""
    from syncoxide.sync import check as checker

    wanted = _pair_request("check", body.pair)
    options = wanted.options

    def run() -> CheckReport:
        return checker.check(
            ctx.settings, wanted.source, wanted.destination, options.filters, backup_dir=options.backup_dir
        )

    return await run_in_threadpool(run)


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
