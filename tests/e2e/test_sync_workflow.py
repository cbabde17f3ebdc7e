"""SyncWorkflow through the real Temporal dev server: one-shot, continuous with pause / run-now / status.

The stack's worker does not know SyncWorkflow until workers/main.py registers it, so this test runs
its own worker pair (workflow queue + engine queue) against the stack's Temporal server.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.worker import Worker

from activities.sync import SyncActivities
from syncoxide.contract.payloads import SyncSummary, SyncWorkflowInput
from syncoxide.orchestration import client as temporal
from syncoxide.providers import ProviderSpec
from syncoxide.sync.models import Mode, SyncRequest
from workflows.sync import SyncWorkflow

pytestmark = pytest.mark.e2e
QUEUE = "sync-e2e"


def _request(src: Path, dst: Path) -> SyncRequest:
    return SyncRequest(
        source=ProviderSpec(kind="local", location=str(src)),
        destination=ProviderSpec(kind="local", location=str(dst)),
        mode=Mode.sync,
    )


async def _scenario(settings, src: Path, dst: Path) -> None:
    client = await temporal.connect(settings)
    executor = ThreadPoolExecutor(4)
    activities = SyncActivities(settings)
    workflows = Worker(client, task_queue=QUEUE, workflows=[SyncWorkflow], activity_executor=executor)
    engine = Worker(
        client,
        task_queue=f"{QUEUE}-engine",
        activities=[activities.sync_run],
        activity_executor=executor,
        max_heartbeat_throttle_interval=timedelta(seconds=1),
    )
    async with workflows, engine:
        once = await client.execute_workflow(
            SyncWorkflow.run,
            SyncWorkflowInput(request=_request(src, dst)),
            id=f"sync-once-{time.time_ns()}",
            task_queue=QUEUE,
            result_type=SyncSummary,
        )
        assert once.transferred_files == 2 and once.errors == []
        assert (dst / "a.txt").read_bytes() == b"alpha"

        handle = await client.start_workflow(
            SyncWorkflow.run,
            SyncWorkflowInput(request=_request(src, dst), interval_s=3600),
            id=f"sync-loop-{time.time_ns()}",
            task_queue=QUEUE,
        )
        status = await _wait(handle, lambda s: s["runs"] == 1 and s["phase"] == "waiting")
        assert status["last"]["planned"] == {}
        await handle.signal(SyncWorkflow.pause)
        await _wait(handle, lambda s: s["paused"])
        (src / "new.txt").write_bytes(b"new")
        await handle.signal("run-now")
        status = await _wait(handle, lambda s: s["runs"] == 2 and s["phase"] == "waiting")
        assert status["last"]["transferred_files"] == 1 and (dst / "new.txt").read_bytes() == b"new"
        await handle.cancel()


async def _wait(handle, predicate, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = (await handle.query(SyncWorkflow.status)).model_dump(mode="json")
        if predicate(status):
            return status
        assert time.monotonic() < deadline, f"sync workflow stuck: {status}"
        await asyncio.sleep(0.2)


def test_sync_workflow_once_and_continuously(stack, workdir: Path):
    src, dst = workdir / "src", workdir / "dst"
    (src / "d").mkdir(parents=True)
    dst.mkdir()
    (src / "a.txt").write_bytes(b"alpha")
    (src / "d" / "b.txt").write_bytes(b"bravo")
    asyncio.run(_scenario(stack.settings, src, dst))
