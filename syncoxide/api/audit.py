"""Every mutating call (POST, PUT, PATCH, DELETE) recorded in PostgreSQL as it is answered (before the last
byte of the answer goes out, so a client that has its answer finds the entry): who (the
token's name, or ``anonymous`` when no token was accepted), what (method and path), when, from where, and
the status it got. Refused attempts are recorded too: an audit that only shows successes hides the probing.
Routes may add to the entry's detail through ``note(request, key=value)`` (the run a POST started, say)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from syncoxide.api.context import ApiContext
from syncoxide.store import audit

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
log = logging.getLogger(__name__)


def note(request: Request, **detail: Any) -> None:
    request.state.audit_detail = {**getattr(request.state, "audit_detail", {}), **detail}


class AuditMiddleware:
    def __init__(self, app: ASGIApp, ctx: ApiContext):
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATING:
            await self.app(scope, receive, send)
            return
        answered = {"status": 500, "recorded": False}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered["status"] = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                answered["recorded"] = True  # before the answer ends: a client that got it finds the entry
                await self._record(scope, answered["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            if not answered["recorded"]:
                await self._record(scope, answered["status"])

    async def _record(self, scope: Scope, status: int) -> None:
        state = scope.get("state") or {}
        caller = state.get("caller")
        client = scope.get("client")

        def write() -> None:
            with self.ctx.connection() as conn:
                audit.record(
                    conn,
                    actor=caller.name if caller else "anonymous",
                    scope=caller.scope.value if caller else None,
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    address=client[0] if client else None,
                    detail=state.get("audit_detail"),
                )

        try:
            await run_in_threadpool(write)
        except Exception:  # noqa: BLE001 - the answer is already sent; the failure is logged, not hidden
            log.exception("could not record %s %s in the audit log", scope["method"], scope["path"])
