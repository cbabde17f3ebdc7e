"""Session fixtures: the real Temporal dev server, the embedded PostgreSQL and an in-process worker."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from syncoxide.config import Settings
from syncoxide.orchestration import client as temporal
from syncoxide.orchestration.payload_keys import ensure_key_file
from syncoxide.store import embedded
from tests.sshd import SshServer, start_sshd


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    settings: Settings
    env: dict[str, str]
    """Environment for subprocesses (the CLI) that points them at this stack."""
    ssh: SshServer
    """A real sshd on loopback; settings.ssh_options let both engines reach it."""

    def borg_url(self, path: Path) -> str:
        return f"ssh://{self.ssh.user}@127.0.0.1:{self.ssh.port}{path}"

    def restic_url(self, path: Path) -> str:
        return f"sftp://{self.ssh.user}@127.0.0.1:{self.ssh.port}/{path}"


class _WorkerThread:
    """Temporal's dev server and a worker on an event loop of their own, so tests can block freely."""

    def __init__(self, settings: Settings, temporal_bin: str):
        self.settings = settings
        self.temporal_bin = temporal_bin
        self.ready = threading.Event()
        self.failed: BaseException | None = None
        self.address: str | None = None
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="temporal-and-worker", daemon=True)

    def start(self) -> str:
        self._thread.start()
        if not self.ready.wait(120) or self.failed or self.address is None:
            raise RuntimeError(f"Temporal dev server or worker did not start: {self.failed!r}")
        return self.address

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to the main thread through start()
            self.failed = exc
            self.ready.set()

    async def _serve(self) -> None:
        from workers.main import run_until

        self._stop = asyncio.Event()
        async with await WorkflowEnvironment.start_local(
            dev_server_existing_path=self.temporal_bin,
            search_attributes=temporal.SEARCH_ATTRIBUTES,
            data_converter=temporal.data_converter(self.settings),
            dev_server_log_level="warn",
            dev_server_startup_timeout=timedelta(seconds=60),
            port=free_port(),
        ) as env:
            self.address = env.client.service_client.config.target_host
            worker_settings = self.settings.model_copy(update={"temporal_address": self.address})
            ready_file = worker_settings.home / "worker.ready"
            worker = asyncio.ensure_future(run_until(worker_settings, self._stop, ready_file))
            while not ready_file.exists() and not worker.done():
                await asyncio.sleep(0.1)
            self.ready.set()
            await worker

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=60)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    home = Path(tempfile.mkdtemp(prefix="sxt-", dir="/tmp"))
    base = Settings(home=home)
    ensure_key_file(home / "payload.keys")
    temporal_bin = base.tools.temporal
    for name in ("temporal", "borg", "restic"):
        if getattr(base.tools, name) is None:
            pytest.fail(f"{name} is not installed: run `make setup`")
    ssh = start_sshd(home / "sshd", free_port())
    database_url = embedded.start(base.pgdata)
    settings = base.model_copy(
        update={
            "database_url": database_url,
            "ssh_options": ssh.ssh_options,
            "borg_remote_path": base.tools.borg,
            "metrics_address": f"127.0.0.1:{free_port()}",
        }
    )
    runner = _WorkerThread(settings, temporal_bin)
    try:
        address = runner.start()
        settings = settings.model_copy(update={"temporal_address": address})
        env = {
            **os.environ,
            "SYNCOXIDE_HOME": str(home),
            "SYNCOXIDE_TEMPORAL_ADDRESS": address,
            "SYNCOXIDE_DATABASE_URL": database_url,
            "SYNCOXIDE_SSH_OPTIONS": ssh.ssh_options,
            "SYNCOXIDE_BORG_REMOTE_PATH": base.tools.borg,
            "SYNCOXIDE_METRICS_ADDRESS": "",
        }
        yield Stack(settings=settings, env=env, ssh=ssh)
    finally:
        runner.stop()
        ssh.stop()
        embedded.stop(base.pgdata)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(autouse=True)
def _pytest_stays_as_it_was():
    """The dashboard's app.py, which AppTest runs in this process, makes its process private (umask 077) as it
    does in production; what a test leaves must not change the tests after it."""
    umask = os.umask(0o022)
    os.umask(umask)
    recorded = os.environ.get("SYNCOXIDE_USER_UMASK")
    yield
    os.umask(umask)
    if recorded is None:
        os.environ.pop("SYNCOXIDE_USER_UMASK", None)
    else:
        os.environ["SYNCOXIDE_USER_UMASK"] = recorded


@pytest.fixture()
def workdir() -> Iterator[Path]:
    """A scratch dir under /tmp, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="sxw-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)
