"""A BackupWorkflow changed the way a careless edit would change it: the hooks dropped and the run recorded after
the engine step instead of before it. Replaying a recorded backup with it must fail (test_replay.py)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from syncoxide.contract import temporal as contract
    from syncoxide.contract.payloads import BackupActivityInput, BackupRequest, BackupResult, StartRunInput
    from syncoxide.models import RunKind
    from workflows.common import call


@workflow.defn(name=contract.BACKUP.name)
class ReorderedBackupWorkflow:
    @workflow.run
    async def run(self, request: BackupRequest) -> BackupResult:
        run_id = workflow.info().workflow_id
        repository = await call(contract.GET_REPOSITORY, request.repository_id)
        result = await call(
            contract.BACKUP_ACTIVITY, BackupActivityInput(run_id=run_id, repository=repository, request=request)
        )
        await call(
            contract.START_RUN, StartRunInput(run_id=run_id, kind=RunKind.backup, repository_id=request.repository_id)
        )
        return BackupResult(run_id=run_id, snapshot_id=result.snapshot_id, stats=result.stats)
