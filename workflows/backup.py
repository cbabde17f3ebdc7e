"""BackupWorkflow: record the run, back up through the engine, record the outcome."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.inputs import BackupActivityInput, BackupActivityResult, FinishRunInput, StartRunInput
    from syncoxide.models import BackupRequest, BackupResult, RunKind, RunStatus
    from workflows.common import engine_step, finish_run, start_run
    from workflows.maintenance import retention_step


@workflow.defn(name="BackupWorkflow")
class BackupWorkflow:
    @workflow.run
    async def run(self, request: BackupRequest) -> BackupResult:
        run_id = workflow.info().workflow_id
        details = request.model_dump(mode="json", include={"sources", "options", "stream"})
        repository = await start_run(
            StartRunInput(
                run_id=run_id,
                kind=RunKind.backup,
                repository_id=request.repository_id,
                policy_id=request.policy_id,
                details=details,
            )
        )
        result = await engine_step(
            run_id,
            "backup",
            BackupActivityInput(run_id=run_id, repository=repository, request=request),
            BackupActivityResult,
        )
        await finish_run(
            FinishRunInput(
                run_id=run_id,
                status=RunStatus.succeeded,
                files=result.stats.files,
                bytes=result.stats.bytes,
                added_bytes=result.stats.added_bytes,
                snapshot_id=result.snapshot_id,
            )
        )
        retention = None
        if repository.retention is not None and not repository.retention.empty:
            try:
                retention = await retention_step(
                    repository, repository.retention, compact=True, passphrase=request.passphrase
                )
            except ApplicationError as error:  # recorded as a failed retention run; the backup stands
                workflow.logger.warning("retention after backup %s failed: %s", run_id, error.message)
        return BackupResult(run_id=run_id, snapshot_id=result.snapshot_id, stats=result.stats, retention=retention)
