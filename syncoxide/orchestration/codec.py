"""The payload codec: every Temporal payload sealed with AES-256-GCM, large ones compressed first.

Sealed payload: metadata ``encoding=binary/encrypted`` and ``encryption-key-id=<id>``; data is a
12-byte random nonce followed by the AES-GCM ciphertext of one format byte (0 raw, 1 zstd) and the
serialized inner Payload. The encoding and the key id are the associated data, so neither can be
changed without the payload failing to open.

Opening refuses a payload that is not sealed, or sealed by a key this process lacks, with a
non-retryable ``PayloadNotAuthenticated``: a worker fails such a workflow at once instead of running
it or retrying its task (the SDK fails the execution on a non-retryable ApplicationError raised while
decoding an activation). Only readers of old histories may open plaintext (``plaintext_reads``).
A payload sealed by a key id this process lacks makes it read its key list again (at most every few
seconds), so a key added during a rotation is picked up by running workers without a restart.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence

import zstandard
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec
from temporalio.exceptions import ApplicationError

from syncoxide.orchestration.payload_keys import PayloadKey

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12
COMPRESS_OVER = 1024  # bytes; below this zstd's frame costs more than it saves on JSON this small
RAW, ZSTD = b"\x00", b"\x01"
ZSTD_LEVEL = 3
RELOAD_AT_MOST_EVERY_S = 5.0


class PayloadNotAuthenticated(ApplicationError):
    def __init__(self, message: str):
        super().__init__(f"payload not authenticated: {message}", type="PayloadNotAuthenticated", non_retryable=True)


def _associated(key_id: str) -> bytes:
    return b"syncoxide payload v1\0" + ENCODING + b"\0" + key_id.encode()


class EncryptionCodec(PayloadCodec):
    def __init__(
        self,
        keys: Sequence[PayloadKey],
        *,
        plaintext_reads: bool = False,
        reload: Callable[[], Sequence[PayloadKey]] | None = None,
    ):
        self._use(keys)
        self._plaintext_reads = plaintext_reads
        self._reload = reload
        self._reloaded_at = time.monotonic()

    def _use(self, keys: Sequence[PayloadKey]) -> None:
        if not keys:
            raise ValueError("the codec needs at least one payload key")
        self._sealing = keys[0]
        self._sealer = AESGCM(keys[0].material)
        self._openers = {key.id: AESGCM(key.material) for key in keys}

    def _opener(self, key_id: str) -> AESGCM | None:
        opener = self._openers.get(key_id)
        if opener is None and self._reload and time.monotonic() - self._reloaded_at > RELOAD_AT_MOST_EVERY_S:
            self._reloaded_at = time.monotonic()
            try:
                self._use(self._reload())
            except Exception:  # the list as it was stays in use; the refusal below says which key is missing
                pass
            opener = self._openers.get(key_id)
        return opener

    @property
    def sealing_key_id(self) -> str:
        return self._sealing.id

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.seal(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.open(p) for p in payloads]

    def seal(self, payload: Payload) -> Payload:
        inner = payload.SerializeToString()
        body = RAW + inner
        if len(inner) > COMPRESS_OVER:
            packed = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(inner)
            if len(packed) < len(inner):
                body = ZSTD + packed
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._sealer.encrypt(nonce, body, _associated(self._sealing.id))
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID: self._sealing.id.encode()},
            data=nonce + sealed,
        )

    def open(self, payload: Payload) -> Payload:
        encoding = payload.metadata.get("encoding", b"")
        if encoding != ENCODING:
            if self._plaintext_reads:
                return payload
            shown = encoding.decode("ascii", "replace")[:40] or "none"
            raise PayloadNotAuthenticated(
                f"it is not sealed with a syncoxide payload key (encoding {shown}); it was written by a client"
                " without SYNCOXIDE_PAYLOAD_KEYS and is refused"
            )
        key_id = payload.metadata.get(KEY_ID, b"").decode("ascii", "replace")
        opener = self._opener(key_id)
        if opener is None:
            raise PayloadNotAuthenticated(f"it was sealed with key {key_id[:16]!r}, which this process does not hold")
        data = payload.data
        try:
            body = opener.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], _associated(key_id))
        except (InvalidTag, ValueError):
            raise PayloadNotAuthenticated(f"it does not open with key {key_id!r} (altered or forged)") from None
        if body[:1] == ZSTD:
            inner = zstandard.ZstdDecompressor().decompress(body[1:])
        elif body[:1] == RAW:
            inner = body[1:]
        else:
            raise PayloadNotAuthenticated("unknown format byte inside a sealed payload")
        return Payload.FromString(inner)


def data_converter(
    keys: Sequence[PayloadKey],
    *,
    plaintext_reads: bool = False,
    reload: Callable[[], Sequence[PayloadKey]] | None = None,
) -> DataConverter:
    """The one data converter of every client and worker: pydantic payloads, sealed, failures too."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keys, plaintext_reads=plaintext_reads, reload=reload),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
