"""Another local user reads nothing of the data dir: `syncoxide dev up`, a demo backup through Temporal and a
scan fill a fresh data dir (temporal.db, Parquet parts, logs, pid files, the embedded PostgreSQL, engine
caches), then user nobody (setpriv) tries to list every folder and open every file in it, and fails each time.

The data dir's parent is made 0755, so only syncoxide's own modes stand in nobody's way; the stack is
started with umask 022, so what protects the data is syncoxide's doing, not the test's."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import free_port

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("setpriv") is None, reason="acting as another user takes root and setpriv"
    ),
]
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
PROBE = r"""
import errno, json, os, socket, stat, sys
paths = json.load(sys.stdin)
got_in = []
for path, kind in paths:
    try:
        if kind == "dir":
            os.listdir(path)
        elif kind == "socket":
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(path)
        else:
            os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
        got_in.append([path, "opened"])
    except PermissionError:
        pass
    except OSError as exc:
        got_in.append([path, errno.errorcode.get(exc.errno, str(exc.errno))])
print(json.dumps(got_in))
"""


def as_nobody(paths: list[tuple[str, str]]) -> list[list[str]]:
    """What nobody could list, open or connect to, or failed on for another reason than EACCES."""
    done = subprocess.run(
        [*NOBODY, "/usr/bin/python3", "-c", PROBE], input=json.dumps(paths), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def everything_under(home: Path) -> list[tuple[str, str, os.stat_result]]:
    """Every folder, file and socket below ``home`` (and itself) with its lstat, as root sees them; symlinks left
    out, and so are files the running stack removed between listing and lstat (borg's lock files come and go)."""
    found: list[tuple[str, str, os.stat_result]] = [(str(home), "dir", os.lstat(home))]
    for dirpath, dirnames, filenames in os.walk(home):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(info.st_mode):
                found.append((path, "dir", info))
            elif stat.S_ISSOCK(info.st_mode):
                found.append((path, "socket", info))
            elif stat.S_ISREG(info.st_mode):
                found.append((path, "file", info))
    return found


def test_nobody_reads_anything_of_a_data_dir_the_stack_filled():
    parent = Path(tempfile.mkdtemp(prefix="sxp-", dir="/tmp"))
    os.chmod(parent, 0o755)  # nobody may reach the data dir: only its own modes keep them out
    home = parent / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCOXIDE_")}
    env.update(
        {
            "SYNCOXIDE_HOME": str(home),
            "SYNCOXIDE_METRICS_ADDRESS": "",
            **{
                f"SYNCOXIDE_{name}_PORT": str(free_port())
                for name in ("TEMPORAL", "TEMPORAL_UI", "DASHBOARD", "CODEC", "API")
            },
        }
    )

    def syncoxide(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "syncoxide", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            preexec_fn=lambda: os.umask(0o022),
        )

    try:
        up = syncoxide("dev", "up", "--json")
        assert up.returncode == 0, up.stderr
        demo = syncoxide("demo", "--json")
        assert demo.returncode == 0, demo.stderr
        scan = syncoxide("scan", str(home / "demo" / "sample"), "--json")
        assert scan.returncode == 0, scan.stderr

        deadline = time.monotonic() + 60
        while not list((home / "catalog").rglob("*.parquet")) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert list((home / "catalog").rglob("*.parquet")), "no Parquet parts were written"
        for made in (
            "temporal.db",
            "logs/worker.log",
            "logs/temporal.log",
            "run/worker.pid",
            "postgres/PG_VERSION",
            "demo/repo-borg",
            "engines",
        ):
            assert (home / made).exists(), made

        probe_ok = subprocess.run(
            [*NOBODY, "/usr/bin/python3", "-c", f"import os; os.listdir({str(parent)!r})"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert probe_ok.returncode == 0, f"nobody cannot even reach {parent}: the test would mean nothing"

        paths = everything_under(home)
        assert len(paths) > 50
        assert as_nobody([(path, kind) for path, kind, _ in paths]) == []

        me = os.geteuid()
        wide = []
        for path, kind, info in paths:
            if kind == "socket" and os.path.dirname(path) != str(home / "run"):
                continue  # postgres's own socket: 0777, inside its 0700 folder
            allowed = 0o011 if path == str(home) and info.st_uid == me else 0  # 0711: pgserver's user passes
            if stat.S_IMODE(info.st_mode) & 0o077 & ~allowed:
                wide.append(f"{path} {stat.S_IMODE(info.st_mode):o}")
        assert wide == []
    finally:
        down = syncoxide("dev", "down")
        shutil.rmtree(parent, ignore_errors=True)
    assert down.returncode == 0, down.stderr
