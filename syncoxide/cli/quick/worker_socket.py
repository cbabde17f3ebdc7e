"""The CLI's end of the worker's catalog socket (workers/catalog_service.py), standard library only.

A request is one JSON line; the worker answers with JSON lines, the last one holding ``result``,
``hits`` or ``error``. Closing our side of the connection early asks the worker to cancel.
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Callable

from syncoxide import home

SOCKET = "run/catalog.sock"  # workers/catalog_service.py: socket_path
TIMEOUT_S = 300


def connect() -> socket.socket | None:
    """A connection to this data dir's worker, or None when no worker serves it."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(TIMEOUT_S)
    try:
        conn.connect(str(home.home() / SOCKET))
    except (FileNotFoundError, ConnectionRefusedError, PermissionError):
        conn.close()
        return None
    return conn


def send(conn: socket.socket, request: dict) -> None:
    conn.sendall(json.dumps(request).encode() + b"\n")


def ask(request: dict) -> dict | None:
    """The worker's one-line answer, or None when no worker serves this data dir."""
    conn = connect()
    if conn is None:
        return None
    with conn, conn.makefile("rb") as lines:
        send(conn, request)
        line = lines.readline()
    return json.loads(line) if line else None


def answered(reply: dict, show: Callable[[dict], None]) -> int:
    """The exit code of the worker's last answer: 1 with its error in one line on stderr, or 0 once shown."""
    if "error" in reply:
        print(f"error: {reply['error']}", file=sys.stderr)
        return 1
    show(reply)
    return 0
