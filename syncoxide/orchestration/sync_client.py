"""The sync half of the client: start, stop, signal and query the SyncWorkflow of a sync pair.

`syncoxide sync start|stop|pause|resume|now|status`, `policy apply` and the dashboard's Sync page
all come through here. A pair's workflow id is ``sync-<pair>``.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from syncoxide.config import Settings
from syncoxide.contract import temporal as contract
from syncoxide.contract.payloads import Progress, SyncStatus, SyncWorkflowInput
from syncoxide.errors import InvalidInput, NotFound
from syncoxide.orchestration.client import current_progress, search_attributes
from syncoxide.store import open_store
from syncoxide.store import sync as store
from syncoxide.sync.cadence import Cadence
from syncoxide.sync.models import SyncRequest
from syncoxide.sync.runner import pair_id

PREFIX = "sync-"
STOP_WAIT_S = 120
QUERY_TIMEOUT = timedelta(seconds=5)


def workflow_id(pair: str) -> str:
    return f"{PREFIX}{pair}"


def pair_of(workflow: str) -> str:
    return workflow.removeprefix(PREFIX)


async def start(
    client: Client, settings: Settings, request: SyncRequest, cadence: Cadence | None = None, *, paused: bool = False
) -> str:
    """Start the pair's SyncWorkflow: one pass, or continuously (every so long, or on a cron); returns its id.
    The pair is recorded first, so it is listed (the dashboard's Sync page) before its first pass, and a name
    taken by another pair is refused before anything starts."""
    wid = workflow_id(pair_id(request))
    with open_store(settings) as conn:
        store.ensure_pair(
            conn,
            pair_id(request),
            request.mode.value,
            request.source.model_dump(mode="json"),
            request.destination.model_dump(mode="json"),
        )
    data = SyncWorkflowInput(request=request, paused=paused, **(cadence or Cadence()).model_dump())
    try:
        handle = await client.start_workflow(
            contract.SYNC.name,
            data,
            id=wid,
            task_queue=settings.task_queue,
            search_attributes=search_attributes("sync", None, None),
        )
    except WorkflowAlreadyStartedError:
        raise InvalidInput(
            f"sync pair {pair_id(request)} is already running as {wid} (stop it first: syncoxide sync stop {wid})"
        ) from None
    return handle.id


async def is_running(client: Client, wid: str) -> bool:
    try:
        description = await client.get_workflow_handle(wid).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return description.status == WorkflowExecutionStatus.RUNNING


async def running(client: Client) -> list[str]:
    """Ids of the SyncWorkflows running now (from Temporal's visibility, which may lag a second)."""
    query = f"WorkflowType='{contract.SYNC.name}' AND ExecutionStatus='Running'"
    return [execution.id async for execution in client.list_workflows(query)]


async def stop(client: Client, wid: str, wait_s: float = STOP_WAIT_S) -> None:
    """Cancel the workflow and wait until it has ended: a running pass stops between chunks, its
    checkpoints kept for the next run. A pass that does not stop in ``wait_s`` is terminated."""
    if not await is_running(client, wid):
        raise NotFound(f"no running sync workflow {wid}")
    handle = client.get_workflow_handle(wid)
    await handle.cancel()
    try:
        await asyncio.wait_for(handle.result(), wait_s)
    except WorkflowFailureError:
        pass  # cancelled, as asked
    except TimeoutError:
        await handle.terminate(f"did not stop within {wait_s:.0f} s of being cancelled")


async def signal(client: Client, wid: str, name: str) -> None:
    names = [known.name for known in contract.SYNC_SIGNALS]
    if name not in names:
        raise InvalidInput(f"signal {name!r}: must be one of {', '.join(names)}")
    if not await is_running(client, wid):
        raise NotFound(f"no running sync workflow {wid}")
    await client.get_workflow_handle(wid).signal(name)


async def run_now(client: Client, settings: Settings, wid: str) -> bool:
    """A pass now. A running workflow is signalled (True); one that has ended (a one-pass pair, or a
    stopped one) runs one more pass with the request it last ran with (False)."""
    if await is_running(client, wid):
        await client.get_workflow_handle(wid).signal(contract.SYNC_RUN_NOW.name)
        return True
    last = await last_input(client, wid)
    await start(client, settings, last.request)
    return False


async def last_input(client: Client, wid: str) -> SyncWorkflowInput:
    """What the workflow's latest run was started with (after continue-as-new: what it carried on with)."""
    try:
        history = await client.get_workflow_handle(wid).fetch_history()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise NotFound(f"no sync workflow {wid}") from None
        raise
    started = history.events[0].workflow_execution_started_event_attributes
    [data] = await client.data_converter.decode(started.input.payloads, [SyncWorkflowInput])
    return data


async def status(client: Client, wid: str) -> SyncStatus:
    """The workflow's status query: phase, paused, runs, last summary, last error."""
    query = contract.SYNC_STATUS
    try:
        return await client.get_workflow_handle(wid).query(
            query.name, result_type=query.result, rpc_timeout=QUERY_TIMEOUT
        )
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise NotFound(f"no sync workflow {wid}") from None
        raise


async def progress(client: Client, wid: str) -> Progress | None:
    """The running pass's latest heartbeat: phase, actions and bytes done/total, files in flight."""
    return await current_progress(client.get_workflow_handle(wid))
