"""A benchmark's own embedded stack: a temporary data dir, free ports, `dev up --no-dashboard`, `dev down`.

from own_stack import own_stack   # bench/ is on sys.path when a bench script runs
with own_stack(work) as env: ...  # env (also set in os.environ) points the CLI and Settings() at it
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PORTS = ("TEMPORAL_PORT", "TEMPORAL_UI_PORT", "DASHBOARD_PORT", "CODEC_PORT", "API_PORT")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def own_stack(work: Path) -> Iterator[dict[str, str]]:
    for key in [k for k in os.environ if k.startswith("SYNCOXIDE_")]:
        del os.environ[key]  # the bench's own stack, set up here alone, for the CLI and this process
    os.environ["SYNCOXIDE_HOME"] = str(work / "home")
    os.environ["SYNCOXIDE_METRICS_ADDRESS"] = ""
    for port in PORTS:
        os.environ[f"SYNCOXIDE_{port}"] = str(free_port())
    env = dict(os.environ)
    cli = [sys.executable, "-m", "syncoxide"]
    try:
        up = subprocess.run([*cli, "dev", "up", "--no-dashboard"], env=env, capture_output=True, text=True)
        if up.returncode != 0:
            raise SystemExit(f"bench: dev up failed: {up.stderr.strip()[-500:]}")
        yield env
    finally:
        subprocess.run([*cli, "dev", "down"], env=env, capture_output=True)
