"""Scans asked for on the worker's catalog socket (cli/quick/scan.py is the other end).

The worker registers the source if needed, starts CatalogScanWorkflow with its own Temporal client
and waits for it, sending JSON lines back: ``started`` (the run id and its Web UI address), then
``progress`` (the activity's heartbeats, when asked for), and last ``result`` or ``error``. A client
that hangs up before the end (Ctrl-C) gets its run cancelled, as the full CLI does.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import select
import socket
from collections.abc import Callable

from pydantic import BaseModel

from syncoxide.catalog.sources import source_or_register
from syncoxide.config import Settings
from syncoxide.contract.payloads import ScanRequest, ScanSummary
from syncoxide.errors import SyncoxideError
from syncoxide.models import RunKind
from syncoxide.orchestration import client as temporal

Send = Callable[[dict], None]


class ScanServiceRequest(BaseModel):
    """The options of `syncoxide scan`, as typed; ``cwd`` is where a relative folder starts."""

    op: str = "scan"
    source: str
    one_file_system: bool = False
    cwd: str = "/"
    progress: bool = False


def hung_up(conn: socket.socket) -> bool:
    """Whether the client has closed its side (it sends nothing after its request)."""
    readable, _, _ = select.select([conn], [], [], 0)
    return bool(readable) and conn.recv(1, socket.MSG_PEEK) == b""


class ScanService:
    """Runs scans for the socket's handler threads on the worker's event loop and Temporal client."""

    def __init__(self, settings: Settings, client, loop: asyncio.AbstractEventLoop):
        self.settings = settings
        self.client = client
        self.loop = loop

    def _call(self, coroutine, timeout: float | None = 60):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def serve(self, request: ScanServiceRequest, conn: socket.socket, send: Send) -> None:
        source = source_or_register(self.settings, request.source, request.cwd)
        scan = ScanRequest(source_id=source.id, one_file_system=request.one_file_system)
        handle = self._call(temporal.start(self.client, self.settings, RunKind.scan, None, scan, source_id=source.id))
        send({"started": handle.id, "url": temporal.workflow_url(self.settings, handle.id), "source": source.name})
        outcome = asyncio.run_coroutine_threadsafe(temporal.wait(handle, ScanSummary), self.loop)
        cancelled = False
        try:
            while True:
                try:
                    summary = outcome.result(timeout=temporal.POLL_S)
                    break
                except concurrent.futures.TimeoutError:
                    pass
                if not cancelled and hung_up(conn):
                    self._call(handle.cancel())
                    cancelled = True
                elif request.progress and not cancelled:
                    self._send_progress(handle, send)
        except temporal.RunFailed as failure:
            raise SyncoxideError(f"{failure} (run {handle.id})") from None
        finally:
            outcome.cancel()
        send({"result": summary.model_dump(mode="json"), "source": source.name})

    def _send_progress(self, handle, send: Send) -> None:
        try:
            progress = self._call(temporal.current_progress(handle), timeout=10)
        except Exception:  # progress is best effort; the result decides
            return
        if progress is not None:
            send({"progress": progress.model_dump(mode="json")})
