"""The embedded PostgreSQL: the server shipped in the pgserver wheel, kept under the data dir."""

from __future__ import annotations

import warnings
from pathlib import Path

import psycopg

from syncoxide.fs.modes import private_home

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set", module="platformdirs")

DATABASE = "syncoxide"


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
    return server.get_uri(database=DATABASE)


def stop(pgdata: Path) -> bool:
    """Stop the embedded server; False if it was not running."""
    if _postmaster(pgdata) is None:
        return False
    from pgserver._commands import pg_ctl
    from pgserver.postgres_server import PostgresServer

    user = "pgserver" if _running_as_root() else None
    pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=user)
    PostgresServer._instances.pop(pgdata.resolve(), None)
    return True


def _running_as_root() -> bool:
    import os

    return os.geteuid() == 0
