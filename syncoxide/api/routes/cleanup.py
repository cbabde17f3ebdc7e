"""Cleanup plans: make one from a source's latest scan (nothing on disk changes), list them, show one with
its items (paged), and apply or undo it through CleanupWorkflow (202, like every long run): apply moves
exactly the reviewed items into the source's trash, skipping any that changed since; undo puts them back."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from syncoxide.api.auth import Operator, Reader
from syncoxide.api.context import Ctx
from syncoxide.api.paging import Cursor, Limit, Page, decode, page_of
from syncoxide.api.routes.starts import IDEMPOTENCY_PATTERN, Started, start_run
from syncoxide.catalog.cleanup import CleanupRules, CleanupSpec
from syncoxide.contract.payloads import CleanupRequest
from syncoxide.models import RunKind
from syncoxide.store import cleanup as plans

router = APIRouter(prefix="/api/v1/cleanup/plans", tags=["cleanup"])

FIRST_PAGE = 1000
PlanId = Annotated[str, Path(pattern=r"^cleanup-[A-Za-z0-9-]{1,80}$", description="the plan's id")]


class PlanCleanup(CleanupRules):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(description="the source's name (its latest scan is what the plan looks at)")


class PlanView(BaseModel):
    plan: plans.Plan
    items: Page[plans.PlanItem]


@router.post("", status_code=201, response_model=PlanView, summary="Make a cleanup plan to review")
async def make_cleanup_plan(
    body: PlanCleanup, response: Response, request: Request, ctx: Ctx, caller: Operator
) -> PlanView:
    from syncoxide.catalog import sources
    from syncoxide.catalog.cleanup_plan import make_plan

    def make() -> tuple[plans.Plan, list[plans.PlanItem]]:
        found = sources.find_source(ctx.settings, body.source)
        spec = CleanupSpec(source_id=found.id, **body.model_dump(exclude={"source"}))
        return make_plan(ctx.settings, found, spec)

    plan, items = await run_in_threadpool(make)
    response.headers["Location"] = str(request.url_for("show_cleanup_plan", plan_id=plan.id))
    return PlanView(plan=plan, items=page_of(items, FIRST_PAGE, lambda item: [item.seq]))


@router.get("", response_model=list[plans.Plan], summary="Recent cleanup plans")
async def list_cleanup_plans(ctx: Ctx, caller: Reader) -> list[plans.Plan]:
    return await ctx.db(plans.list_plans)


@router.get("/{plan_id}", response_model=PlanView, summary="A plan and its items, paged by seq")
async def show_cleanup_plan(
    plan_id: PlanId, ctx: Ctx, caller: Reader, limit: Limit = 1000, cursor: Cursor = None
) -> PlanView:
    position = decode(cursor, 1)
    after = int(position[0]) if position else None

    def read(conn) -> tuple[plans.Plan, list[plans.PlanItem]]:
        return plans.get(conn, plan_id), plans.items(conn, plan_id, after=after, limit=limit + 1)

    plan, items = await ctx.db(read)
    return PlanView(plan=plan, items=page_of(items, limit, lambda item: [item.seq]))


@router.post("/{plan_id}/{action}", status_code=202, response_model=Started, summary="Apply or undo a plan")
async def run_cleanup_plan(
    plan_id: PlanId,
    action: Literal["apply", "undo"],
    request: Request,
    response: Response,
    ctx: Ctx,
    caller: Operator,
    idempotency_key: Annotated[str | None, Header(pattern=IDEMPOTENCY_PATTERN)] = None,
) -> Started:
    plan = await ctx.db(lambda conn: plans.get(conn, plan_id))
    payload = CleanupRequest(plan_id=plan_id, action=action)
    return await start_run(
        ctx,
        request,
        response,
        caller,
        RunKind.cleanup,
        None,
        payload,
        payload,
        idempotency_key,
        source_id=plan.spec.source_id,
    )
