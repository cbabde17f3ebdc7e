"""Catalog activities: ingest snapshots, scan a source, carry out a cleanup plan; on the engine queue."""

from __future__ import annotations

from temporalio import activity

from activities.engine import exclusive_for
from activities.reporting import Reporter, run_reported
from syncoxide.backups import operations
from syncoxide.catalog import trash, updates
from syncoxide.config import Settings
from syncoxide.contract import temporal as contract
from syncoxide.contract.payloads import (
    CatalogIngestInput,
    CleanupRequest,
    CleanupResult,
    IngestSummary,
    ScanActivityInput,
    ScanSummary,
)
from syncoxide.contract.temporal import implements
from syncoxide.store import catalog as manifest
from syncoxide.store import open_store
from syncoxide.store.locks import repository_gate


class CatalogActivities:
    def __init__(self, settings: Settings):
        self.settings = settings

    @implements(contract.CATALOG_INGEST_ACTIVITY)
    def catalog_ingest(self, data: CatalogIngestInput) -> IngestSummary:
        repository = data.repository

        def work(reporter: Reporter) -> IngestSummary:
            gate = repository_gate(
                self.settings, repository.id, exclusive=exclusive_for(repository, "catalog"), waiting=reporter.waiting
            )
            with gate:
                engine = operations.open_repository(self.settings, repository, data.request.passphrase)
                return updates.ingest_repository(
                    self.settings,
                    repository,
                    engine,
                    only=data.request.snapshot_ids,
                    progress=reporter.progress,
                    cancelled=reporter.cancelled,
                )

        return run_reported(work)

    @implements(contract.CATALOG_SCAN_ACTIVITY)
    def catalog_scan(self, data: ScanActivityInput) -> ScanSummary:
        def work(reporter: Reporter) -> ScanSummary:
            with open_store(self.settings) as conn:
                source = manifest.find_source(conn, data.source_id)
            return updates.scan_source(
                self.settings,
                source,
                scan_id=data.run_id,
                one_file_system=data.one_file_system,
                progress=reporter.progress,
                cancelled=reporter.cancelled,
            )

        return run_reported(work)

    @implements(contract.CLEANUP_ACTIVITY)
    def cleanup(self, data: CleanupRequest) -> CleanupResult:
        """Apply or undo a plan; resumes from the plan's journal when an earlier attempt died midway."""

        def work(reporter: Reporter) -> CleanupResult:
            act = trash.apply if data.action == "apply" else trash.undo
            outcome = act(self.settings, data.plan_id, progress=reporter.progress, cancelled=reporter.cancelled)
            trash.purge_expired(self.settings)
            return CleanupResult(
                run_id=activity.info().workflow_id,
                plan_id=data.plan_id,
                action=data.action,
                moved=outcome.moved,
                bytes=outcome.bytes,
                skipped=outcome.skipped,
            )

        return run_reported(work)
