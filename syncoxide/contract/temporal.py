"""Every workflow, activity, signal and query syncoxide runs: its name, input and result types, task
queue, timeouts and retry policy.

    await call(START_RUN, StartRunInput(...))            # a workflow runs an activity (workflows/common.py)
    @implements(START_RUN)                               # its implementation (activities/)
    def start_run(self, data: StartRunInput) -> Repository | None: ...
    await client.start_workflow(BACKUP.name, request, result_type=BACKUP.result, ...)   # a client

``implements`` checks at import that the implementation takes and returns the types named here; the
worker puts each activity on the queue named here. Two task queues: the main one (``settings.task_queue``)
runs the workflows and their bookkeeping; the engine queue (``<main>-engine``) runs engines, transfers
and hooks, whose concurrency each worker bounds.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, Generic, TypeVar

from temporalio import activity
from temporalio.common import RetryPolicy

from syncoxide.config import engine_queue_for
from syncoxide.contract.payloads import (
    BackupActivityInput,
    BackupActivityResult,
    BackupRequest,
    BackupResult,
    CatalogIngestInput,
    CatalogIngestRequest,
    CheckActivityInput,
    CheckResult,
    CleanupRequest,
    CleanupResult,
    FinishRunInput,
    HealthRequest,
    HookInput,
    IngestSummary,
    MaintenanceRequest,
    MaintenanceResult,
    NotifyRunInput,
    RestoreActivityInput,
    RestoreActivityResult,
    RestoreRequest,
    RestoreResult,
    RetentionActivityInput,
    RetentionActivityResult,
    ScanActivityInput,
    ScanRequest,
    ScanSummary,
    StartRunInput,
    SyncActivityInput,
    SyncStatus,
    SyncSummary,
    SyncWorkflowInput,
)
from syncoxide.errors import NON_RETRYABLE_TYPES
from syncoxide.models import Repository, RunKind

In = TypeVar("In")
Out = TypeVar("Out")
F = TypeVar("F", bound=Callable[..., Any])


class Queue(StrEnum):
    main = "main"
    engine = "engine"

    def on(self, main_queue: str) -> str:
        """This queue's name for a deployment whose main queue is ``main_queue``."""
        return main_queue if self is Queue.main else engine_queue_for(main_queue)


@dataclass(frozen=True)
class Activity(Generic[In, Out]):
    name: str
    input: Any
    """the type of its one argument; None: it takes none"""
    result: Any
    """the type it returns; None: nothing"""
    queue: Queue
    start_to_close: timedelta
    retry: RetryPolicy
    heartbeat: timedelta | None = None
    """how long it may go without a heartbeat before Temporal retries it elsewhere"""
    waits_for_cancellation: bool = False
    """a cancelled workflow waits for it to stop (an engine killed cleanly, a transfer's checkpoint kept)"""


@dataclass(frozen=True)
class Workflow(Generic[In, Out]):
    name: str
    input: type[In]
    result: Any
    execution_timeout: timedelta | None = None


@dataclass(frozen=True)
class Signal:
    name: str


@dataclass(frozen=True)
class Query(Generic[Out]):
    name: str
    result: type[Out]


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
SYNC_RETRY = RetryPolicy(  # a pass resumes from its journal, so it may try more often than an engine
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=10,
    non_retryable_error_types=[*NON_RETRYABLE_TYPES, "GuardTripped", "NeedsResync"],
)
NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=2),
    maximum_attempts=3,
    non_retryable_error_types=NON_RETRYABLE_TYPES,
)
ONCE = RetryPolicy(maximum_attempts=1)
BOOKKEEPING_TIMEOUT = timedelta(seconds=30)
ENGINE_TIMEOUT = timedelta(days=2)
ENGINE_HEARTBEAT = timedelta(seconds=30)
SYNC_HEARTBEAT = timedelta(seconds=60)  # a pass's listing of a large remote folder can sit in one call


def _bookkeeping(name: str, input: Any, result: Any) -> Activity[Any, Any]:
    return Activity(name, input, result, Queue.main, BOOKKEEPING_TIMEOUT, BOOKKEEPING_RETRY)


def _engine(name: str, input: Any, result: Any) -> Activity[Any, Any]:
    return Activity(name, input, result, Queue.engine, ENGINE_TIMEOUT, ENGINE_RETRY, ENGINE_HEARTBEAT, True)


START_RUN: Activity[StartRunInput, Repository | None] = _bookkeeping("start_run", StartRunInput, Repository | None)
FINISH_RUN: Activity[FinishRunInput, None] = _bookkeeping("finish_run", FinishRunInput, None)
GET_REPOSITORY: Activity[str, Repository] = _bookkeeping("get_repository", str, Repository)
NOTIFY_RUN: Activity[NotifyRunInput, list[str]] = Activity(  # a few tries: an unreachable service must not hold the run
    "notify_run", NotifyRunInput, list[str], Queue.main, timedelta(seconds=60), NOTIFY_RETRY
)
NOTIFY_LATE: Activity[None, list[str]] = Activity(
    "notify_late", None, list[str], Queue.main, timedelta(minutes=5), RetryPolicy(maximum_attempts=3)
)

