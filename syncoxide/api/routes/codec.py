"""Temporal's codec protocol under the API's tokens: ``POST /api/v1/codec/decode`` (read) opens sealed
payloads for the Temporal CLI (``--codec-endpoint <api>/api/v1/codec --codec-auth "Bearer <token>"``);
``/encode`` (admin) seals them. Encoding is admin only: a sealed payload is what workers trust, so whoever
can seal can hand a worker any input through Temporal's port."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from syncoxide.api.auth import Admin, Reader
from syncoxide.api.context import ApiContext, Ctx
from syncoxide.api.problems import ApiProblem
from syncoxide.orchestration.codec import EncryptionCodec
from syncoxide.server.codec_endpoints import MAX_BODY, CodecRefusal, transform

router = APIRouter(prefix="/api/v1/codec", tags=["codec"])

PAYLOADS = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "protobuf-JSON Payloads: {payloads: [{metadata: {k: base64}, data: base64}]}",
                    "properties": {"payloads": {"type": "array", "items": {"type": "object"}}},
                }
            }
        },
    }
}


class Codecs:
    def __init__(self, ctx: ApiContext):
        self.ctx = ctx

    @cached_property
    def codec(self) -> EncryptionCodec:
        from syncoxide.orchestration.payload_keys import load_keys

        def keys():
            return load_keys(self.ctx.settings.payload_keys, self.ctx.settings.home)

        return EncryptionCodec(keys(), reload=keys)


async def _body(request: Request) -> bytes:
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > MAX_BODY:
            raise ApiProblem(413, f"the body holds more than {MAX_BODY} bytes")
    return bytes(received)


async def _transform(ctx: Ctx, request: Request, operation: str) -> dict[str, Any]:
    codecs: Codecs = request.app.state.codecs
    body = await _body(request)
    try:
        return await run_in_threadpool(transform, codecs.codec, operation, body)
    except CodecRefusal as refusal:
        raise ApiProblem(
            422 if refusal.status == 400 else refusal.status, f"body: {refusal.detail}", field="body"
        ) from None


@router.post("/decode", response_model=dict[str, Any], summary="Open sealed payloads", openapi_extra=PAYLOADS)
async def decode(request: Request, ctx: Ctx, caller: Reader) -> dict[str, Any]:
    return await _transform(ctx, request, "decode")


@router.post("/encode", response_model=dict[str, Any], summary="Seal payloads (admin)", openapi_extra=PAYLOADS)
async def encode(request: Request, ctx: Ctx, caller: Admin) -> dict[str, Any]:
    return await _transform(ctx, request, "encode")
