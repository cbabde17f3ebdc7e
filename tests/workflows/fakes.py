"""Fake activities under the contract's names and types (``contract.implements`` checks them at import), so the
real workflows run on a real Temporal server against a script instead of engines, PostgreSQL and hooks.

Every call is recorded with the workflow that made it and the task queue it arrived on. A test changes what an
activity does through ``FakeActivities.on(spec, behaviour)``: a behaviour takes the activity's input and returns
its result or raises; it may be a coroutine function (it runs inside the activity, so it may heartbeat).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from syncoxide.contract import temporal as contract
from syncoxide.contract.payloads import (
    BackupActivityInput,
    BackupActivityResult,
    BackupStats,
    CatalogIngestInput,
    CheckActivityInput,
    CheckResult,
    CleanupRequest,
    CleanupResult,
    FinishRunInput,
    HookInput,
    IngestSummary,
    NotifyRunInput,
    RestoreActivityInput,
    RestoreActivityResult,
    RetentionActivityInput,
    RetentionActivityResult,
    ScanActivityInput,
    ScanSummary,
    StartRunInput,
    SyncActivityInput,
    SyncSummary,
)
from syncoxide.models import Engine, Repository, Retention
from syncoxide.secrets import SecretRef

implements = contract.implements


@dataclass
class Call:
    name: str
    workflow_id: str
    queue: str
    data: Any
    attempt: int
    at: float = field(default_factory=time.monotonic)


def repository(retention: Retention | None = None) -> Repository:
    return Repository(
        id="repo-1",
        name="photos",
        engine=Engine.restic,
        location="/srv/backups/photos",
        passphrase=SecretRef(kind="env", value="PHOTOS_PASSPHRASE"),
        retention=retention,
    )


def fail(message: str, kind: str = "EngineFailed") -> Callable[[Any], Any]:
    """A behaviour that fails the activity for good (non-retryable), as activities/ map a core error."""

    def behaviour(_data: Any) -> Any:
        raise ApplicationError(message, type=kind, non_retryable=True)

    return behaviour


async def until_cancelled(_data: Any) -> Any:
    """A behaviour that works (heartbeating) until Temporal cancels the activity."""
    while True:
        activity.heartbeat()
        await asyncio.sleep(0.05)


class FakeActivities:
    def __init__(self, repository: Repository | None = None):
        self.repository = repository or globals()["repository"]()
        self.calls: list[Call] = []
        self.behaviours: dict[str, Callable[[Any], Any]] = {}

    def on(self, spec: contract.Activity, behaviour: Callable[[Any], Any]) -> FakeActivities:
        self.behaviours[spec.name] = behaviour
        return self

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.start_run,
            self.finish_run,
            self.get_repository,
            self.notify_run,
            self.notify_late,
            self.backup,
            self.restore,
            self.retention,
            self.check,
            self.catalog_ingest,
            self.catalog_scan,
            self.cleanup,
            self.run_hooks,
            self.sync_run,
        ]

    # what was called

    def of(self, workflow_id: str) -> list[Call]:
        return [c for c in self.calls if c.workflow_id == workflow_id]

    def names(self, workflow_id: str) -> list[str]:
        return [c.name for c in self.of(workflow_id)]

    def inputs(self, spec: contract.Activity, workflow_id: str | None = None) -> list[Any]:
        return [c.data for c in self.calls if c.name == spec.name and workflow_id in (None, c.workflow_id)]

    def steps(self, workflow_id: str) -> list[str]:
        """The calls of a workflow in order, each said briefly: ``start_run backup``, ``run_hooks before``,
        ``finish_run failed``..."""
        said = []
        for call in self.of(workflow_id):
            data = call.data
            if isinstance(data, StartRunInput):
                said.append(f"start_run {data.kind}")
            elif isinstance(data, FinishRunInput):
                said.append(f"finish_run {data.status}")
            elif isinstance(data, HookInput):
                said.append(f"run_hooks {data.stage}")
            elif isinstance(data, NotifyRunInput):
                said.append(f"notify_run {data.status}")
            else:
                said.append(call.name)
        return said

    async def _do(self, spec: contract.Activity, data: Any) -> Any:
        info = activity.info()
        self.calls.append(Call(spec.name, info.workflow_id or "", info.task_queue, data, info.attempt))
        behaviour = self.behaviours.get(spec.name) or self.default(spec)
        result = behaviour(data)
        if inspect.isawaitable(result):
            result = await result
        return result

    # what each activity returns unless a test says otherwise

    def default(self, spec: contract.Activity) -> Callable[[Any], Any]:
        return getattr(self, f"_default_{spec.name}")

    def _default_start_run(self, data: StartRunInput) -> Repository | None:
        return self.repository if data.repository_id else None

    def _default_finish_run(self, data: FinishRunInput) -> None:
        return None

    def _default_get_repository(self, data: str) -> Repository:
        return self.repository

    def _default_notify_run(self, data: NotifyRunInput) -> list[str]:
        return ["failure" if data.status == "failed" else "success"]

    def _default_notify_late(self, data: None) -> list[str]:
        return ["policy nightly is late"]

    def _default_backup(self, data: BackupActivityInput) -> BackupActivityResult:
        stats = BackupStats(files=12, bytes=3400, added_bytes=1200, duration_s=1.5, warnings=["kept no xattrs"])
        return BackupActivityResult(snapshot_id="snap-1", stats=stats)

    def _default_restore(self, data: RestoreActivityInput) -> RestoreActivityResult:
        return RestoreActivityResult(files=4, bytes=900, verified=4, kept=1)

    def _default_retention(self, data: RetentionActivityInput) -> RetentionActivityResult:
        return RetentionActivityResult(kept=["snap-1"], deleted=["snap-0", "snap-00"])

    def _default_check(self, data: CheckActivityInput) -> CheckResult:
        return CheckResult(ok=True, level="data" if data.verify_data else "metadata")

    def _default_catalog_ingest(self, data: CatalogIngestInput) -> IngestSummary:
        return IngestSummary(repository_id=data.repository.id, ingested=["snap-1"], entries=77)

    def _default_catalog_scan(self, data: ScanActivityInput) -> ScanSummary:
        return ScanSummary(scan_id="scan-1", source_id=data.source_id, files=30, dirs=4, bytes=5000)

    def _default_cleanup(self, data: CleanupRequest) -> CleanupResult:
        return CleanupResult(
            run_id=activity.info().workflow_id or "", plan_id=data.plan_id, action=data.action, moved=3, bytes=640
        )

    def _default_run_hooks(self, data: HookInput) -> int:
        return len(data.commands)

    def _default_sync_run(self, data: SyncActivityInput) -> SyncSummary:
        return SyncSummary(run_id=data.run_id, pair="pair", mode=data.request.mode, transferred_files=2, done=2)

    # the contract's activities, each recording its call and doing what the test said (or its default)

    @implements(contract.START_RUN)
    async def start_run(self, data: StartRunInput) -> Repository | None:
        return await self._do(contract.START_RUN, data)

    @implements(contract.FINISH_RUN)
    async def finish_run(self, data: FinishRunInput) -> None:
        return await self._do(contract.FINISH_RUN, data)

    @implements(contract.GET_REPOSITORY)
    async def get_repository(self, data: str) -> Repository:
        return await self._do(contract.GET_REPOSITORY, data)

    @implements(contract.NOTIFY_RUN)
    async def notify_run(self, data: NotifyRunInput) -> list[str]:
        return await self._do(contract.NOTIFY_RUN, data)

    @implements(contract.NOTIFY_LATE)
    async def notify_late(self) -> list[str]:
        return await self._do(contract.NOTIFY_LATE, None)

    @implements(contract.BACKUP_ACTIVITY)
    async def backup(self, data: BackupActivityInput) -> BackupActivityResult:
        return await self._do(contract.BACKUP_ACTIVITY, data)

    @implements(contract.RESTORE_ACTIVITY)
    async def restore(self, data: RestoreActivityInput) -> RestoreActivityResult:
        return await self._do(contract.RESTORE_ACTIVITY, data)

    @implements(contract.RETENTION_ACTIVITY)
    async def retention(self, data: RetentionActivityInput) -> RetentionActivityResult:
        return await self._do(contract.RETENTION_ACTIVITY, data)

    @implements(contract.CHECK_ACTIVITY)
    async def check(self, data: CheckActivityInput) -> CheckResult:
        return await self._do(contract.CHECK_ACTIVITY, data)

    @implements(contract.CATALOG_INGEST_ACTIVITY)
    async def catalog_ingest(self, data: CatalogIngestInput) -> IngestSummary:
        return await self._do(contract.CATALOG_INGEST_ACTIVITY, data)

    @implements(contract.CATALOG_SCAN_ACTIVITY)
    async def catalog_scan(self, data: ScanActivityInput) -> ScanSummary:
        return await self._do(contract.CATALOG_SCAN_ACTIVITY, data)

    @implements(contract.CLEANUP_ACTIVITY)
    async def cleanup(self, data: CleanupRequest) -> CleanupResult:
        return await self._do(contract.CLEANUP_ACTIVITY, data)

    @implements(contract.RUN_HOOKS)
    async def run_hooks(self, data: HookInput) -> int:
        return await self._do(contract.RUN_HOOKS, data)

    @implements(contract.SYNC_PASS)
    async def sync_run(self, data: SyncActivityInput) -> SyncSummary:
        return await self._do(contract.SYNC_PASS, data)
