"""API tokens as text, and the key their digests are made with (no database here: store/tokens.py keeps them).

A token reads ``sxo_<id>_<secret>``: ``id`` is 12 lowercase hex characters (it finds the stored row), ``secret``
43 base64url characters (32 random bytes). Only ``digest(key, token)``, an HMAC-SHA256 under the token key, is
stored, so a copy of the database alone lets nobody in and tells nothing of the secrets. The key is a secret
reference (``SYNCOXIDE_API_TOKEN_KEY``), by default the file ``<home>/api-token.key``, made 0600 on first use;
a new key invalidates every token.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from enum import StrEnum
from pathlib import Path

from syncoxide.config import Settings
from syncoxide.errors import InvalidInput, SecretUnavailable
from syncoxide.fs.private import write_private
from syncoxide.secrets import SecretRef

PREFIX = "sxo_"
ID_CHARS = 12
SECRET_BYTES = 32
SECRET_CHARS = 43  # base64url of 32 bytes, unpadded
TOKEN_CHARS = len(PREFIX) + ID_CHARS + 1 + SECRET_CHARS
KEY_CHARS_AT_LEAST = 22  # 128 bits in base64url
_TOKEN = re.compile(rf"sxo_([0-9a-f]{{{ID_CHARS}}})_[A-Za-z0-9_-]{{{SECRET_CHARS}}}")


class Scope(StrEnum):
    """What a token may do; each scope allows what the ones before it do."""

    read = "read"
    operate = "operate"
    admin = "admin"

    def allows(self, needed: Scope) -> bool:
        order = list(Scope)
        return order.index(self) >= order.index(needed)


def new_token() -> tuple[str, str]:
    """A fresh token: (its id, the whole token text)."""
    token_id = secrets.token_hex(ID_CHARS // 2)
    return token_id, f"{PREFIX}{token_id}_{secrets.token_urlsafe(SECRET_BYTES)}"


def token_id_of(text: object) -> str | None:
    """The id of a well-formed token, None for anything else (never raises, whatever it is given)."""
    if not isinstance(text, str) or len(text) != TOKEN_CHARS:
        return None
    match = _TOKEN.fullmatch(text)
    return match.group(1) if match else None


def digest(key: bytes, token: str) -> str:
    """What is stored of a token: HMAC-SHA256 of its text under the token key, in hex."""
    return hmac.new(key, token.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def key_file(settings: Settings) -> Path:
    return settings.home / "api-token.key"


def ensure_key_file(path: Path) -> bool:
    """Make the default token key (0600) unless something is there already; True when made now.

    Two processes starting at once (``serve`` and ``token create``) must end up with the same key, so
    the new file is linked into place, which fails rather than replaces when the other was first."""
    if os.path.lexists(path):
        return False
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.new")
    write_private(temp, (secrets.token_urlsafe(SECRET_BYTES) + "\n").encode())
    try:
        os.link(temp, path)
    except FileExistsError:
        return False
    finally:
        temp.unlink(missing_ok=True)
    return True


def token_key(settings: Settings) -> bytes:
    """The key token digests are made with: ``settings.api_token_key``, or the default file, made now if missing."""
    if settings.api_token_key:
        ref = SecretRef.parse(settings.api_token_key)
    else:
        ensure_key_file(key_file(settings))
        ref = SecretRef(kind="file", value=str(key_file(settings)))
    try:
        key = ref.resolve().strip()
    except SecretUnavailable as exc:
        raise SecretUnavailable(f"no API token key: {exc} (set SYNCOXIDE_API_TOKEN_KEY)") from None
    if len(key) < KEY_CHARS_AT_LEAST:
        raise InvalidInput(f"the API token key of {ref} is too short: use at least 128 random bits")
    return key.encode("utf-8", "surrogatepass")
