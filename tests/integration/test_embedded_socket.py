"""The embedded PostgreSQL trusts every local connection, so its socket must be its owner's alone, wherever
pgserver puts it (a long data dir path moves it to a shared runtime dir, which pgserver makes 0777 as root)."""

from __future__ import annotations

import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest

from syncoxide.store import embedded

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
CONNECT = "import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])"


@pytest.mark.parametrize("long_path", [False, True])
def test_another_user_cannot_reach_the_embedded_server(long_path):
    base = Path(tempfile.mkdtemp(prefix="sxpg-", dir="/tmp"))
    home = base / ("deep" * 25 if long_path else "home")
    home.mkdir(parents=True)
    try:
        url = embedded.start(home / "postgres")
        with psycopg.connect(url) as conn:
            [folder] = conn.execute("SHOW unix_socket_directories").fetchone()
            port = conn.execute("SHOW port").fetchone()[0]
        assert (Path(folder) != home / "postgres") is long_path
        socket_file = Path(folder) / f".s.PGSQL.{port}"
        assert stat.S_IMODE(socket_file.stat().st_mode) == 0o700
        python = shutil.which("python3", path="/usr/bin:/bin") or "/usr/bin/python3"
        attempt = subprocess.run([*NOBODY, python, "-c", CONNECT, str(socket_file)], capture_output=True, text=True)
        assert attempt.returncode != 0 and "PermissionError" in attempt.stderr, attempt.stderr
        assert embedded.start(home / "postgres") == url  # a second start finds it as it was
    finally:
        embedded.stop(home / "postgres")
        shutil.rmtree(base, ignore_errors=True)
