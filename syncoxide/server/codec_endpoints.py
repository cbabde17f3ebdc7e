"""The codec server: POST .../encode and .../decode for Temporal's Web UI and CLI, behind a bearer token.

Protocol (Temporal's codec server protocol): the body is a protobuf-JSON ``Payloads`` object, the
answer is the same shape; only the last path segment selects the operation. Decoding is an
authorized act: every request needs ``Authorization: Bearer <token>`` or the session cookie that
``POST /session`` sets after the token was given there once (the Web UI cannot send a bearer token
of its own, only cross-origin credentials). CORS answers the Web UI's origins only, the Host header
must name this server (a DNS-rebinding page gets 400), and failed attempts from one address are
slowed to a halt (429) before a token could be guessed.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import secrets
import time
from collections.abc import Sequence
from urllib.parse import parse_qs

from google.protobuf import json_format
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from temporalio.api.common.v1 import Payloads

from syncoxide.orchestration.codec import ENCODING, EncryptionCodec, PayloadNotAuthenticated
from syncoxide.server.failures import FailureThrottle

COOKIE = "syncoxide_codec"
SESSION_S = 12 * 3600
FAILURES_ALLOWED = 10
FAILURE_WINDOW_S = 60.0
MAX_BODY = 8 * 1024 * 1024  # Temporal caps a payload at 2 MB and an event batch at 4 MB


def problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


class CodecRefusal(Exception):
    def __init__(self, status: int, title: str, detail: str):
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


def transform(codec: EncryptionCodec, operation: str, body: bytes) -> dict:
    """The codec protocol's answer to one request body: its payloads sealed (encode) or opened (decode;
    plaintext from before the codec is passed through as it is, sealed ones must open)."""
    if len(body) > MAX_BODY:
        raise CodecRefusal(413, "too large", f"the body holds {len(body)} bytes; at most {MAX_BODY}")
    try:
        given = json_format.Parse(body or b"{}", Payloads())
    except json_format.ParseError as exc:
        raise CodecRefusal(400, "bad payloads", f"the body is not protobuf-JSON Payloads: {str(exc)[:200]}") from None
    try:
        if operation == "encode":
            done = [codec.seal(p) for p in given.payloads]
        else:
            done = [codec.open(p) if p.metadata.get("encoding") == ENCODING else p for p in given.payloads]
    except PayloadNotAuthenticated as exc:
        raise CodecRefusal(400, "not authenticated", exc.message) from None
    return json_format.MessageToDict(Payloads(payloads=done))


class _Guard:
    """The token, the browser sessions made with it, and the count of recent failures per address."""

    def __init__(self, token: str):
        self._token = hashlib.sha256(token.encode()).digest()
        self._sessions: dict[bytes, float] = {}
        self._failures = FailureThrottle(FAILURES_ALLOWED, FAILURE_WINDOW_S)

    def blocked(self, address: str) -> bool:
        return self._failures.blocked(address)

    def failed(self, address: str) -> None:
        self._failures.failed(address)

    def token_ok(self, given: str) -> bool:
        return hmac.compare_digest(hashlib.sha256(given.encode()).digest(), self._token)

    def new_session(self) -> str:
        session = secrets.token_urlsafe(32)
        now = time.monotonic()
        self._sessions = {k: v for k, v in self._sessions.items() if v > now}
        self._sessions[hashlib.sha256(session.encode()).digest()] = now + SESSION_S
        return session

    def session_ok(self, given: str) -> bool:
        expires = self._sessions.get(hashlib.sha256(given.encode()).digest())
        return expires is not None and expires > time.monotonic()

    def allows(self, request: Request) -> bool:
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and credential:
            return self.token_ok(credential.strip())
        cookie = request.cookies.get(COOKIE)
        if not cookie:
            return False
        return self.session_ok(cookie)


LOGIN_PAGE = """<!doctype html><meta charset="utf-8"><title>syncoxide codec server</title>
<h1>syncoxide codec server</h1><p>{message}</p>
<form method="post" action="session"><label>Codec token <input type="password" name="token" autocomplete="off">
</label> <button>Open a session</button></form>
<p>Then, in Temporal's Web UI, set the codec server to this address and turn on
<em>Include cross-origin credentials</em>.</p>"""


def codec_app(codec: EncryptionCodec, token: str, *, origins: Sequence[str], hosts: Sequence[str]) -> Starlette:
    guard = _Guard(token)

    def address(request: Request) -> str:
        return request.client.host if request.client else "?"

    async def payloads(request: Request) -> Response:
        operation = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        if operation not in ("encode", "decode"):
            return problem(404, "not found", "the codec server answers POST .../encode and .../decode")
        who = address(request)
        if guard.blocked(who):
            return problem(429, "too many failures", "too many failed attempts from this address; wait a minute")
        if not guard.allows(request):
            guard.failed(who)
            return problem(
                401,
                "unauthorized",
                "a bearer token or a codec session is required",
                {"WWW-Authenticate": 'Bearer realm="syncoxide codec"'},
            )
        try:
            return JSONResponse(transform(codec, operation, await request.body()))
        except CodecRefusal as refusal:
            return problem(refusal.status, refusal.title, refusal.detail)

    async def login_page(request: Request) -> Response:
        return HTMLResponse(LOGIN_PAGE.format(message="Give the codec token once to decode in this browser."))

    async def session(request: Request) -> Response:
        who = address(request)
        if guard.blocked(who):
            return problem(429, "too many failures", "too many failed attempts from this address; wait a minute")
        fields = parse_qs((await request.body())[:4096].decode("utf-8", "replace"))
        given = (fields.get("token") or [""])[0].strip()
        if not given or not guard.token_ok(given):
            guard.failed(who)
            return HTMLResponse(LOGIN_PAGE.format(message=html.escape("That is not the codec token.")), 401)
        answer = PlainTextResponse("codec session open: the Web UI may decode from this browser for 12 hours\n")
        answer.set_cookie(COOKIE, guard.new_session(), max_age=SESSION_S, httponly=True, samesite="strict")
        return answer

    return Starlette(
        routes=[
            Route("/", login_page, methods=["GET"]),
            Route("/session", session, methods=["POST"]),
            Route("/{path:path}", payloads, methods=["POST"]),
        ],
        middleware=[
            Middleware(TrustedHostMiddleware, allowed_hosts=list(hosts)),
            Middleware(
                CORSMiddleware,
                allow_origins=list(origins),
                allow_methods=["POST", "GET", "OPTIONS"],
                allow_headers=["X-Namespace", "Content-Type", "Authorization"],
                allow_credentials=True,
            ),
        ],
    )
