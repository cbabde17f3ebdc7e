"""A sync run in a child process, killed (SIGKILL) once it has got far enough: the crash resume tests recover from."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from syncoxide.config import Settings
from syncoxide.store import open_store
from syncoxide.store import sync as store
from syncoxide.sync import SyncRequest

ROOT = Path(__file__).resolve().parents[2]
RUNNER = """
import sys
from syncoxide.config import load_settings
from syncoxide.sync import SyncRequest, run_sync
run_sync(load_settings(), SyncRequest.model_validate_json(sys.argv[1]))
"""


def checkpoint(settings: Settings, pair: str) -> int:
    """The furthest offset a transfer of the pair has checkpointed in the journal."""
    with open_store(settings) as conn:
        rows = store.open_actions(conn, pair)
    return max((int(row["progress"].get("offset", 0)) for row in rows), default=0)


def kill_when(settings: Settings, request: SyncRequest, reached: Callable[[], bool], timeout_s: float = 60) -> None:
    """Run ``request`` in a child process and kill it as soon as ``reached()`` says so."""
    env = {
        **os.environ,
        "SYNCOXIDE_HOME": str(settings.home),
        "SYNCOXIDE_DATABASE_URL": settings.database_url,
        "PYTHONPATH": str(ROOT),
    }
    child = subprocess.Popen([sys.executable, "-c", RUNNER, request.model_dump_json()], env=env, cwd=ROOT)
    deadline = time.monotonic() + timeout_s
    try:
        while not reached():
            assert child.poll() is None, "the run ended before it could be interrupted"
            assert time.monotonic() < deadline, "the run did not get far enough in time"
            time.sleep(0.1)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
