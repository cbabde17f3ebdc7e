"""The worker answers catalog searches and runs scans on a Unix socket, so `syncoxide search` and
`syncoxide scan` need not load DuckDB, PostgreSQL's driver, Temporal's SDK and the rest of syncoxide
on every run (the CLI's cli/quick/ is the other end).

One request per connection, a JSON line. A search (search_request.SearchRequest) is answered with
one JSON line, ``{"hits": [...]}`` or ``{"error": "one line"}``; a scan (``"op": "scan"``,
scan_service.ScanServiceRequest) with the lines scan_service.py describes. The socket is
``<home>/run/catalog.sock``, readable and writable by its owner only.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import socketserver
import threading
from pathlib import Path

from pydantic import ValidationError

from syncoxide.catalog.query import CatalogReader, Manifest, SearchHit
from syncoxide.catalog.search_request import SearchRequest, run_search
from syncoxide.catalog.storage import open_storage
from syncoxide.config import Settings
from syncoxide.errors import SyncoxideError
from workers.scan_service import ScanService, ScanServiceRequest, Send

log = logging.getLogger(__name__)
SOCKET_NAME = "catalog.sock"
MAX_REQUEST_BYTES = 1 << 20


def socket_path(settings: Settings) -> Path:
    return settings.run_dir / SOCKET_NAME


class ReaderCache:
    """One open reader, kept while the manifest says the same (a new one costs DuckDB's set-up, ~40 ms);
    searches take turns on it."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.storage = open_storage(settings)
        self._lock = threading.Lock()
        self._reader: CatalogReader | None = None
        self._manifest: Manifest | None = None

    def search(self, request: SearchRequest) -> list[SearchHit]:
        with self._lock:
            current = Manifest.load(self.settings)
            if self._reader is None or current != self._manifest:
                if self._reader is not None:
                    self._reader.close()
                self._reader, self._manifest = None, None
                self._reader, self._manifest = CatalogReader.over(self.storage, current), current
            return run_search(self.settings, request, reader=self._reader)

    def close(self) -> None:
        with self._lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None


def answer(server: _Server, line: bytes, conn: socket.socket, send: Send) -> dict | None:
    """The reply to one request line (a scan sends its own lines and returns None); every failure is a
    one-line error, never an exception."""
    op = "search"
    try:
        raw = json.loads(line)
        op = raw.get("op", "search") if isinstance(raw, dict) else "search"
    except ValueError:
        raw = None
    try:
        if op == "scan":
            if server.scans is None:
                return {"error": "this worker does not run scans for the CLI"}
            server.scans.serve(ScanServiceRequest.model_validate(raw), conn, send)
            return None
        request = SearchRequest.model_validate_json(line)
        return {"hits": [hit.model_dump(mode="json") for hit in server.readers.search(request)]}
    except ValidationError as exc:
        first = exc.errors()[0]
        return {"error": f"{op} request {'.'.join(map(str, first['loc']))}: {first['msg']}"}
    except SyncoxideError as exc:
        return {"error": str(exc)}
    except Exception as exc:  # the worker goes on; the CLI says what happened
        log.exception("catalog %s failed", op)
        return {"error": f"catalog {op} failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}


class _Handler(socketserver.StreamRequestHandler):
    server: _Server  # the one server this handler is made for

    def handle(self) -> None:
        line = self.rfile.readline(MAX_REQUEST_BYTES)
        try:
            reply = answer(self.server, line, self.connection, self._send)
            if reply is not None:
                self._send(reply)
        except OSError:  # the client went away; a scan it started was cancelled
            pass

    def _send(self, message: dict) -> None:
        self.wfile.write(json.dumps(message).encode() + b"\n")


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: Path, readers: ReaderCache, scans: ScanService | None):
        self.readers = readers
        self.scans = scans
        super().__init__(str(path), _Handler)


class CatalogService:
    """``start()`` binds the socket (taking it over from a stale or older worker) and serves on a thread;
    ``stop()`` removes it unless another worker has taken it over since."""

    def __init__(self, settings: Settings, scans: ScanService | None = None):
        self.path = socket_path(settings)
        self.settings = settings
        self.scans = scans
        self._server: _Server | None = None
        self._inode: int | None = None

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.unlink(missing_ok=True)
        old_umask = os.umask(0o177)  # the socket is created 0600: only its owner may search
        try:
            self._server = _Server(self.path, ReaderCache(self.settings), self.scans)
        finally:
            os.umask(old_umask)
        self._inode = self.path.stat().st_ino
        threading.Thread(target=self._server.serve_forever, name="syncoxide-catalog-service", daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.readers.close()
            self._server = None
            try:
                if self.path.stat().st_ino == self._inode:  # not a socket another worker bound since
                    self.path.unlink()
            except FileNotFoundError:
                pass
