"""Runs: the recorded ones (paged, filtered), one run's live state, its progress as Server-Sent Events,
and cancellation. A run's id is its workflow's id, so a run just started over POST is found here before
its first activity has written its record."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from temporalio.service import RPCError, RPCStatusCode

from syncoxide.api.auth import Operator, Reader
from syncoxide.api.context import ApiContext, Ctx
from syncoxide.api.paging import Cursor, Limit, Page, decode, page_of
from syncoxide.api.problems import ApiProblem
from syncoxide.errors import NotFound
from syncoxide.models import Run, RunKind, RunStatus
from syncoxide.orchestration.client import RunState
from syncoxide.store import runs

router = APIRouter(prefix="/api/v1/runs", tags=["runs"])

EVENT_POLL_S = 1.0
KEEPALIVE_S = 15.0
RUN_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$"
RunId = Annotated[str, Path(pattern=RUN_ID_PATTERN, description="the run's id (its workflow's id)")]


class RunView(BaseModel):
    """A run as it stands: its record (once its workflow wrote one) and its workflow's live state."""

    id: str
    state: str = Field(description="running, succeeded, failed, cancelled, or unknown (no workflow, only a record)")
    record: Run | None = None
    live: RunState | None = None


@router.get("", response_model=Page[Run], summary="Recorded runs, newest first")
async def list_runs(
    ctx: Ctx,
    caller: Reader,
    repository: Annotated[str | None, Query(description="only this repository's (name or id)")] = None,
    policy: Annotated[str | None, Query(description="only this policy's")] = None,
    kind: Annotated[list[RunKind] | None, Query(description="only these kinds (repeatable)")] = None,
    status: Annotated[list[RunStatus] | None, Query(description="only these statuses (repeatable)")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[Run]:
    position = decode(cursor, 2)
    before = (datetime.fromisoformat(str(position[0])), str(position[1])) if position else None

    def read(conn) -> list[Run]:
        repository_id = None
        if repository is not None:
            from syncoxide.store import repositories

            repository_id = repositories.find(conn, repository).id
        return runs.recent(
            conn,
            limit=limit + 1,
            repository_id=repository_id,
            policy_id=policy,
            kinds=kind,
            statuses=status,
            before=before,
        )

    return page_of(await ctx.db(read), limit, lambda run: [run.started_at.isoformat(), run.id])


async def _live(ctx: ApiContext, run_id: str) -> RunState | None:
    from syncoxide.orchestration import client as temporal

    try:
        return await temporal.poll(await ctx.temporal(), run_id)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


async def _record(ctx: ApiContext, run_id: str) -> Run | None:
    def read(conn) -> Run | None:
        try:
            return runs.get(conn, run_id)
        except NotFound:
            return None

    return await ctx.db(read)


@router.get("/{run_id}", response_model=RunView, summary="One run: its record and its workflow's state")
async def show_run(run_id: RunId, ctx: Ctx, caller: Reader) -> RunView:
    record, live = await asyncio.gather(_record(ctx, run_id), _live(ctx, run_id))
    if record is None and live is None:
        raise NotFound(f"no run with id {run_id}")
    state = live.status if live else "unknown"
    return RunView(id=run_id, state=state, record=record, live=live)


@router.post("/{run_id}/cancel", status_code=202, response_model=RunView, summary="Ask a running run to stop")
async def cancel_run(run_id: RunId, ctx: Ctx, caller: Operator) -> RunView:
    """The engine stops cleanly (borg and restic release their locks) and the run is recorded as cancelled;
    follow /events to see it end."""
    from syncoxide.orchestration import client as temporal

    live = await _live(ctx, run_id)
    if live is None:
        raise NotFound(f"no run with id {run_id}")
    if live.status != "running":
        raise ApiProblem(409, f"run {run_id} is not running: it {live.status}")
    await temporal.cancel(await ctx.temporal(), run_id)
    return RunView(id=run_id, state="running", live=live)


def _event(name: str, data: BaseModel | dict) -> bytes:
    body = data.model_dump_json() if isinstance(data, BaseModel) else json.dumps(data)
    return f"event: {name}\ndata: {body}\n\n".encode()


@router.get(
    "/{run_id}/events",
    summary="A run's progress as Server-Sent Events, until it ends",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "progress events, then one end event"}},
)
async def run_events(run_id: RunId, request: Request, ctx: Ctx, caller: Reader) -> StreamingResponse:
    """``event: progress`` carries the running activity's latest heartbeat (phase, files and bytes done and
    total) whenever it changes; ``event: end`` carries the final state (succeeded with its result, failed
    with its error, cancelled) and closes the stream. A comment line every 15 s keeps proxies from
    closing an idle stream."""
    first = await _live(ctx, run_id)
    if first is None:
        raise NotFound(f"no run with id {run_id}")

    async def events() -> AsyncIterator[bytes]:
        live: RunState | None = first
        shown = None
        quiet_since = asyncio.get_running_loop().time()
        while live is not None and live.status == "running":
            if live.progress is not None and live.progress != shown:
                shown = live.progress
                quiet_since = asyncio.get_running_loop().time()
                yield _event("progress", live.progress)
            elif asyncio.get_running_loop().time() - quiet_since > KEEPALIVE_S:
                quiet_since = asyncio.get_running_loop().time()
                yield b": still running\n\n"
            await asyncio.sleep(EVENT_POLL_S)
            if await request.is_disconnected():
                return
            try:
                live = await _live(ctx, run_id)
            except RPCError:
                continue  # Temporal briefly away: the next poll tells
        yield _event("end", live if live is not None else {"status": "unknown"})

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