BACKUP_ACTIVITY: Activity[BackupActivityInput, BackupActivityResult] = _engine(
    "backup", BackupActivityInput, BackupActivityResult
)
RESTORE_ACTIVITY: Activity[RestoreActivityInput, RestoreActivityResult] = _engine(
    "restore", RestoreActivityInput, RestoreActivityResult
)
RETENTION_ACTIVITY: Activity[RetentionActivityInput, RetentionActivityResult] = _engine(
    "retention", RetentionActivityInput, RetentionActivityResult
)
CHECK_ACTIVITY: Activity[CheckActivityInput, CheckResult] = _engine("check", CheckActivityInput, CheckResult)
CATALOG_INGEST_ACTIVITY: Activity[CatalogIngestInput, IngestSummary] = _engine(
    "catalog_ingest", CatalogIngestInput, IngestSummary
)
CATALOG_SCAN_ACTIVITY: Activity[ScanActivityInput, ScanSummary] = _engine(
    "catalog_scan", ScanActivityInput, ScanSummary
)
CLEANUP_ACTIVITY: Activity[CleanupRequest, CleanupResult] = _engine("cleanup", CleanupRequest, CleanupResult)
RUN_HOOKS: Activity[HookInput, int] = Activity(  # start_to_close: the hooks' own timeouts, given per call
    "run_hooks", HookInput, int, Queue.engine, ENGINE_TIMEOUT, ONCE, ENGINE_HEARTBEAT, True
)  # a hook is the user's command: run once, report what it said
SYNC_PASS: Activity[SyncActivityInput, SyncSummary] = Activity(
    "sync_run", SyncActivityInput, SyncSummary, Queue.engine, ENGINE_TIMEOUT, SYNC_RETRY, SYNC_HEARTBEAT, True
)

ACTIVITIES: tuple[Activity[Any, Any], ...] = (
    START_RUN,
    FINISH_RUN,
    GET_REPOSITORY,
    NOTIFY_RUN,
    NOTIFY_LATE,
    BACKUP_ACTIVITY,
    RESTORE_ACTIVITY,
    RETENTION_ACTIVITY,
    CHECK_ACTIVITY,
    CATALOG_INGEST_ACTIVITY,
    CATALOG_SCAN_ACTIVITY,
    CLEANUP_ACTIVITY,
    RUN_HOOKS,
    SYNC_PASS,
)

RUN_TIMEOUT = timedelta(days=7)
BACKUP: Workflow[BackupRequest, BackupResult] = Workflow("BackupWorkflow", BackupRequest, BackupResult, RUN_TIMEOUT)
RESTORE: Workflow[RestoreRequest, RestoreResult] = Workflow(
    "RestoreWorkflow", RestoreRequest, RestoreResult, RUN_TIMEOUT
)
MAINTENANCE: Workflow[MaintenanceRequest, MaintenanceResult] = Workflow(
    "MaintenanceWorkflow", MaintenanceRequest, MaintenanceResult, RUN_TIMEOUT
)
CATALOG_INGEST: Workflow[CatalogIngestRequest, IngestSummary] = Workflow(
    "CatalogIngestWorkflow", CatalogIngestRequest, IngestSummary, RUN_TIMEOUT
)
CATALOG_SCAN: Workflow[ScanRequest, ScanSummary] = Workflow(
    "CatalogScanWorkflow", ScanRequest, ScanSummary, RUN_TIMEOUT
)
CLEANUP: Workflow[CleanupRequest, CleanupResult] = Workflow(
    "CleanupWorkflow", CleanupRequest, CleanupResult, RUN_TIMEOUT
)
HEALTH: Workflow[HealthRequest, list[str]] = Workflow("HealthWorkflow", HealthRequest, list[str])
SYNC: Workflow[SyncWorkflowInput, SyncSummary | None] = Workflow(
    "SyncWorkflow", SyncWorkflowInput, SyncSummary | None
)  # no execution timeout: a continuous pair runs until it is stopped

WORKFLOWS: tuple[Workflow[Any, Any], ...] = (
    BACKUP,
    RESTORE,
    MAINTENANCE,
    CATALOG_INGEST,
    CATALOG_SCAN,
    CLEANUP,
    HEALTH,
    SYNC,
)
WORKFLOW_FOR_RUN: dict[str, Workflow[Any, Any]] = {
    RunKind.backup: BACKUP,
    RunKind.restore: RESTORE,
    "maintenance": MAINTENANCE,
    RunKind.catalog: CATALOG_INGEST,
    RunKind.scan: CATALOG_SCAN,
    RunKind.cleanup: CLEANUP,
    "sync": SYNC,
}
"""what a client starts for a kind of run"""

SYNC_PAUSE = Signal("pause")
SYNC_RESUME = Signal("resume")
SYNC_RUN_NOW = Signal("run-now")
SYNC_SIGNALS = (SYNC_PAUSE, SYNC_RESUME, SYNC_RUN_NOW)
SYNC_STATUS: Query[SyncStatus] = Query("status", SyncStatus)


def implements(spec: Activity[Any, Any]) -> Callable[[F], F]:
    """``activity.defn`` under the contract's name, after checking the function takes and returns its types."""

    def register(function: F) -> F:
        hints = typing.get_type_hints(function)
        result = hints.pop("return", None)
        hints.pop("self", None)
        taken = list(hints.values())
        wanted_in = [] if spec.input is None else [spec.input]
        wanted_out = type(None) if spec.result is None else spec.result
        if taken != wanted_in or result != wanted_out:
            raise TypeError(
                f"activity {spec.name}: {function.__qualname__} takes {taken} and returns {result}; "
                f"the contract says {wanted_in} and {wanted_out}"
            )
        function.__syncoxide_activity__ = spec  # type: ignore[attr-defined]  # our own mark, read by spec_of
        return activity.defn(name=spec.name)(function)

    return register


def spec_of(implementation: Callable[..., Any]) -> Activity[Any, Any]:
    """The contract entry an activity implementation was registered under (by ``implements``)."""
    spec = getattr(implementation, "__syncoxide_activity__", None)
    if spec is None:
        raise TypeError(f"{implementation.__qualname__} is not an activity of the contract (use @implements)")
    return spec
