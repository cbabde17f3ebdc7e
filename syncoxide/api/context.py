"""What every request shares: the settings, a pool of PostgreSQL connections and one Temporal client
(connected on first use, so the API answers /healthz and reports 503s while Temporal is away)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, TypeVar

import psycopg
from fastapi import Depends, Request
from psycopg_pool import ConnectionPool, PoolTimeout
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from syncoxide.catalog.query import CatalogReader
from syncoxide.catalog.shared_reader import SharedCatalog
from syncoxide.config import Settings
from syncoxide.errors import ServiceUnavailable
from syncoxide.store import open_store
from syncoxide.store.db import database_url, describe_url

POOL_SIZE = 16
POOL_WAIT_S = 10.0
T = TypeVar("T")


class ApiContext:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._pool: ConnectionPool | None = None
        self._client: Client | None = None
        self._connecting = asyncio.Lock()
        self._catalog = SharedCatalog(settings)

    def open(self) -> None:
        with open_store(self.settings):  # migrations, once, before the pool hands out connections
            pass
        self._pool = ConnectionPool(
            database_url(self.settings),
            min_size=1,
            max_size=POOL_SIZE,
            kwargs={"autocommit": True},
            check=ConnectionPool.check_connection,
        )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        if self._pool is None:
            raise ServiceUnavailable("the API is not started: no PostgreSQL pool yet")
        try:
            with self._pool.connection(timeout=POOL_WAIT_S) as conn:
                yield conn
        except PoolTimeout:
            url = describe_url(database_url(self.settings))
            raise ServiceUnavailable(f"no PostgreSQL connection to {url} within {POOL_WAIT_S:.0f}s") from None

    @contextmanager
    def catalog(self) -> Iterator[CatalogReader]:
        """A reader of the catalog as it is now (on a worker thread: it reads PostgreSQL and DuckDB)."""
        with self.connection() as conn:
            reader = self._catalog.reader(conn)
        try:
            yield reader
        finally:
            reader.close()

    async def db(self, work: Callable[[psycopg.Connection], T]) -> T:
        """Run ``work`` with a pooled connection on a worker thread."""

        def run() -> T:
            with self.connection() as conn:
                return work(conn)

        return await run_in_threadpool(run)

    async def temporal(self) -> Client:
        if self._client is None:
            from syncoxide.orchestration import client as temporal

            async with self._connecting:
                if self._client is None:
                    self._client = await temporal.connect(self.settings)
        return self._client


def context(request: Request) -> ApiContext:
    return request.app.state.context  # set by app.create_app


Ctx = Annotated[ApiContext, Depends(context)]
