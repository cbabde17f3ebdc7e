"""PostgreSQL databases as backup sources: discover them, dump into the engine, restore by name.

The dump streams from `pg_dump --format=custom` straight into the engine (borg
--content-from-command, restic --stdin-from-command): no copy on disk. The connection URL is a
secret reference; its password reaches pg_dump through PGPASSWORD, never its command line.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from syncoxide.engines import BackupEngine
from syncoxide.errors import EngineFailed, InvalidInput, ServiceUnavailable
from syncoxide.models import DatabaseSource, StreamSource
from syncoxide.store.db import CONNECT_TIMEOUT_S, describe_url

DUMP_DIR = "postgres"


def _bundled(tool: str) -> str:
    from pgserver._commands import POSTGRES_BIN_PATH

    bundled = Path(POSTGRES_BIN_PATH) / tool
    return str(bundled) if bundled.exists() else (shutil.which(tool) or tool)


def _split(url: str, dbname: str | None = None) -> tuple[str, dict[str, str]]:
    """(conninfo without password, environment carrying it)."""
    params = conninfo_to_dict(url)
    password = params.pop("password", None)
    if dbname:
        params["dbname"] = dbname
    return make_conninfo("", **params), ({"PGPASSWORD": str(password)} if password else {})


def _connect(url: str, dbname: str | None = None) -> psycopg.Connection:
    conninfo, env = _split(url, dbname)
    try:
        return psycopg.connect(
            conninfo, password=env.get("PGPASSWORD"), autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
        )
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ServiceUnavailable(f"cannot reach PostgreSQL at {describe_url(url)}: {reason}") from None


def discover(url: str) -> list[str]:
    """Databases that can be backed up (not templates, connections allowed)."""
    with _connect(url) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE NOT datistemplate AND datallowconn ORDER BY datname"
        ).fetchall()
    return [r[0] for r in rows]


def dump_name(dbname: str) -> str:
    return f"{DUMP_DIR}/{dbname}.pgdump"


def stream_for(source: DatabaseSource) -> StreamSource:
    url = source.url.resolve()
    if source.dbname not in discover(url):
        raise InvalidInput(f"database {source.dbname!r}: not found at {describe_url(url)}")
    conninfo, env = _split(url, source.dbname)
    command = [_bundled("pg_dump"), "--format=custom", "--no-password", "--dbname", conninfo]
    return StreamSource(name=dump_name(source.dbname), command=command, env=env)


def restore(engine: BackupEngine, snapshot_id: str, source: DatabaseSource, target_db: str) -> None:
    """Create ``target_db`` (it must not exist) and pg_restore the snapshot's dump into it."""
    url = source.url.resolve()
    with _connect(url) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (target_db,)).fetchone():
            raise InvalidInput(f"database {target_db!r}: exists already (restore into a new name)")
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target_db)))
    conninfo, env = _split(url, target_db)
    errors = tempfile.TemporaryFile()  # not a pipe: a chatty pg_restore must never block on it
    restorer = subprocess.Popen(
        [_bundled("pg_restore"), "--no-owner", "--exit-on-error", "--no-password", "--dbname", conninfo],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=errors,
        env={"PATH": "/usr/bin:/bin", **env},
    )
    assert restorer.stdin is not None  # piped above
    try:
        engine.read_file(snapshot_id, "/" + dump_name(source.dbname), restorer.stdin)
    except BrokenPipeError:
        pass  # pg_restore stopped reading: its exit status and stderr say why
    except BaseException:
        restorer.kill()
        restorer.wait()
        _drop(url, target_db)
        raise
    finally:
        try:
            restorer.stdin.close()
        except BrokenPipeError:
            pass
    code = restorer.wait()
    errors.seek(0)
    detail = errors.read().decode(errors="replace").strip().splitlines()
    errors.close()
    if code != 0:
        _drop(url, target_db)
        raise EngineFailed(f"pg_restore into {target_db}: {detail[-1] if detail else code}")


def _drop(url: str, dbname: str) -> None:
    with _connect(url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(dbname)))
