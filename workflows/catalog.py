"""Catalog workflows: ingest a repository's snapshots, scan a source, apply or undo a cleanup plan."""

from __future__ import annotations

from temporalio import workflow
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from syncoxide.contract import temporal as contract
    from syncoxide.contract.payloads import (
        CatalogIngestInput,
        CatalogIngestRequest,
        CleanupRequest,
        CleanupResult,
        FinishRunInput,
        IngestSummary,
        ScanActivityInput,
        ScanRequest,
        ScanSummary,
        StartRunInput,
    )
    from syncoxide.models import RunKind, RunStatus
    from workflows.common import engine_step, finish_run, start_run, start_source_run


async def start_ingest(repository_id: str, snapshot_ids: list[str] | None, passphrase=None) -> None:
    """Bring the catalog up to date after a backup or retention, without making the caller wait for it."""
    await workflow.start_child_workflow(
        contract.CATALOG_INGEST.name,
        CatalogIngestRequest(repository_id=repository_id, snapshot_ids=snapshot_ids, passphrase=passphrase),
        id=f"{workflow.info().workflow_id}-catalog",
        parent_close_policy=ParentClosePolicy.ABANDON,
    )


@workflow.defn(name=contract.CATALOG_INGEST.name)
class CatalogIngestWorkflow:
    @workflow.run
    async def run(self, request: CatalogIngestRequest) -> IngestSummary:
        run_id = workflow.info().workflow_id
        details = request.model_dump(mode="json", include={"snapshot_ids"})
        repository = await start_run(
            StartRunInput(run_id=run_id, kind=RunKind.catalog, repository_id=request.repository_id, details=details)
        )
        summary = await engine_step(
            run_id,
            contract.CATALOG_INGEST_ACTIVITY,
            CatalogIngestInput(run_id=run_id, repository=repository, request=request),
        )
        await finish_run(FinishRunInput(run_id=run_id, status=RunStatus.succeeded, files=summary.entries))
        return summary


@workflow.defn(name=contract.CATALOG_SCAN.name)
class CatalogScanWorkflow:
    @workflow.run
    async def run(self, request: ScanRequest) -> ScanSummary:
        run_id = workflow.info().workflow_id
        await start_source_run(StartRunInput(run_id=run_id, kind=RunKind.scan, details=request.model_dump()))
        summary = await engine_step(
            run_id,
            contract.CATALOG_SCAN_ACTIVITY,
            ScanActivityInput(run_id=run_id, source_id=request.source_id, one_file_system=request.one_file_system),
        )
        error = f"{summary.errors} unreadable entries, first: {summary.error_sample[0]}" if summary.errors else None
        await finish_run(
            FinishRunInput(
                run_id=run_id, status=RunStatus.succeeded, files=summary.files, bytes=summary.bytes, error=error
            )
        )
        return summary


@workflow.defn(name=contract.CLEANUP.name)
class CleanupWorkflow:
    @workflow.run
    async def run(self, request: CleanupRequest) -> CleanupResult:
        run_id = workflow.info().workflow_id
        await start_source_run(StartRunInput(run_id=run_id, kind=RunKind.cleanup, details=request.model_dump()))
        result = await engine_step(run_id, contract.CLEANUP_ACTIVITY, request)
        await finish_run(
            FinishRunInput(run_id=run_id, status=RunStatus.succeeded, files=result.moved, bytes=result.bytes)
        )
        return result
