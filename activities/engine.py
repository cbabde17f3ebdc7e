"""Engine activities: backup and restore with progress heartbeats; run on the engine task queue."""

from __future__ import annotations

from temporalio import activity

from activities.inputs import (
    BackupActivityInput,
    BackupActivityResult,
    RestoreActivityInput,
    RestoreActivityResult,
)
from activities.reporting import Reporter, run_reported
from syncoxide import operations
from syncoxide.config import Settings


class EngineActivities:
    def __init__(self, settings: Settings):
        self.settings = settings

    @activity.defn(name="backup")
    def backup(self, data: BackupActivityInput) -> BackupActivityResult:
        def work(reporter: Reporter) -> BackupActivityResult:
            snapshot_id, stats = operations.backup(
                self.settings,
                data.repository,
                data.request,
                snapshot_name=data.run_id,
                progress=reporter.progress,
                cancelled=reporter.cancelled,
            )
            return BackupActivityResult(snapshot_id=snapshot_id, stats=stats)

        return run_reported(work)

    @activity.defn(name="restore")
    def restore(self, data: RestoreActivityInput) -> RestoreActivityResult:
        def work(reporter: Reporter) -> RestoreActivityResult:
            outcome = operations.restore(
                self.settings,
                data.repository,
                data.request,
                run_id=data.run_id,
                progress=reporter.progress,
                cancelled=reporter.cancelled,
            )
            report = outcome.report
            return RestoreActivityResult(
                files=report.files, bytes=report.bytes, verified=report.checked, kept=len(outcome.placement.kept)
            )

        return run_reported(work)
