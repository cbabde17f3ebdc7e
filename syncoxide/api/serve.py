"""`syncoxide serve`: the API on uvicorn. Loopback by default; another address needs TLS, or
``--insecure-behind-proxy`` with the proxy's address in SYNCOXIDE_API_TRUSTED_PROXY, whose
X-Forwarded-For/-Proto are then believed (from that address only: anyone else's are ignored)."""

from __future__ import annotations

from pathlib import Path

from syncoxide.config import Settings
from syncoxide.errors import InvalidInput
from syncoxide.server.listen import check_listen


def api_url(settings: Settings) -> str:
    scheme = "https" if settings.api_tls_cert else "http"
    host = settings.api_address if ":" not in settings.api_address else f"[{settings.api_address}]"
    return f"{scheme}://{host}:{settings.api_port}"


def serve(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    insecure_behind_proxy: bool = False,
) -> None:
    import uvicorn

    from syncoxide.api.app import create_app

    host = host or settings.api_address
    tls_cert = tls_cert or settings.api_tls_cert
    tls_key = tls_key or settings.api_tls_key
    proxy = settings.api_trusted_proxy
    if insecure_behind_proxy and not proxy:
        raise InvalidInput("--insecure-behind-proxy needs SYNCOXIDE_API_TRUSTED_PROXY (the proxy's address)")
    check_listen(host, tls_cert, tls_key, behind_proxy=proxy if insecure_behind_proxy else None, proxy_allowed=True)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port or settings.api_port,
        log_level="warning",
        access_log=False,
        proxy_headers=bool(insecure_behind_proxy and proxy),
        forwarded_allow_ips=proxy if insecure_behind_proxy and proxy else "",
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
        server_header=False,
    )
