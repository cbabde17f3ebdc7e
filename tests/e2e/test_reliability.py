"""Reliability on the real stack: a worker killed mid-backup, and Temporal restarted mid-backup.

The backups read a paced stream (tests/e2e/paced_stream.py) rather than a large tree: a tree that restic
reads in under four seconds had finished before the first heartbeat with bytes in it reached the test."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from syncoxide.backups import operations
from syncoxide.contract.payloads import BackupRequest, BackupResult, RestoreRequest, RestoreResult
from syncoxide.dev import stack as devstack
from syncoxide.models import Engine, RunKind, RunStatus, StreamSource
from syncoxide.orchestration import client as temporal
from syncoxide.store import open_store, runs
from tests.conftest import free_port
from tests.e2e.cli import syncoxide
from tests.e2e.conftest import PASSPHRASE_ENV, make_repository
from tests.e2e.paced_stream import command as paced_stream_command
from tests.e2e.paced_stream import digest as paced_digest
from tests.e2e.paced_stream import shell_command as paced_shell_command
from tests.e2e.test_worker import start_worker

pytestmark = pytest.mark.e2e
MiB = 1024 * 1024


STREAM_MIB = 96
STREAM_MIB_PER_S = 8.0  # twelve seconds of backup on any machine: still running when the test interrupts it
STREAM_NAME = "paced/blob.random"


def paced_stream(seed: int) -> StreamSource:
    return StreamSource(name=STREAM_NAME, command=paced_stream_command(seed, STREAM_MIB, STREAM_MIB_PER_S))


def sha256_of(path: Path) -> str:
    hashed = hashlib.sha256()
    with open(path, "rb") as source:
        while chunk := source.read(1 << 20):
            hashed.update(chunk)
    return hashed.hexdigest()


async def wait_for_progress(settings, run_id: str) -> None:
    """Until the engine activity has heartbeated some bytes; on time-out, say where the run was stuck."""
    client = await temporal.connect(settings)
    handle = client.get_workflow_handle(run_id)
    deadline = time.monotonic() + 90
    seen: list[str] = []
    while time.monotonic() < deadline:
        progress = await temporal.current_progress(handle)
        if progress and progress.bytes_done > 0:
            return
        if progress and (not seen or seen[-1] != progress.phase):
            seen.append(progress.phase)
        await asyncio.sleep(0.2)
    raise AssertionError(f"no progress within 90s (phases seen: {seen}): {await where_stuck(handle)}")


async def where_stuck(handle) -> str:
    """The workflow's status, each pending activity's state and attempt, and which worker took what."""
    description = await handle.describe()
    activities = [
        f"{pending.activity_type.name} state={pending.state} attempt={pending.attempt}"
        f" last_failure={pending.last_failure.message!r} heartbeat={bool(pending.heartbeat_details.payloads)}"
        for pending in description.raw_description.pending_activities
    ]
    status = description.status.name if description.status else None
    took = (description.close_time - description.start_time).total_seconds() if description.close_time else None
    history = await handle.fetch_history()
    events = []
    for event in history.events:
        kind = event.WhichOneof("attributes") or ""
        attributes = getattr(event, kind, None)
        identity = getattr(attributes, "identity", "")
        name = getattr(getattr(attributes, "activity_type", None), "name", "")
        events.append(f"{event.event_time.ToDatetime():%H:%M:%S.%f} {kind} {name} {identity}".rstrip())
    return (
        f"{description.workflow_type} {description.id} {status} after {took}s;"
        f" pending: {activities or 'none'}; history: {events}"
    )


def engine_processes(repo: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if ("borg" in cmdline or "restic" in cmdline) and str(repo) in cmdline:
            found.append(proc)
    return found


@pytest.mark.parametrize("engine", [Engine.borg, Engine.restic])
def test_worker_killed_mid_backup(stack, workdir, engine):
    queue = f"kill-{uuid.uuid4().hex[:8]}"
    settings = stack.settings.model_copy(update={"task_queue": queue})
    repo_path = workdir / "repo"
    repository = make_repository(stack, engine, repo_path, f"killed-{queue}")
    worker = start_worker(stack, queue, workdir / "ready-1")

    async def start() -> str:
        client = await temporal.connect(settings)
        request = BackupRequest(repository_id=repository.id, stream=paced_stream(seed=1))
        return (await temporal.start(client, settings, RunKind.backup, repository, request)).id

    run_id = asyncio.run(start())
    asyncio.run(wait_for_progress(settings, run_id))
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    deadline = time.monotonic() + 30
    while engine_processes(repo_path) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert engine_processes(repo_path) == [], "the engine kept running after its worker was killed"

    replacement = start_worker(stack, queue, workdir / "ready-2")
    try:

        async def finish() -> tuple[BackupResult, RestoreResult]:
            client = await temporal.connect(settings)
            backup = await asyncio.wait_for(temporal.wait(client.get_workflow_handle(run_id), BackupResult), 300)
            request = RestoreRequest(
                repository_id=repository.id, snapshot_id=backup.snapshot_id, target=str(workdir / "restored")
            )
            handle = await temporal.start(client, settings, RunKind.restore, repository, request)
            return backup, await asyncio.wait_for(temporal.wait(handle, RestoreResult), 300)

        backup, restored = asyncio.run(finish())
    finally:
        replacement.send_signal(signal.SIGTERM)
        replacement.wait(timeout=90)

    engine_handle = operations.open_repository(stack.settings, repository)
    assert [s.id for s in engine_handle.snapshots()] == [backup.snapshot_id]
    assert operations.check(engine_handle, verify_data=False, subset_percent=None).ok  # breaks stale locks
    assert sha256_of(workdir / "restored" / STREAM_NAME) == paced_digest(1, STREAM_MIB)
    assert restored.files == 1
    with open_store(stack.settings) as conn:
        assert runs.get(conn, run_id).status == RunStatus.succeeded


def test_temporal_restarted_mid_backup(stack, workdir):
    port = free_port()
    argv = [
        stack.settings.tools.temporal,
        "server",
        "start-dev",
        "--headless",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--db-filename",
        str(workdir / "temporal.db"),
        "--log-level",
        "error",
        *devstack.search_attribute_flags(),
    ]

    def start_server() -> subprocess.Popen:
        server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not devstack._reachable(f"127.0.0.1:{port}"):
            assert server.poll() is None and time.monotonic() < deadline, "temporal did not start"
            time.sleep(0.1)
        return server

    server = start_server()
    address = f"127.0.0.1:{port}"
    env = {"SYNCOXIDE_TEMPORAL_ADDRESS": address, PASSPHRASE_ENV: os.environ[PASSPHRASE_ENV]}
    worker_stack = type(stack)(settings=stack.settings, env={**stack.env, **env}, ssh=stack.ssh)
    repository = make_repository(stack, Engine.restic, workdir / "repo", "temporal-restart")
    worker = start_worker(worker_stack, "syncoxide", workdir / "ready")
    cli = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "syncoxide.cli",
            "backup",
            "--repo",
            repository.name,
            "--stream-command",
            paced_shell_command(2, STREAM_MIB, STREAM_MIB_PER_S),
            "--stream-name",
            STREAM_NAME,
            "--json",
        ],
        env=worker_stack.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        settings = stack.settings.model_copy(update={"temporal_address": address})

        async def running_id() -> str:
            client = await temporal.connect(settings)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                async for execution in client.list_workflows(f"RepositoryId='{repository.id}'"):
                    return execution.id
                await asyncio.sleep(0.2)
            raise AssertionError("the backup did not start")

        run_id = asyncio.run(running_id())
        asyncio.run(wait_for_progress(settings, run_id))
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        time.sleep(2)
        server = start_server()
        stdout, stderr = cli.communicate(timeout=600)
        assert cli.returncode == 0, stderr
        with open_store(stack.settings) as conn:
            assert runs.get(conn, run_id).status == RunStatus.succeeded
        assert syncoxide(worker_stack, "snapshots", "--repo", repository.name, "--json").json[0]["files"] == 1
    finally:
        cli.kill()
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=90)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
