"""MaintenanceWorkflow: retention (then compact) and/or a check, each recorded as its own run."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from syncoxide.contract import temporal as contract
    from syncoxide.contract.payloads import (
        CheckActivityInput,
        CheckResult,
        FinishRunInput,
        MaintenanceRequest,
        MaintenanceResult,
        RetentionActivityInput,
        RetentionOutcome,
        StartRunInput,
    )
    from syncoxide.models import Repository, Retention, RunKind, RunStatus
    from syncoxide.secrets import SecretRef
    from workflows.catalog import start_ingest
    from workflows.common import engine_step, finish_run, load_repository, start_run


async def retention_step(
    repository: Repository,
    retention: Retention,
    *,
    compact: bool,
    passphrase: SecretRef | None,
    only_policy: str | None = None,
) -> RetentionOutcome:
    workflow_id = workflow.info().workflow_id
    run_id = f"{workflow_id}-retention"
    details = {"retention": retention.model_dump(mode="json"), "compact": compact, "policy": only_policy}
    await start_run(
        StartRunInput(
            run_id=run_id,
            kind=RunKind.retention,
            repository_id=repository.id,
            policy_id=only_policy,
            details=details,
            workflow_id=workflow_id,
        )
    )
    result = await engine_step(
        run_id,
        contract.RETENTION_ACTIVITY,
        RetentionActivityInput(
            run_id=run_id,
            repository=repository,
            retention=retention,
            compact=compact,
            only_policy=only_policy,
            passphrase=passphrase,
        ),
    )
    await finish_run(FinishRunInput(run_id=run_id, status=RunStatus.succeeded, files=len(result.deleted)))
    return RetentionOutcome(run_id=run_id, kept=result.kept, deleted=result.deleted)


async def check_step(
    repository: Repository, *, verify_data: bool, subset_percent: float | None, passphrase: SecretRef | None
) -> tuple[str, CheckResult]:
    workflow_id = workflow.info().workflow_id
    run_id = f"{workflow_id}-check"
    details = {"verify_data": verify_data, "subset_percent": subset_percent}
    await start_run(
        StartRunInput(
            run_id=run_id, kind=RunKind.check, repository_id=repository.id, details=details, workflow_id=workflow_id
        )
    )
    result = await engine_step(
        run_id,
        contract.CHECK_ACTIVITY,
        CheckActivityInput(
            run_id=run_id,
            repository=repository,
            verify_data=verify_data,
            subset_percent=subset_percent,
            passphrase=passphrase,
        ),
    )
    if result.ok:
        await finish_run(FinishRunInput(run_id=run_id, status=RunStatus.succeeded))
        return run_id, result
    message = (
        f"check ({result.level}) of repository {repository.name} found {len(result.problems)} problem(s),"
        f" first: {result.problems[0] if result.problems else 'see the engine log'}"
    )
    await finish_run(FinishRunInput(run_id=run_id, status=RunStatus.failed, error=message))
    raise ApplicationError(message, type="CheckFailed", non_retryable=True)


@workflow.defn(name=contract.MAINTENANCE.name)
class MaintenanceWorkflow:
    @workflow.run
    async def run(self, request: MaintenanceRequest) -> MaintenanceResult:
        repository = await load_repository(request.repository_id)
        result = MaintenanceResult()
        retention = request.retention or repository.retention
        if request.apply_retention and retention is not None and not retention.empty:
            result.retention = await retention_step(
                repository, retention, compact=request.compact, passphrase=request.passphrase
            )
            await start_ingest(repository.id, None, request.passphrase)
        if request.check != "none":
            result.check_run_id, result.check = await check_step(
                repository,
                verify_data=request.check == "data",
                subset_percent=request.subset_percent,
                passphrase=request.passphrase,
            )
        return result
