"""RestoreWorkflow: record the run, restore and verify through the engine, record the outcome."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from syncoxide.contract import temporal as contract
    from syncoxide.contract.payloads import (
        FinishRunInput,
        RestoreActivityInput,
        RestoreRequest,
        RestoreResult,
        StartRunInput,
    )
    from syncoxide.models import RunKind, RunStatus
    from workflows.common import engine_step, finish_run, start_run


@workflow.defn(name=contract.RESTORE.name)
class RestoreWorkflow:
    @workflow.run
    async def run(self, request: RestoreRequest) -> RestoreResult:
        run_id = workflow.info().workflow_id
        details = request.model_dump(mode="json", include={"snapshot_id", "target", "paths", "overwrite"})
        repository = await start_run(
            StartRunInput(run_id=run_id, kind=RunKind.restore, repository_id=request.repository_id, details=details)
        )
        result = await engine_step(
            run_id,
            contract.RESTORE_ACTIVITY,
            RestoreActivityInput(run_id=run_id, repository=repository, request=request),
        )
        await finish_run(
            FinishRunInput(
                run_id=run_id,
                status=RunStatus.succeeded,
                files=result.files,
                bytes=result.bytes,
                snapshot_id=request.snapshot_id,
            )
        )
        return RestoreResult(
            run_id=run_id,
            snapshot_id=request.snapshot_id,
            target=request.target,
            files=result.files,
            bytes=result.bytes,
            verified=result.verified,
            kept=result.kept,
        )
