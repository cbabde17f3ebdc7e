"""Payload keys: the AES-256 keys that seal every Temporal payload, found through a secret reference.

A key is 32 random bytes written as unpadded base64url (43 characters). A key list holds one key per
line (blank lines and ``#`` comments ignored); the first key seals new payloads and every key opens
them, so a rotation puts a new key first and keeps the old ones until their histories are gone.
A key's id is derived from the key, so the metadata names which key sealed a payload without a table.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

from syncoxide.errors import InvalidInput, SecretUnavailable
from syncoxide.fs.private import create_private, write_private
from syncoxide.secrets import SecretRef

KEY_BYTES = 32
KEYS_ENV = "SYNCOXIDE_PAYLOAD_KEYS"


@dataclass(frozen=True)
class PayloadKey:
    id: str
    material: bytes

    @classmethod
    def from_text(cls, text: str) -> PayloadKey:
        try:
            material = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            raise InvalidInput("is not base64url") from None
        if len(material) != KEY_BYTES:
            raise InvalidInput(f"holds {len(material)} bytes, not {KEY_BYTES}")
        return cls(key_id(material), material)

    def __repr__(self) -> str:  # never the material
        return f"PayloadKey({self.id})"


def key_id(material: bytes) -> str:
    return hashlib.sha256(b"syncoxide payload key id\0" + material).hexdigest()[:16]


def new_key_text() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).rstrip(b"=").decode()


def parse_keys(text: str, where: str) -> list[PayloadKey]:
    """The keys of a key list; an error names the line, never the key."""
    keys: list[PayloadKey] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            keys.append(PayloadKey.from_text(line))
        except InvalidInput as exc:
            raise InvalidInput(f"payload key on line {number} of {where} {exc}") from None
    if not keys:
        raise SecretUnavailable(f"{where} holds no payload key")
    return keys


def default_reference(home: Path) -> SecretRef:
    return SecretRef(kind="file", value=str(home / "payload.keys"))


def load_keys(reference: str | None, home: Path) -> list[PayloadKey]:
    """The keys named by ``reference`` (SYNCOXIDE_PAYLOAD_KEYS), else the data dir's payload.keys."""
    ref = SecretRef.parse(reference) if reference else default_reference(home)
    try:
        text = ref.resolve()
    except SecretUnavailable as exc:
        raise SecretUnavailable(
            f"no payload key: {exc} (make one with `syncoxide keys new --into {home / 'payload.keys'}`"
            f" or set {KEYS_ENV})"
        ) from None
    return parse_keys(text, f"payload keys {ref}")


def add_key(path: Path) -> PayloadKey:
    """Put a new key first in the key file at ``path`` (created 0600, never through a symlink)."""
    text = new_key_text()
    try:
        with open(path, "rb") as existing_file:
            existing = existing_file.read().decode("utf-8")
    except FileNotFoundError:
        existing = ""
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read key file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if existing:
        parse_keys(existing, f"key file {path}")
    write_private(path, (text + "\n" + existing).encode())
    return PayloadKey.from_text(text)


def ensure_key_file(path: Path) -> bool:
    """Create the embedded stack's key file on first start; True when it was made now."""
    return create_private(path, (new_key_text() + "\n").encode())
