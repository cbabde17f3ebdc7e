"""Cancelling a backup: from the CLI (Ctrl-C) and with `syncoxide cancel`; the engine stops cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest

from syncoxide.backups import operations
from syncoxide.models import Engine, RunStatus
from syncoxide.orchestration import client as temporal
from syncoxide.store import open_store, runs
from tests.e2e.cli import syncoxide
from tests.e2e.conftest import make_repository

pytestmark = pytest.mark.e2e
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def big_source(tmp_path_factory):
    source = tmp_path_factory.mktemp("cancel") / "src"
    source.mkdir()
    with open(source / "large.random", "wb") as out:
        for _ in range(1536):
            out.write(os.urandom(MiB))
    return source


def running_run_with_progress(stack, repository_id: str) -> str:
    """The id of the repository's running backup once its heartbeats show bytes done."""

    async def go() -> str:
        client = await temporal.connect(stack.settings)
        deadline = time.monotonic() + 60
        query = f"RepositoryId='{repository_id}' AND ExecutionStatus='Running'"
        while time.monotonic() < deadline:
            async for execution in client.list_workflows(query):
                progress = await temporal.current_progress(client.get_workflow_handle(execution.id))
                if progress and progress.bytes_done > 0:
                    return execution.id
            await asyncio.sleep(0.3)
        raise AssertionError("no running backup with progress within 60s")

    return asyncio.run(go())


def assert_cancelled_cleanly(stack, repository, run_id: str, source) -> None:
    with open_store(stack.settings) as conn:
        assert runs.get(conn, run_id).status == RunStatus.cancelled
    engine = operations.open_repository(stack.settings, repository)
    assert engine.find_snapshot(run_id) is None
    small = source.parent / "small"
    small.mkdir(exist_ok=True)
    (small / "after.txt").write_text("the lock was released")
    done = syncoxide(stack, "backup", "--repo", repository.name, "--source", str(small), "--json")
    assert done.code == 0, done.stderr


def backup_in_background(stack, repository, source) -> tuple[subprocess.Popen, str]:
    """`syncoxide backup` as a subprocess, returned once its run shows progress."""
    cli = subprocess.Popen(
        [sys.executable, "-m", "syncoxide.cli", "backup", "--repo", repository.name, "--source", str(source)],
        env=stack.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return cli, running_run_with_progress(stack, repository.id)


def test_ctrl_c_cancels_the_run(stack, workdir, big_source):
    repository = make_repository(stack, Engine.borg, workdir / "repo", "cancel-ctrl-c")
    cli, run_id = backup_in_background(stack, repository, big_source)
    cli.send_signal(signal.SIGINT)
    _, stderr = cli.communicate(timeout=120)
    assert cli.returncode == 1
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines == [f"error: run {run_id} was cancelled"], stderr
    assert_cancelled_cleanly(stack, repository, run_id, big_source)


def test_cancel_command(stack, workdir, big_source):
    repository = make_repository(stack, Engine.restic, workdir / "repo", "cancel-command")
    cli, run_id = backup_in_background(stack, repository, big_source)
    cancelled = syncoxide(stack, "cancel", run_id)
    assert cancelled.code == 0, cancelled.stderr
    _, stderr = cli.communicate(timeout=120)
    assert cli.returncode == 1
    assert [line for line in stderr.splitlines() if line.strip()] == [f"error: run {run_id} was cancelled"]
    assert_cancelled_cleanly(stack, repository, run_id, big_source)


def test_cancel_of_an_unknown_run(stack):
    result = syncoxide(stack, "cancel", "backup-does-not-exist")
    assert result.code == 1
    assert result.stderr.strip() == "error: no running run with id backup-does-not-exist"
