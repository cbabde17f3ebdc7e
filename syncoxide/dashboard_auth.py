"""Who may use the dashboard: nobody needs to log in on loopback; beyond it, a password is
required, checked against scrypt hashes the settings reference (admin, or read-only)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Literal

from syncoxide.config import Settings
from syncoxide.errors import InvalidInput
from syncoxide.secrets import SecretRef

Role = Literal["admin", "read-only"]
_N, _R, _P = 2**14, 8, 1
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise InvalidInput("password: use at least 8 characters")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.strip().split("$")
    except ValueError:
        return False
    if kind != "scrypt":
        return False
    computed = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                              dklen=len(base64.b64decode(digest)))  # fmt: skip
    return hmac.compare_digest(computed, base64.b64decode(digest))


def login_required(settings: Settings) -> bool:
    return settings.dashboard_address not in LOOPBACK


def role_for(settings: Settings, password: str) -> Role | None:
    """The role this password opens, if any."""
    candidates = ((settings.dashboard_password, "admin"), (settings.dashboard_readonly_password, "read-only"))
    for reference, role in candidates:
        if reference and verify(password, SecretRef.parse(reference).resolve()):
            return role  # type: ignore[return-value]
    return None


def check_exposure(settings: Settings) -> None:
    """Refuse to listen beyond loopback without a password to ask for."""
    if login_required(settings) and not settings.dashboard_password:
        raise InvalidInput(
            f"dashboard_address {settings.dashboard_address}: set SYNCOXIDE_DASHBOARD_PASSWORD to a reference to a"
            " password hash (syncoxide dashboard-password) before listening beyond 127.0.0.1"
        )
