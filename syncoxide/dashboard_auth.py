"""Who may use the dashboard: nobody needs to log in on loopback; beyond it, a password is
required, checked against scrypt hashes the settings reference (admin, or read-only)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
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


_MAX_N, _MAX_R, _MAX_P = 2**20, 32, 16
_MAX_MEM = 2**28
"""what a stored hash may ask scrypt for: more (a malformed or hostile hash) is no match, not a stall"""


def verify(password: str, stored: str) -> bool:
    """Whether ``password`` is the one ``stored`` (a hash_password result) was made from. A malformed stored
    hash (wrong kind, not numbers, bad base64, parameters scrypt refuses or beyond its limits) matches no
    password: False, never an exception."""
    try:
        kind, n_text, r_text, p_text, salt_text, digest_text = stored.strip().split("$")
        if kind != "scrypt":
            return False
        n, r, p = int(n_text), int(r_text), int(p_text)
        salt = base64.b64decode(salt_text, validate=True)
        digest = base64.b64decode(digest_text, validate=True)
        if not (
            1 < n <= _MAX_N
            and n & (n - 1) == 0
            and 1 <= r <= _MAX_R
            and 1 <= p <= _MAX_P
            and salt
            and 16 <= len(digest) <= 64
        ):
            return False
        computed = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=len(digest), maxmem=_MAX_MEM)
    except (AttributeError, TypeError, ValueError, OverflowError, MemoryError):  # (binascii.Error is a ValueError)
        return False
    return hmac.compare_digest(computed, digest)


def login_required(settings: Settings) -> bool:
    return settings.dashboard_address not in LOOPBACK


def role_for(settings: Settings, password: str) -> Role | None:
    """The role this password opens, if any."""
    candidates: tuple[tuple[str | None, Role], ...] = (
        (settings.dashboard_password, "admin"),
        (settings.dashboard_readonly_password, "read-only"),
    )
    for reference, role in candidates:
        if reference and verify(password, SecretRef.parse(reference).resolve()):
            return role
    return None


def host_allowed(settings: Settings, host_header: str | None) -> bool:
    """Whether a request's Host names this dashboard: a DNS-rebinding page arrives under a name of its own.

    Allowed: the listening address, loopback names when it listens on loopback, the configured public
    names, and (listening on every interface, login required) any IP literal; never another DNS name.
    """
    if not host_header:
        return False
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    allowed = {settings.dashboard_address.lower(), *(name.lower() for name in settings.dashboard_public_names)}
    if settings.dashboard_address in LOOPBACK:
        allowed |= LOOPBACK
    if host in allowed:
        return True
    if settings.dashboard_address in ("0.0.0.0", "::"):
        try:
            ipaddress.ip_address(host)
            return True
        except ValueError:
            return False
    return False


def check_exposure(settings: Settings) -> None:
    """Refuse to listen beyond loopback without a password to ask for."""
    if login_required(settings) and not settings.dashboard_password:
        raise InvalidInput(
            f"dashboard_address {settings.dashboard_address}: set SYNCOXIDE_DASHBOARD_PASSWORD to a reference to a"
            " password hash (syncoxide dashboard-password) before listening beyond 127.0.0.1"
        )
