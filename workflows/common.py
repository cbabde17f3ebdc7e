"""Timeouts, retry policies and run bookkeeping shared by the workflows."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TypeVar

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.inputs import FinishRunInput, StartRunInput
    from syncoxide.config import engine_queue_for
    from syncoxide.errors import NON_RETRYABLE_TYPES
    from syncoxide.models import Repository, RunStatus

R = TypeVar("R", bound=BaseModel)

BOOKKEEPING_TIMEOUT = timedelta(seconds=30)
ENGINE_HEARTBEAT_TIMEOUT = timedelta(seconds=30)
ENGINE_RUN_TIMEOUT = timedelta(days=2)

BOOKKEEPING_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=NON_RETRYABLE_TYPES,
)
ENGINE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=8,
    non_retryable_error_types=NON_RETRYABLE_TYPES,
)


def failure_message(error: BaseException) -> tuple[str, str]:
    """(message, type) of the innermost cause: what the user should read."""
    cause = error
    while isinstance(cause, ActivityError) and cause.cause is not None:
        cause = cause.cause
    if isinstance(cause, ApplicationError):
        return cause.message, cause.type or "ApplicationError"
    return str(cause) or type(cause).__name__, type(cause).__name__


async def finish_run(data: FinishRunInput) -> None:
    await workflow.execute_activity(
        "finish_run",
        data,
        start_to_close_timeout=BOOKKEEPING_TIMEOUT,
        retry_policy=BOOKKEEPING_RETRY,
    )


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
    return await workflow.execute_activity(
        "start_run",
        data,
        result_type=Repository,
        start_to_close_timeout=BOOKKEEPING_TIMEOUT,
        retry_policy=BOOKKEEPING_RETRY,
    )


async def start_source_run(data: StartRunInput) -> None:
    """Record a run that works on a source rather than a repository (a scan, a cleanup)."""
    await workflow.execute_activity(
        "start_run", data, start_to_close_timeout=BOOKKEEPING_TIMEOUT, retry_policy=BOOKKEEPING_RETRY
    )


async def load_repository(repository_id: str) -> Repository:
    return await workflow.execute_activity(
        "get_repository",
        repository_id,
        result_type=Repository,
        start_to_close_timeout=BOOKKEEPING_TIMEOUT,
        retry_policy=BOOKKEEPING_RETRY,
    )


async def engine_step(run_id: str, activity_name: str, data: BaseModel, result_type: type[R]) -> R:
    """Run an engine activity on the engine queue; on failure or cancellation, record it and re-raise."""
    try:
        return await workflow.execute_activity(
            activity_name,
            data,
            result_type=result_type,
            task_queue=engine_queue_for(workflow.info().task_queue),
            start_to_close_timeout=ENGINE_RUN_TIMEOUT,
            heartbeat_timeout=ENGINE_HEARTBEAT_TIMEOUT,
            retry_policy=ENGINE_RETRY,
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
    except (Exception, asyncio.CancelledError) as error:
        failure = await record_failure(run_id, error)
        if failure is None:
            raise
        raise failure from None
