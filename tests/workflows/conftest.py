"""One Temporal dev server per session (the binary `make setup` builds; nothing is downloaded), and a harness
that runs the real workflows against fake activities on it.

The server runs on an event loop of its own thread; each test runs its scenario with ``asyncio.run`` and a
client of its own, so nothing of Temporal's crosses event loops.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from syncoxide.config import Settings
from syncoxide.contract import temporal as contract
from syncoxide.orchestration import codec
from syncoxide.orchestration.payload_keys import PayloadKey, new_key_text
from tests.conftest import free_port
from tests.workflows.fakes import FakeActivities
from workers.main import WORKFLOWS
from workers.sealed_input import RequireSealedInput

HEARTBEAT_FLUSH = timedelta(milliseconds=200)
"""so a cancellation reaches a fake activity within a fraction of a second (the SDK would hold heartbeats 24 s)"""


def temporal_binary() -> str:
    binary = Settings(home=Path(tempfile.gettempdir()) / "sxt-workflows-unused").tools.temporal
    if binary is None:
        pytest.fail("the temporal program is not installed: run `make setup`")
    return binary


class DevServer:
    """``WorkflowEnvironment.start_local`` with the built binary, kept on a thread of its own until ``stop``."""

    def __init__(self, *extra_args: str):
        self.extra_args = list(extra_args)
        self.address: str | None = None
        self.failed: BaseException | None = None
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="temporal-dev-server", daemon=True)

    def start(self) -> str:
        self._thread.start()
        if not self._ready.wait(90) or self.failed or self.address is None:
            raise RuntimeError(f"the Temporal dev server did not start: {self.failed!r}")
        return self.address

    def _main(self) -> None:
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to the main thread through start()
            self.failed = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with await WorkflowEnvironment.start_local(
            dev_server_existing_path=temporal_binary(),
            dev_server_extra_args=self.extra_args,
            dev_server_log_level="error",
            dev_server_startup_timeout=timedelta(seconds=60),
            port=free_port(),
        ) as env:
            self.address = env.client.service_client.config.target_host
            self._ready.set()
            await self._stop.wait()

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)


@pytest.fixture(scope="session")
def temporal_address() -> Iterator[str]:
    server = DevServer()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def test_key() -> PayloadKey:
    """A payload key made for this session: the tests seal and open payloads as production does."""
    return PayloadKey.from_text(new_key_text())


@dataclass
class Harness:
    client: Client
    queue: str
    """the main task queue of this test's workers (the engine queue is derived from it, as in production)"""
    fakes: FakeActivities

    async def start(self, spec: contract.Workflow, request, *, id: str | None = None):  # noqa: A002 - Temporal's name
        return await self.client.start_workflow(
            spec.name,
            request,
            id=id or f"{spec.name}-{uuid.uuid4().hex[:10]}",
            task_queue=self.queue,
            result_type=spec.result,
            execution_timeout=timedelta(minutes=2),
        )

    async def execute(self, spec: contract.Workflow, request, *, id: str | None = None):  # noqa: A002
        handle = await self.start(spec, request, id=id)
        return await asyncio.wait_for(handle.result(), 60)


def sealed_converter(key: PayloadKey) -> DataConverter:
    """The production data converter (pydantic payloads, AES-GCM sealed, failures encoded) with the test key."""
    return codec.data_converter([key])


@asynccontextmanager
async def harness(address: str, key: PayloadKey, fakes: FakeActivities | None = None) -> AsyncIterator[Harness]:
    """The real workflows on a fresh task queue pair, every fake activity on both queues (a fake records the queue
    it was called on, so a workflow that routes an activity to the wrong queue fails an assertion, not a timeout)."""
    fakes = fakes or FakeActivities()
    client = await Client.connect(address, data_converter=sealed_converter(key))
    queue = f"wf-{uuid.uuid4().hex[:10]}"
    flush = {"max_heartbeat_throttle_interval": HEARTBEAT_FLUSH, "default_heartbeat_throttle_interval": HEARTBEAT_FLUSH}
    main = Worker(
        client,
        task_queue=contract.Queue.main.on(queue),
        workflows=WORKFLOWS,
        interceptors=[RequireSealedInput()],
        activities=fakes.all(),
        **flush,
    )
    engine = Worker(client, task_queue=contract.Queue.engine.on(queue), activities=fakes.all(), **flush)
    async with main, engine:
        yield Harness(client, queue, fakes)


@pytest.fixture()
def scenario(temporal_address: str, test_key: PayloadKey):
    """``scenario(body, fakes)``: run ``await body(harness)`` on the session's server, its workers up meanwhile."""

    def run(body, fakes: FakeActivities | None = None):
        async def main():
            async with harness(temporal_address, test_key, fakes) as h:
                return await asyncio.wait_for(body(h), 90)

        return asyncio.run(main())

    return run
