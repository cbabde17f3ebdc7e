"""BackupWorkflow: record the run, hooks around the engine backup, notify, then retention if asked."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from syncoxide.contract import temporal as contract
    from syncoxide.contract.payloads import (
        BackupActivityInput,
        BackupRequest,
        BackupResult,
        FinishRunInput,
        HookInput,
        NotifyRunInput,
        StartRunInput,
    )
    from syncoxide.models import Repository, RunKind, RunStatus
    from workflows.catalog import start_ingest
    from workflows.common import (
        call,
        finish_run,
        record_failure,
        start_run,
    )
    from workflows.maintenance import retention_step

HOOK_GRACE = timedelta(seconds=30)


async def _hooks(request: BackupRequest, repository: Repository, run_id: str, stage: str) -> None:
    hooks = request.hooks
    commands = getattr(hooks, stage) if hooks else []
    if not hooks or not commands:
        return
    await call(
        contract.RUN_HOOKS,
        HookInput(
            parent_run_id=run_id,
            repository_id=repository.id,
            policy_id=request.policy_id,
            stage=stage,
            commands=commands,
            timeout_s=hooks.timeout_s,
        ),
        start_to_close=timedelta(seconds=hooks.timeout_s * len(commands)) + HOOK_GRACE,
    )


async def _notify(request: BackupRequest, run_id: str, status: RunStatus, error: str | None = None) -> None:
    if not request.notify or not request.notify.urls:
        return
    try:
        await call(
            contract.NOTIFY_RUN,
            NotifyRunInput(
                run_id=run_id, policy_id=request.policy_id, status=status, error=error, notify=request.notify
            ),
        )
    except ActivityError as failed:  # a notification that cannot be sent must not change the run's outcome
        workflow.logger.warning("notification for %s failed: %s", run_id, failed)


@workflow.defn(name=contract.BACKUP.name)
class BackupWorkflow:
    @workflow.run
    async def run(self, request: BackupRequest) -> BackupResult:
        run_id = workflow.info().workflow_id
        details = request.model_dump(mode="json", include={"sources", "options", "stream", "database"})
        repository = await start_run(
            StartRunInput(
                run_id=run_id,
                kind=RunKind.backup,
                repository_id=request.repository_id,
                policy_id=request.policy_id,
                details=details,
            )
        )
        try:
            try:
                await _hooks(request, repository, run_id, "before")
                result = await call(
                    contract.BACKUP_ACTIVITY, BackupActivityInput(run_id=run_id, repository=repository, request=request)
                )
                await _hooks(request, repository, run_id, "after")
            except (ActivityError, asyncio.CancelledError) as error:  # the hooks' and the engine's, recorded once
                failure = await record_failure(run_id, error)
                if failure is None:
                    raise
                raise failure from None
        except ApplicationError as failure:
            try:
                await _hooks(request, repository, run_id, "on_failure")
            except ActivityError as hook_error:
                workflow.logger.warning("on_failure hooks of %s failed: %s", run_id, hook_error)
            await _notify(request, run_id, RunStatus.failed, failure.message)
            raise
        await finish_run(
            FinishRunInput(
                run_id=run_id,
                status=RunStatus.succeeded,
                files=result.stats.files,
                bytes=result.stats.bytes,
                added_bytes=result.stats.added_bytes,
                snapshot_id=result.snapshot_id,
                warnings=result.stats.warnings,
            )
        )
        await _notify(request, run_id, RunStatus.succeeded)
        retention = None
        own = request.retention is not None and not request.retention.empty
        policy = request.retention if own else repository.retention
        if policy is not None and not policy.empty:
            try:
                retention = await retention_step(
                    repository,
                    policy,
                    compact=True,
                    passphrase=request.passphrase,
                    only_policy=request.policy_id if own else None,
                )
            except (ApplicationError, ActivityError) as error:  # its run records why; the backup stands
                workflow.logger.warning("retention after backup %s failed: %s", run_id, error.message)
        await start_ingest(repository.id, None, request.passphrase)
        return BackupResult(run_id=run_id, snapshot_id=result.snapshot_id, stats=result.stats, retention=retention)
