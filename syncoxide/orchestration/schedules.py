"""Temporal Schedules for policies (backups) and repositories (checks): the schedule half of the client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio.api.common.v1 import Payload
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from syncoxide.config import Settings
from syncoxide.contract import temporal as contract
from syncoxide.contract.payloads import BackupRequest, HealthRequest, MaintenanceRequest, ScanRequest
from syncoxide.errors import NotFound
from syncoxide.models import Repository, RunKind, Source, parse_duration, parse_interval
from syncoxide.orchestration.client import search_attributes
from syncoxide.orchestration.codec import ENCODING, KEY_ID, EncryptionCodec

POLICY_PREFIX = "policy-"
CHECK_PREFIX = "check-"
SCAN_PREFIX = "scan-"
_OVERLAP = {"skip": ScheduleOverlapPolicy.SKIP, "buffer-one": ScheduleOverlapPolicy.BUFFER_ONE}


def policy_schedule_id(policy: str) -> str:
    return f"{POLICY_PREFIX}{policy}"


def check_schedule_id(repository: str, level: str) -> str:
    return f"{CHECK_PREFIX}{repository}-{level}"


@dataclass
class Timing:
    cron: str | None = None
    every: str | None = None
    time_zone: str = "UTC"
    jitter: str | None = None


def _spec(timing: Timing) -> ScheduleSpec:
    return ScheduleSpec(
        cron_expressions=[timing.cron] if timing.cron else [],
        intervals=[ScheduleIntervalSpec(every=parse_interval(timing.every))] if timing.every else [],
        jitter=parse_duration(timing.jitter) if timing.jitter else None,
        time_zone_name=timing.time_zone,
    )


def backup_schedule(
    settings: Settings,
    policy: str,
    request: BackupRequest,
    repository: Repository,
    timing: Timing,
    *,
    overlap: str,
    catchup_window: str,
    pause_on_failure: bool,
    paused: bool,
) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            contract.BACKUP.name,
            request,
            id=f"backup-{policy}",
            task_queue=settings.task_queue,
            typed_search_attributes=search_attributes(RunKind.backup, repository, policy),
        ),
        spec=_spec(timing),
        policy=SchedulePolicy(
            overlap=_OVERLAP[overlap],
            catchup_window=parse_duration(catchup_window),
            pause_on_failure=pause_on_failure,
        ),
        state=ScheduleState(paused=paused, note=f"syncoxide policy {policy}"),
    )


def check_schedule(settings: Settings, repository: Repository, request: MaintenanceRequest, every: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            contract.MAINTENANCE.name,
            request,
            id=f"maintenance-{repository.name}-{request.check}",
            task_queue=settings.task_queue,
            typed_search_attributes=search_attributes("maintenance", repository, None),
        ),
        spec=_spec(Timing(every=every)),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=1)),
        state=ScheduleState(note=f"syncoxide {request.check} check of {repository.name}"),
    )


def scan_schedule_id(source: str) -> str:
    return f"{SCAN_PREFIX}{source}"


def scan_schedule(settings: Settings, source: Source, timing: Timing) -> Schedule:
    """CatalogScanWorkflow of one source on a cron or interval, never two at once."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            contract.CATALOG_SCAN.name,
            ScanRequest(source_id=source.id),
            id=f"scan-{source.name}",
            task_queue=settings.task_queue,
            typed_search_attributes=search_attributes(RunKind.scan, None, None, source.id),
        ),
        spec=_spec(timing),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=1)),
        state=ScheduleState(note=f"syncoxide catalog scan of {source.name}"),
    )


async def reseal(client: Client, codec: EncryptionCodec) -> list[str]:
    """Seal the stored input of every syncoxide schedule again with the current sealing key.

    For schedules made before the payload codec (plaintext inputs, which workers refuse) and before
    dropping an old key. A stored input is kept as Temporal holds it (raw payloads go back verbatim),
    so this opens what it can and seals it anew; returns the ids of the schedules it rewrote.
    """
    resealed = []
    ids = [
        e.id
        async for e in await client.list_schedules()
        if e.id.startswith((POLICY_PREFIX, CHECK_PREFIX, SCAN_PREFIX)) or e.id == HEALTH_SCHEDULE_ID
    ]
    for schedule_id in ids:
        changed = False

        def sealed_anew(current: ScheduleUpdateInput) -> ScheduleUpdate | None:
            nonlocal changed
            action = current.description.schedule.action
            if not isinstance(action, ScheduleActionStartWorkflow):
                return None
            payloads = [a for a in action.args if isinstance(a, Payload)]
            if all(p.metadata.get(KEY_ID) == codec.sealing_key_id.encode() for p in payloads):
                return None
            action.args = [codec.seal(codec.open(p) if p.metadata.get("encoding") == ENCODING else p) for p in payloads]
            changed = True
            return ScheduleUpdate(schedule=current.description.schedule)

        await client.get_schedule_handle(schedule_id).update(sealed_anew)
        if changed:
            resealed.append(schedule_id)
    return resealed


async def managed_ids(client: Client) -> set[str]:
    """Ids of the schedules syncoxide manages (policies' backups, repositories' checks)."""
    return {e.id async for e in await client.list_schedules() if e.id.startswith((POLICY_PREFIX, CHECK_PREFIX))}


async def put(client: Client, schedule_id: str, schedule: Schedule, *, exists: bool) -> None:
    if not exists:
        try:
            await client.create_schedule(schedule_id, schedule)
            return
        except ScheduleAlreadyRunningError:
            pass

    def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(schedule=schedule)

    await client.get_schedule_handle(schedule_id).update(replace)


async def delete(client: Client, schedule_id: str) -> None:
    try:
        await client.get_schedule_handle(schedule_id).delete()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise


@dataclass
class ScheduleView:
    id: str
    paused: bool
    next_runs: list[datetime]
    last_run: datetime | None
    note: str


async def describe(client: Client, schedule_id: str) -> ScheduleView:
    try:
        description = await client.get_schedule_handle(schedule_id).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise NotFound(f"no schedule {schedule_id} (apply the policy file first)") from None
        raise
    info = description.info
    recent = info.recent_actions
    return ScheduleView(
        id=schedule_id,
        paused=description.schedule.state.paused,
        next_runs=list(info.next_action_times),
        last_run=recent[-1].started_at if recent else None,
        note=description.schedule.state.note or "",
    )


async def pause(client: Client, schedule_id: str, note: str) -> None:
    await client.get_schedule_handle(schedule_id).pause(note=note)


async def resume(client: Client, schedule_id: str, note: str) -> None:
    await client.get_schedule_handle(schedule_id).unpause(note=note)


async def trigger(client: Client, schedule_id: str) -> None:
    await client.get_schedule_handle(schedule_id).trigger(overlap=ScheduleOverlapPolicy.ALLOW_ALL)


HEALTH_SCHEDULE_ID = "syncoxide-health"


async def ensure_health_schedule(client: Client, settings: Settings) -> None:
    """The schedule of HealthWorkflow (late notifications), every settings.health_every; made once."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            contract.HEALTH.name, HealthRequest(), id="health", task_queue=settings.task_queue
        ),
        spec=_spec(Timing(every=settings.health_every)),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        state=ScheduleState(note="syncoxide: notify about late policies"),
    )
    try:
        await client.create_schedule(HEALTH_SCHEDULE_ID, schedule)
    except ScheduleAlreadyRunningError:  # made before: its input sealed again with the current key

        def reseal(current: ScheduleUpdateInput) -> ScheduleUpdate:
            schedule.state = current.description.schedule.state
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(HEALTH_SCHEDULE_ID).update(reseal)
