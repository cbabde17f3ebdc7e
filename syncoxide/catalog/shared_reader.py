"""One catalog database for a long-running process (the API), made again only when the manifest changed,
instead of a new DuckDB database, attached parts and a cold first query for every request.

Each user gets a ``CatalogReader`` on a cursor of it (a DuckDB cursor is the handle one thread may use
while others use theirs); closing that reader closes only the cursor. A reader made before a change
keeps the database it started on, which goes when its last cursor does."""

from __future__ import annotations

import threading

import psycopg

from syncoxide.catalog.query import CatalogReader, Manifest
from syncoxide.catalog.storage import CatalogStorage, open_storage
from syncoxide.config import Settings


class SharedCatalog:
    def __init__(self, settings: Settings, storage: CatalogStorage | None = None):
        self.settings = settings
        self._storage = storage
        self._base: CatalogReader | None = None
        self._fingerprint: str | None = None
        self._lock = threading.Lock()

    def reader(self, conn: psycopg.Connection) -> CatalogReader:
        """A reader of the catalog as the manifest (read on ``conn``) lists it now."""
        found = Manifest.read(conn)
        fingerprint = found.fingerprint()
        with self._lock:
            if self._base is None or fingerprint != self._fingerprint:
                if self._storage is None:
                    self._storage = open_storage(self.settings)
                self._base, self._fingerprint = CatalogReader.over(self._storage, found), fingerprint
            base = self._base
        return CatalogReader(base.con.cursor(), base.snapshot_rows, base.scan_rows)
