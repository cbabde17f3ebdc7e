"""What there is to know about sync pairs at a glance: each pair's mode and sides (PostgreSQL), whether
its SyncWorkflow runs and where it is (the status query, the running pass's heartbeat), and its latest
run. The dashboard's Sync page and the API's /api/v1/sync/pairs show this.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError

from syncoxide.config import Settings
from syncoxide.contract.payloads import Progress
from syncoxide.errors import NotFound
from syncoxide.orchestration import sync_client
from syncoxide.secrets.in_locations import redacted
from syncoxide.store import open_store
from syncoxide.store import sync as store


@dataclass
class PairStatus:
    pair: str
    workflow_id: str
    mode: str
    source: str
    destination: str
    origin: str | None
    """file:line of the policy file that declares it; None for a pair made with `syncoxide sync`"""
    state: str
    """the workflow's phase (running, waiting, paused, ...), `stopped` without a workflow, `no answer` when
    the worker does not answer the query"""
    running: bool = False
    paused: bool = False
    schedule: str | None = None
    """when the workflow runs passes: `once`, `every 1h`, `cron 0 3 * * * (UTC)`"""
    next_pass: str | None = None
    """when the waiting workflow's next pass is due (ISO 8601, UTC)"""
    passes: int | None = None
    error: str | None = None
    """the workflow's last pass error (cleared by a pass that works)"""
    progress: Progress | None = None
    """the running pass's latest heartbeat (actions count as files; in_flight: what is moving now)"""
    last_run: dict[str, Any] | None = None
    """the latest recorded run: id, status, dry_run, started_at, finished_at, summary, error"""


LAST_RUN = ("status", "dry_run", "started_at", "finished_at", "summary", "error")


def _last_run(row: dict[str, Any]) -> dict[str, Any] | None:
    if row["last_run"] is None:
        return None
    return {"id": row["last_run"], **{key: row[f"last_{key}"] for key in LAST_RUN}}


async def _live(client: Client, status: PairStatus) -> None:
    try:
        found = await sync_client.status(client, status.workflow_id)
        if found.phase == "running":
            status.progress = await sync_client.progress(client, status.workflow_id)
    except NotFound:  # it ended meanwhile
        status.running = False
        return
    except RPCError:
        status.state = "no answer"
        return
    status.state, status.paused, status.passes, status.error = found.phase, found.paused, found.runs, found.error
    status.schedule = found.schedule
    status.next_pass = found.next_pass.isoformat() if found.next_pass else None


async def gather(settings: Settings, client: Client) -> list[PairStatus]:
    """Every pair, most recently active first; a pair whose workflow runs carries its live state."""
    with open_store(settings) as conn:
        rows = store.pairs_with_last_run(conn)
    running = set(await sync_client.running(client))
    found = []
    for row in rows:
        wid = sync_client.workflow_id(row["id"])
        status = PairStatus(
            pair=row["id"],
            workflow_id=wid,
            mode=row["mode"],
            source=redacted(row["source"]["location"]),
            destination=redacted(row["destination"]["location"]),
            origin=row["origin"],
            state="stopped",
            running=wid in running,
            last_run=_last_run(row),
        )
        if status.running:
            await _live(client, status)
        found.append(status)
    return found


async def refresh(client: Client, status: PairStatus) -> PairStatus:
    """The same pair with its workflow's state read again (for a page that follows one pair)."""
    fresh = replace(
        status,
        state="stopped",
        running=await sync_client.is_running(client, status.workflow_id),
        progress=None,
        next_pass=None,
    )
    if fresh.running:
        await _live(client, fresh)
    return fresh
