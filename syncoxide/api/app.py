"""The FastAPI application: the routers, problem+json errors, the audit log, the OpenAPI schema at
/api/v1/openapi.json (checked in as docs/openapi.json), and the pool and Temporal client it shares."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from syncoxide import __version__
from syncoxide.api import problems
from syncoxide.api.audit import AuditMiddleware
from syncoxide.api.auth import Gate, Scope
from syncoxide.api.context import ApiContext
from syncoxide.api.routes import audit_log, catalog, cleanup, codec, health, policies, repositories, runs, starts, sync
from syncoxide.config import Settings

ROUTERS = (
    health.router,
    repositories.router,
    runs.router,
    starts.router,
    sync.router,
    policies.router,
    cleanup.router,
    catalog.router,
    audit_log.router,
    codec.router,
)
DESCRIPTION = """Everything the syncoxide CLI does, over HTTP. Every call but `/healthz` needs
`Authorization: Bearer <token>` (`syncoxide token create`); scopes: read < operate < admin. Errors are
RFC 9457 problem+json naming the field that was wrong. Long work answers 202 with the run; follow it at
`/api/v1/runs/{id}` or stream `/api/v1/runs/{id}/events`."""


def create_app(settings: Settings) -> FastAPI:
    ctx = ApiContext(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(ctx.open)
        try:
            yield
        finally:
            await run_in_threadpool(ctx.close)

    app = FastAPI(
        title="syncoxide",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # Swagger UI would load from a CDN; the schema is enough for every client
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.context = ctx
    app.state.gate = Gate(ctx)
    app.state.codecs = codec.Codecs(ctx)
    problems.install(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(AuditMiddleware, ctx=ctx)
    app.openapi = lambda: _schema(app)  # type: ignore[method-assign]  # FastAPI's documented way to amend it
    return app


ERRORS = {
    "401": "no token, or one that is unknown, expired or revoked",
    "403": "the token's scope does not cover this call",
    "404": "what the call names (a repository, run, pair) does not exist",
    "422": "invalid input; `field` names where",
    "429": "too many failed attempts from this address (Retry-After says how long to wait)",
    "503": "PostgreSQL or Temporal is not reachable",
}
CONFLICT = {"409": "the call does not fit the state it found (a run not running, a repository locked)"}


SCOPE_KEY = "x-syncoxide-scope"
"""each operation's scope in the schema: read, operate or admin (absent: no token needed)"""


def _scope_of(dependant: Dependant) -> Scope | None:
    for dependency in dependant.dependencies:
        found = getattr(dependency.call, "scope", None) or _scope_of(dependency)
        if found is not None:
            return found
    return None


def _schema(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, with what every call may answer besides its success: problem+json, not FastAPI's
    own validation error shape (the API never sends that)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes, openapi_version="3.1.0"
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components["Problem"] = problems.Problem.model_json_schema()
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for route in (route for router in ROUTERS for route in router.routes):
        if not isinstance(route, APIRoute) or (scope := _scope_of(route.dependant)) is None:
            continue
        for method in route.methods or ():
            schema["paths"][route.path_format][method.lower()][SCOPE_KEY] = scope.value
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            answers = operation.setdefault("responses", {})
            needed = ERRORS if path.startswith("/api/") else {"503": ERRORS["503"]}
            if method != "get" and path.startswith("/api/"):
                needed = {**needed, **CONFLICT}
            for status, description in needed.items():
                answers[status] = {"description": description, "content": problem}
    app.openapi_schema = schema
    return schema
