"""`syncoxide codec-server`: the codec endpoints on uvicorn, with the settings' keys and token."""

from __future__ import annotations

import secrets
from pathlib import Path

from syncoxide.config import Settings
from syncoxide.errors import InvalidInput, SecretUnavailable
from syncoxide.fs.private import create_private
from syncoxide.orchestration.codec import EncryptionCodec
from syncoxide.orchestration.payload_keys import PayloadKey, load_keys
from syncoxide.secrets import SecretRef
from syncoxide.server.listen import check_listen, is_loopback


def token_file(settings: Settings) -> Path:
    return settings.home / "codec.token"


def ensure_token_file(settings: Settings) -> bool:
    """The embedded stack's codec token, made on first start (0600); True when made now."""
    return create_private(token_file(settings), (secrets.token_urlsafe(32) + "\n").encode())


def codec_token(settings: Settings) -> str:
    ref = (
        SecretRef.parse(settings.codec_token)
        if settings.codec_token
        else SecretRef(kind="file", value=str(token_file(settings)))
    )
    try:
        token = ref.resolve().strip()
    except SecretUnavailable as exc:
        raise SecretUnavailable(
            f"no codec token: {exc} (set SYNCOXIDE_CODEC_TOKEN or run `syncoxide dev up`)"
        ) from None
    if len(token) < 22:  # 128 bits in base64url
        raise InvalidInput(f"the codec token of {ref} is too short: use at least 128 random bits")
    return token


def codec_url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.codec_port}"


def ui_origins(settings: Settings) -> list[str]:
    return [f"http://127.0.0.1:{settings.temporal_ui_port}", f"http://localhost:{settings.temporal_ui_port}"]


def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    origins: list[str] | None = None,
    public_names: list[str] | None = None,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
) -> None:
    import uvicorn

    from syncoxide.server.codec_endpoints import codec_app

    check_listen(host, tls_cert, tls_key)
    port = port or settings.codec_port
    hosts = ["127.0.0.1", "localhost", "::1", *(public_names or []), *([] if is_loopback(host) else [host])]

    def keys() -> list[PayloadKey]:
        return load_keys(settings.payload_keys, settings.home)

    app = codec_app(
        EncryptionCodec(keys(), reload=keys),
        codec_token(settings),
        origins=origins or ui_origins(settings),
        hosts=hosts,
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
    )
