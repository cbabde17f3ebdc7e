"""`syncoxide worker` as a process: live progress, SIGTERM mid-backup, another worker finishes the run."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from syncoxide.backups import operations
from syncoxide.contract.payloads import BackupRequest, BackupResult, Progress
from syncoxide.models import Engine, RunKind, RunStatus
from syncoxide.orchestration import client as temporal
from syncoxide.store import open_store, runs
from tests.e2e.conftest import PASSPHRASE_ENV, make_repository

pytestmark = pytest.mark.e2e
MiB = 1024 * 1024


def start_worker(stack, queue: str, ready: Path) -> subprocess.Popen:
    ready.unlink(missing_ok=True)
    env = {**stack.env, "SYNCOXIDE_TASK_QUEUE": queue, PASSPHRASE_ENV: os.environ[PASSPHRASE_ENV]}
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncoxide.cli", "worker", "--ready-file", str(ready)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "worker did not become ready"
        time.sleep(0.1)
    return proc


def test_sigterm_mid_backup_then_another_worker_finishes(stack, workdir):
    queue = f"sigterm-{uuid.uuid4().hex[:8]}"
    settings = stack.settings.model_copy(update={"task_queue": queue})
    source = workdir / "src"
    source.mkdir()
    with open(source / "large.random", "wb") as out:
        for _ in range(1024):
            out.write(os.urandom(MiB))
    repository = make_repository(stack, Engine.restic, workdir / "repo", f"sigterm-{queue}")
    first = start_worker(stack, queue, workdir / "ready-1")

    async def until_progress_then_sigterm() -> tuple[str, Progress]:
        client = await temporal.connect(settings)
        request = BackupRequest(repository_id=repository.id, sources=[str(source)])
        handle = await temporal.start(client, settings, RunKind.backup, repository, request)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            progress = await temporal.current_progress(handle)
            if progress and progress.bytes_done > 0:
                first.send_signal(signal.SIGTERM)
                return handle.id, progress
            await asyncio.sleep(0.2)
        raise AssertionError("no live progress within 60s")

    run_id, progress = asyncio.run(until_progress_then_sigterm())
    assert progress.phase == "backup" and progress.bytes_total == 1024 * MiB
    assert first.wait(timeout=90) == 0, first.stderr.read()

    second = start_worker(stack, queue, workdir / "ready-2")
    try:

        async def finish() -> BackupResult:
            client = await temporal.connect(settings)
            return await asyncio.wait_for(temporal.wait(client.get_workflow_handle(run_id), BackupResult), timeout=300)

        result = asyncio.run(finish())
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=90) == 0

    assert result.stats.bytes == 1024 * MiB
    engine = operations.open_repository(stack.settings, repository)
    assert [s.id for s in engine.snapshots()] == [result.snapshot_id]
    with open_store(stack.settings) as conn:
        assert runs.get(conn, run_id).status == RunStatus.succeeded
