"""Who is calling: ``Authorization: Bearer <token>`` checked against the stored token hashes (store/tokens.py),
and whether the token's scope covers the route (read < operate < admin). A missing or wrong token is a 401,
a token outside its scope a 403; ten wrong tokens from one address within a minute and it gets 429s until
they age out (a request without a token guesses nothing and is not counted). Routes declare what they need
with the ``Reader``, ``Operator`` and ``Admin`` parameter types."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from syncoxide.api.context import ApiContext, context
from syncoxide.api.problems import ApiProblem
from syncoxide.api.tokens import Scope, token_key
from syncoxide.server.failures import FailureThrottle
from syncoxide.store import tokens

FAILURES_ALLOWED = 10
FAILURE_WINDOW_S = 60.0
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="syncoxide"'}

bearer = HTTPBearer(auto_error=False, description="an API token made by `syncoxide token create`")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


@dataclass(frozen=True)
class Caller:
    name: str
    scope: Scope
    token_id: str
    address: str


class Gate:
    """The token key and the failure throttle of one API process."""

    def __init__(self, ctx: ApiContext):
        self.ctx = ctx
        self.failures = FailureThrottle(FAILURES_ALLOWED, FAILURE_WINDOW_S)

    @cached_property
    def key(self) -> bytes:
        return token_key(self.ctx.settings)

    def refuse_if_blocked(self, address: str) -> None:
        wait = self.failures.retry_after_s(address)
        if wait:
            raise ApiProblem(
                429, "too many failed attempts from this address; try again later", headers={"Retry-After": str(wait)}
            )

    async def caller(self, request: Request, credentials: HTTPAuthorizationCredentials | None) -> Caller:
        address = request.client.host if request.client else "?"
        self.refuse_if_blocked(address)
        if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
            raise ApiProblem(401, "an API token is required (Authorization: Bearer ...)", headers=CHALLENGE)
        presented = credentials.credentials
        key = self.key
        found = await self.ctx.db(lambda conn: tokens.authenticate(conn, key, presented))
        if found is None:
            self.failures.failed(address)
            raise ApiProblem(401, "the API token is unknown, expired or revoked", headers=CHALLENGE)
        return Caller(found.name, found.scope, found.id, address)


def gate(request: Request) -> Gate:
    return request.app.state.gate  # set by app.create_app


def require(needed: Scope) -> Callable[..., Awaitable[Caller]]:
    """A dependency that authenticates the request and refuses a token whose scope does not cover ``needed``."""

    async def dependency(request: Request, credentials: Credentials) -> Caller:
        found = await gate(request).caller(request, credentials)
        request.state.caller = found
        if not found.scope.allows(needed):
            raise ApiProblem(403, f"token {found.name!r} has scope {found.scope.value}; this needs {needed.value}")
        return found

    dependency.__name__ = f"require_{needed.value}"
    dependency.scope = needed  # type: ignore[attr-defined]  # read by app._schema to say each call's scope
    return dependency


__all__ = ["Admin", "Caller", "Gate", "Operator", "Reader", "Scope", "context", "require"]

Reader = Annotated[Caller, Depends(require(Scope.read))]
Operator = Annotated[Caller, Depends(require(Scope.operate))]
Admin = Annotated[Caller, Depends(require(Scope.admin))]
