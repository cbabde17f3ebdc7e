"""Where a syncoxide server may listen: loopback as it is; any other address only with TLS (a certificate
and its key) or, for the API, behind a named reverse proxy that terminates TLS itself."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from syncoxide.errors import InvalidInput


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_listen(
    host: str,
    tls_cert: Path | None,
    tls_key: Path | None,
    *,
    behind_proxy: str | None = None,
    proxy_allowed: bool = False,
) -> None:
    """InvalidInput, in one line, when ``host`` is beyond loopback without TLS (or an allowed proxy)."""
    if bool(tls_cert) != bool(tls_key):
        raise InvalidInput("--tls-cert and --tls-key go together")
    for name, path in (("--tls-cert", tls_cert), ("--tls-key", tls_key)):
        if path is not None and not Path(path).is_file():
            raise InvalidInput(f"{name} {path}: no such file")
    if is_loopback(host) or tls_cert:
        return
    if proxy_allowed and behind_proxy:
        return
    hint = " or --insecure-behind-proxy with SYNCOXIDE_API_TRUSTED_PROXY set" if proxy_allowed else ""
    raise InvalidInput(f"--host {host} is beyond loopback: give --tls-cert and --tls-key{hint}")
