"""What the workflows share: running an activity as the contract says, and the run bookkeeping around it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from syncoxide.contract import temporal as contract
    from syncoxide.contract.payloads import FinishRunInput, StartRunInput
    from syncoxide.models import Repository, RunStatus

In = TypeVar("In")
Out = TypeVar("Out")


async def call(
    spec: contract.Activity[In, Out], data: In | None = None, *, start_to_close: timedelta | None = None
) -> Out:
    """Run the activity ``spec`` on its queue with its timeouts and retry policy."""
    options: dict[str, Any] = {
        "result_type": spec.result,
        "task_queue": spec.queue.on(workflow.info().task_queue),
        "start_to_close_timeout": start_to_close or spec.start_to_close,
        "heartbeat_timeout": spec.heartbeat,
        "retry_policy": spec.retry,
    }
    if spec.waits_for_cancellation:
        options["cancellation_type"] = ActivityCancellationType.WAIT_CANCELLATION_COMPLETED
    if spec.input is None:
        return await workflow.execute_activity(spec.name, **options)
    return await workflow.execute_activity(spec.name, data, **options)


def failure_message(error: BaseException) -> tuple[str, str]:
    """(message, type) of the innermost cause: what the user should read."""
    cause = error
    while isinstance(cause, ActivityError) and cause.cause is not None:
        cause = cause.cause
    if isinstance(cause, ApplicationError):
        return cause.message, cause.type or "ApplicationError"
    return str(cause) or type(cause).__name__, type(cause).__name__


async def finish_run(data: FinishRunInput) -> None:
    await call(contract.FINISH_RUN, data)


def is_cancellation(error: BaseException) -> bool:
    return isinstance(error, CancelledError) or (
        isinstance(error, ActivityError) and isinstance(error.cause, CancelledError)
    )


async def record_failure(run_id: str, error: BaseException) -> ApplicationError | None:
    """Record a failed or cancelled run; return the error the workflow should fail with (None: cancelled)."""
    if is_cancellation(error):
        await finish_run(FinishRunInput(run_id=run_id, status=RunStatus.cancelled, error="cancelled"))
        return None
    message, kind = failure_message(error)
    await finish_run(FinishRunInput(run_id=run_id, status=RunStatus.failed, error=message))
    return ApplicationError(message, type=kind, non_retryable=True)


async def start_run(data: StartRunInput) -> Repository:
    """Record the run as running; returns the repository it runs against."""
    repository = await call(contract.START_RUN, data)
    if repository is None:
        raise ApplicationError(f"run {data.run_id} names no repository", type="InvalidInput", non_retryable=True)
    return repository


async def start_source_run(data: StartRunInput) -> None:
    """Record a run that works on a source rather than a repository (a scan, a cleanup)."""
    await call(contract.START_RUN, data)


async def load_repository(repository_id: str) -> Repository:
    return await call(contract.GET_REPOSITORY, repository_id)


async def engine_step(run_id: str, spec: contract.Activity[In, Out], data: In) -> Out:
    """Run an engine activity; on failure or cancellation, record it and re-raise."""
    try:
        return await call(spec, data)
    except (Exception, asyncio.CancelledError) as error:
        failure = await record_failure(run_id, error)
        if failure is None:
            raise
        raise failure from None
