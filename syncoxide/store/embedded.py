"""The embedded PostgreSQL: the server shipped in the pgserver wheel, kept under the data dir."""

from __future__ import annotations

import warnings
from pathlib import Path

import psycopg

from syncoxide.fs.modes import private_home

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set", module="platformdirs")

DATABASE = "syncoxide"
SOCKET_MODE = "0700"  # with a long data dir path pgserver puts the socket in a shared runtime dir (0777 as root)


def _postmaster(pgdata: Path):
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running():
        return None
    return info


def running_url(pgdata: Path) -> str | None:
    """URL of the embedded server if it is running, else None."""
    info = _postmaster(pgdata)
    return info.get_uri(database=DATABASE) if info else None


def start(pgdata: Path) -> str:
    """Start (or find running) the embedded server, create the syncoxide database, return its URL."""
    import pgserver

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    private_home(pgdata.parent)  # run by root, pgserver has just made every folder above pgdata o+rx
    admin_url = server.get_uri()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
        shown = conn.execute("SHOW unix_socket_permissions").fetchone()
        assert shown is not None  # SHOW answers one row
        private_socket = shown[0] == SOCKET_MODE
        if not private_socket:
            conn.execute(f"ALTER SYSTEM SET unix_socket_permissions = '{SOCKET_MODE}'")
    if not private_socket:  # pgserver trusts every local connection: only the socket's mode keeps others out
        _pg_ctl(pgdata, "restart")
    return server.get_uri(database=DATABASE)


def stop(pgdata: Path) -> bool:
    """Stop the embedded server; False if it was not running."""
    if _postmaster(pgdata) is None:
        return False
    from pgserver.postgres_server import PostgresServer

    _pg_ctl(pgdata, "stop")
    PostgresServer._instances.pop(pgdata.resolve(), None)
    return True


def _pg_ctl(pgdata: Path, action: str) -> None:
    """``pg_ctl stop`` or ``restart`` (which keeps the socket dir and port of the last start)."""
    from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # set on the module by its _init()

    pg_ctl(["-w", action, "-m", "fast"], pgdata=pgdata, user="pgserver" if _running_as_root() else None)


def _running_as_root() -> bool:
    import os

    return os.geteuid() == 0
