"""``/healthz`` (no token: is the process up, and can it reach PostgreSQL) and ``/api/v1/status``, the
health of every policy and repository that ``syncoxide status`` prints."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from pydantic import BaseModel

from syncoxide.api.auth import Reader
from syncoxide.api.context import Ctx
from syncoxide.api.problems import ApiProblem
from syncoxide.errors import ServiceUnavailable

router = APIRouter(tags=["health"])


class Liveness(BaseModel):
    ok: bool
    database: bool


class PolicyState(BaseModel):
    policy: str
    state: str
    detail: str
    next_run: datetime | None
    last_run: datetime | None
    last_status: str | None
    last_success: datetime | None


class RepositoryState(BaseModel):
    repository: str
    state: str
    last_check: datetime | None


class Status(BaseModel):
    ok: bool
    policies: list[PolicyState]
    repositories: list[RepositoryState]


@router.get("/healthz", response_model=Liveness, summary="Liveness, without a token")
async def healthz(ctx: Ctx) -> Liveness:
    try:
        await ctx.db(lambda conn: conn.execute("SELECT 1").fetchone())
    except ServiceUnavailable:
        raise ApiProblem(503, "PostgreSQL is not reachable") from None
    return Liveness(ok=True, database=True)


@router.get("/api/v1/status", response_model=Status, summary="Health of every policy and repository")
async def status(ctx: Ctx, caller: Reader) -> Status:
    from syncoxide.orchestration import health

    found, repos = await health.gather(ctx.settings, await ctx.temporal(), datetime.now(UTC))
    policies = [
        PolicyState(
            policy=h.name,
            state=h.state,
            detail=h.detail,
            next_run=h.next_run,
            last_run=h.last_run.started_at if h.last_run else None,
            last_status=h.last_run.status.value if h.last_run else None,
            last_success=h.last_success,
        )
        for h in found
    ]
    repositories = [
        RepositoryState(repository=r.name, state=r.state, last_check=r.last_check.finished_at if r.last_check else None)
        for r in repos
    ]
    return Status(
        ok=not any(h.bad for h in found) and not any(r.bad for r in repos),
        policies=policies,
        repositories=repositories,
    )
