"""`syncoxide worker|codec-server|serve|dashboard|dashboard-password`: the long-running processes, in the foreground."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from syncoxide.cli.common import out, settings
from syncoxide.dashboard_auth import hash_password
from syncoxide.errors import InvalidInput

commands = typer.Typer()


@commands.command()
def worker(
    ready_file: Annotated[Path | None, typer.Option(help="Touch this file once the worker polls.")] = None,
) -> None:
    """Run a worker in the foreground: workflows and activities on the configured task queues."""
    import logging

    from workers.main import main as run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_worker(settings(), ready_file=ready_file)


@commands.command("codec-server")
def codec_server(
    host: Annotated[str, typer.Option(help="Address to listen on; beyond loopback needs --tls-cert/--tls-key.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int | None, typer.Option(help="Port (default SYNCOXIDE_CODEC_PORT, 8234).")] = None,
    ui_origin: Annotated[
        list[str] | None, typer.Option("--ui-origin", help="Origin of the Web UI allowed by CORS (repeatable).")
    ] = None,
    public_name: Annotated[
        list[str] | None, typer.Option("--public-name", help="Host name clients use for this server (repeatable).")
    ] = None,
    tls_cert: Annotated[Path | None, typer.Option(help="TLS certificate file (PEM).")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="TLS key file (PEM).")] = None,
) -> None:
    """Serve POST /encode and /decode for Temporal's Web UI and CLI, behind the codec token."""
    from syncoxide.server import codec_process

    codec_process.serve(
        settings(),
        host=host,
        port=port,
        origins=ui_origin,
        public_names=public_name,
        tls_cert=tls_cert,
        tls_key=tls_key,
    )


@commands.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default SYNCOXIDE_API_ADDRESS, 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default SYNCOXIDE_API_PORT, 8235).")] = None,
    tls_cert: Annotated[Path | None, typer.Option(help="TLS certificate chain (PEM).")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="TLS private key (PEM).")] = None,
    insecure_behind_proxy: Annotated[
        bool,
        typer.Option(
            "--insecure-behind-proxy",
            help="Plain HTTP beyond loopback, for a TLS proxy at SYNCOXIDE_API_TRUSTED_PROXY (whose X-Forwarded-* "
            "headers are believed).",
        ),
    ] = False,
) -> None:
    """Serve the REST API (/api/v1, OpenAPI at /api/v1/openapi.json) in the foreground, behind API tokens."""
    from syncoxide.api.serve import serve as serve_api

    serve_api(
        settings(),
        host=host,
        port=port,
        tls_cert=tls_cert,
        tls_key=tls_key,
        insecure_behind_proxy=insecure_behind_proxy,
    )


@commands.command()
def dashboard() -> None:
    """Run the dashboard in the foreground (127.0.0.1 unless SYNCOXIDE_DASHBOARD_ADDRESS says otherwise)."""
    from syncoxide.dev import stack as devstack

    argv = devstack.dashboard_argv(settings())
    os.execv(argv[0], argv)


@commands.command("dashboard-password")
def dashboard_password() -> None:
    """Read a password (twice) and print its hash, for SYNCOXIDE_DASHBOARD_PASSWORD=file:... or env:..."""
    first = typer.prompt("password", hide_input=True)
    if typer.prompt("again", hide_input=True) != first:
        raise InvalidInput("the two passwords differ")
    out.print(hash_password(first), markup=False, highlight=False)
