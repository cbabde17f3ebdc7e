"""What the workflow tests share: a workflow's failure, its child, its status."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError, FailureError
from temporalio.service import RPCError, RPCStatusCode

from syncoxide.contract.payloads import IngestSummary


async def failure_of(handle: WorkflowHandle) -> FailureError:
    """The cause a failed workflow failed with (the test fails if it did not fail)."""
    try:
        result = await asyncio.wait_for(handle.result(), 60)
    except WorkflowFailureError as failed:
        assert failed.cause is not None
        return failed.cause
    raise AssertionError(f"workflow {handle.id} succeeded with {result!r}; it should have failed")


def innermost(error: BaseException) -> BaseException:
    while isinstance(error, FailureError) and not isinstance(error, ApplicationError) and error.cause is not None:
        error = error.cause
    return error


async def status_of(handle: WorkflowHandle) -> WorkflowExecutionStatus | None:
    return (await handle.describe()).status


async def ingest_child(client: Client, parent_id: str) -> IngestSummary:
    """The catalog ingestion a backup or maintenance started (an abandoned child named after its parent)."""
    child = client.get_workflow_handle(f"{parent_id}-catalog", result_type=IngestSummary)
    return await asyncio.wait_for(child.result(), 60)


async def exists(client: Client, workflow_id: str) -> bool:
    try:
        await client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def eventually(check: Callable[[], object], what: str, timeout: float = 20, every: float = 0.05):
    """Poll ``check`` (sync or async) until it returns something truthy; that is returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        await asyncio.sleep(every)
