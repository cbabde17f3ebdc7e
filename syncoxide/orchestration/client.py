"""The one place that starts and queries workflows; the CLI and the dashboard go through here."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from pydantic import BaseModel, Field
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode

from syncoxide.config import Settings
from syncoxide.contract import temporal as contract
from syncoxide.contract.payloads import Progress
from syncoxide.errors import NotFound, ServiceUnavailable, SyncoxideError
from syncoxide.models import Repository
from syncoxide.orchestration import codec
from syncoxide.orchestration.payload_keys import PayloadKey, load_keys

POLICY_ID = SearchAttributeKey.for_keyword("PolicyId")
REPOSITORY_ID = SearchAttributeKey.for_keyword("RepositoryId")
ENGINE = SearchAttributeKey.for_keyword("Engine")
RUN_KIND = SearchAttributeKey.for_keyword("RunKind")
SOURCE_ID = SearchAttributeKey.for_keyword("SourceId")
SEARCH_ATTRIBUTES = [POLICY_ID, REPOSITORY_ID, ENGINE, RUN_KIND, SOURCE_ID]
CONNECT_TIMEOUT_S = 10
POLL_S = 0.5
OUTAGE_TOLERANCE_S = 300

R = TypeVar("R", bound=BaseModel)
ProgressFn = Callable[[Progress], None]


class RunFailed(SyncoxideError):
    """The workflow ran and failed; the message is the cause the user should read."""

    def __init__(self, message: str, error_type: str):
        super().__init__(message)
        self.error_type = error_type


class RunCancelled(SyncoxideError):
    """The workflow was cancelled (from the CLI, the Temporal CLI or the Web UI)."""


def data_converter(settings: Settings, *, worker: bool = False) -> DataConverter:
    """The sealed data converter; a worker never opens plaintext payloads, whatever the settings say."""

    def keys() -> list[PayloadKey]:
        return load_keys(settings.payload_keys, settings.home)

    return codec.data_converter(keys(), plaintext_reads=settings.payload_plaintext_reads and not worker, reload=keys)


async def connect(settings: Settings, runtime: Runtime | None = None, *, worker: bool = False) -> Client:
    converter = data_converter(settings, worker=worker)
    try:
        return await asyncio.wait_for(
            Client.connect(
                settings.temporal_target,
                namespace=settings.namespace,
                data_converter=converter,
                runtime=runtime,
            ),
            timeout=CONNECT_TIMEOUT_S,
        )
    except (RuntimeError, OSError, TimeoutError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "timed out"
        raise ServiceUnavailable(f"cannot reach Temporal at {settings.temporal_target}: {reason}") from None


def new_run_id(kind: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{kind}-{stamp}-{secrets.token_hex(3)}"


def search_attributes(
    kind: str, repository: Repository | None, policy_id: str | None, source_id: str | None = None
) -> TypedSearchAttributes:
    pairs = [SearchAttributePair(RUN_KIND, str(kind))]
    if repository is not None:
        pairs.append(SearchAttributePair(REPOSITORY_ID, repository.id))
        pairs.append(SearchAttributePair(ENGINE, repository.engine.value))
    if source_id:
        pairs.append(SearchAttributePair(SOURCE_ID, source_id))
    if policy_id:
        pairs.append(SearchAttributePair(POLICY_ID, policy_id))
    return TypedSearchAttributes(pairs)


async def start(
    client: Client,
    settings: Settings,
    kind: str,
    repository: Repository | None,
    request: BaseModel,
    *,
    policy_id: str | None = None,
    source_id: str | None = None,
    run_id: str | None = None,
    memo: dict[str, str] | None = None,
) -> WorkflowHandle:
    """Start the workflow for ``kind``; its id is the run id, its search attributes say what it is. A run id
    chosen by the caller (an API idempotency key's) is never reused, even after that run ended:
    WorkflowAlreadyStartedError says it was started before."""
    spec = contract.WORKFLOW_FOR_RUN[kind]
    return await client.start_workflow(
        spec.name,
        request,
        id=run_id or new_run_id(kind),
        task_queue=settings.task_queue,
        result_type=spec.result,
        search_attributes=search_attributes(kind, repository, policy_id, source_id),
        execution_timeout=spec.execution_timeout,
        memo=memo,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE if run_id else WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )


async def heartbeat(handle: WorkflowHandle) -> dict | None:
    """The latest heartbeat details of the workflow's running activity, if any."""
    description = await handle.describe()
    for pending in description.raw_description.pending_activities:
        if pending.heartbeat_details.payloads:
            details = await description.data_converter.decode(pending.heartbeat_details.payloads)
            if details and isinstance(details[0], dict):
                return details[0]
    return None


async def current_progress(handle: WorkflowHandle) -> Progress | None:
    """The latest heartbeat of the workflow's running engine activity, if any."""
    details = await heartbeat(handle)
    return Progress.model_validate(details) if details is not None else None


class RunningRun(BaseModel):
    id: str
    workflow: str
    started_at: datetime | None
    progress: Progress | None = None


async def running(client: Client, limit: int = 20) -> list[RunningRun]:
    """Workflows running now, newest first, each with its latest heartbeat progress."""
    found = []
    async for execution in client.list_workflows("ExecutionStatus='Running'", limit=limit):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        try:
            progress = await current_progress(handle)
        except RPCError:
            progress = None
        found.append(
            RunningRun(
                id=execution.id, workflow=execution.workflow_type, started_at=execution.start_time, progress=progress
            )
        )
    return found


class RunState(BaseModel):
    """Where a run is, for pages that poll instead of waiting: running (with progress), or its outcome."""

    status: str = Field(description="running, succeeded, failed or cancelled")
    progress: Progress | None = None
    result: dict | None = None
    error: str | None = None


async def poll(client: Client, run_id: str) -> RunState:
    handle = client.get_workflow_handle(run_id)
    description = await handle.describe()
    if description.status == WorkflowExecutionStatus.RUNNING:
        return RunState(status="running", progress=await current_progress(handle))
    try:
        result = await handle.result()
    except WorkflowFailureError as exc:
        cause = exc.cause
        while (deeper := getattr(cause, "cause", None)) is not None and not isinstance(cause, ApplicationError):
            cause = deeper
        if isinstance(cause, CancelledError) or description.status == WorkflowExecutionStatus.CANCELED:
            return RunState(status="cancelled", error="cancelled")
        return RunState(status="failed", error=getattr(cause, "message", None) or str(cause or exc))
    return RunState(status="succeeded", result=result if isinstance(result, dict) else result.model_dump(mode="json"))


async def _result_riding_out_outages(handle: WorkflowHandle):
    """The workflow's result; a Temporal server that is briefly away (a restart) is waited for."""
    deadline = asyncio.get_running_loop().time() + OUTAGE_TOLERANCE_S
    while True:
        try:
            return await handle.result()
        except RPCError as exc:
            if exc.status != RPCStatusCode.UNAVAILABLE or asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(1)


async def wait(handle: WorkflowHandle, result_type: type[R], on_progress: ProgressFn | None = None) -> R:
    """Wait for the result, reporting progress; failures become RunFailed with the cause's message."""
    outcome = asyncio.ensure_future(_result_riding_out_outages(handle))
    try:
        while not outcome.done():
            if on_progress:
                try:
                    progress = await current_progress(handle)
                except RPCError:
                    progress = None  # progress is best effort; the result wait decides
                if progress:
                    on_progress(progress)
            await asyncio.wait([outcome], timeout=POLL_S)
        result = outcome.result()
    except WorkflowFailureError as exc:
        cause = exc.cause
        while (deeper := getattr(cause, "cause", None)) is not None and not isinstance(cause, ApplicationError):
            cause = deeper
        if isinstance(cause, CancelledError):
            raise RunCancelled(f"run {handle.id} was cancelled") from None
        if isinstance(cause, ApplicationError):
            raise RunFailed(cause.message, cause.type or "ApplicationError") from None
        raise RunFailed(str(cause or exc), type(cause).__name__) from None
    finally:
        outcome.cancel()
    return result_type.model_validate(result) if not isinstance(result, result_type) else result


async def cancel(client: Client, run_id: str) -> None:
    try:
        await client.get_workflow_handle(run_id).cancel()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise NotFound(f"no running run with id {run_id}") from None
        raise


def workflow_url(settings: Settings, run_id: str) -> str:
    return f"{settings.temporal_ui_url}/namespaces/{settings.namespace}/workflows/{run_id}"
