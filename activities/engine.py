"""Engine activities: backup, restore, retention, check; run on the engine task queue.

Each holds its repository's gate (store.locks) for its whole length: exclusive where the engine
cannot run two operations on one repository side by side, shared where it can.
"""

from __future__ import annotations

from temporalio import activity

from activities.reporting import Reporter, run_reported
from syncoxide.backups import operations
from syncoxide.config import Settings
from syncoxide.contract import temporal as contract
from syncoxide.contract.payloads import (
    BackupActivityInput,
    BackupActivityResult,
    CheckActivityInput,
    CheckResult,
    RestoreActivityInput,
    RestoreActivityResult,
    RetentionActivityInput,
    RetentionActivityResult,
)
from syncoxide.contract.temporal import implements
from syncoxide.models import Engine, Repository
from syncoxide.store.locks import repository_gate

_SHARED_FOR_RESTIC = {"backup", "restore", "catalog"}


def exclusive_for(repository: Repository, operation: str) -> bool:
    """restic runs backups, restores and listings side by side; borg serializes everything."""
    return repository.engine == Engine.borg or operation not in _SHARED_FOR_RESTIC


class EngineActivities:
    def __init__(self, settings: Settings):
        self.settings = settings

    def _gate(self, repository: Repository, operation: str, reporter: Reporter):
        return repository_gate(
            self.settings, repository.id, exclusive=exclusive_for(repository, operation), waiting=reporter.waiting
        )

    @implements(contract.BACKUP_ACTIVITY)
    def backup(self, data: BackupActivityInput) -> BackupActivityResult:
        def work(reporter: Reporter) -> BackupActivityResult:
            with self._gate(data.repository, "backup", reporter):
                snapshot_id, stats = operations.backup(
                    self.settings,
                    data.repository,
                    data.request,
                    snapshot_name=data.run_id,
                    progress=reporter.progress,
                    cancelled=reporter.cancelled,
                    resumed=activity.info().attempt > 1,
                )
            return BackupActivityResult(snapshot_id=snapshot_id, stats=stats)

        return run_reported(work)

    @implements(contract.RESTORE_ACTIVITY)
    def restore(self, data: RestoreActivityInput) -> RestoreActivityResult:
        def work(reporter: Reporter) -> RestoreActivityResult:
            with self._gate(data.repository, "restore", reporter):
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

    @implements(contract.RETENTION_ACTIVITY)
    def retention(self, data: RetentionActivityInput) -> RetentionActivityResult:
        def work(reporter: Reporter) -> RetentionActivityResult:
            with self._gate(data.repository, "retention", reporter):
                reporter.phase("retention")
                engine = operations.open_repository(self.settings, data.repository, data.passphrase)
                decisions = operations.apply_retention(
                    engine,
                    data.retention,
                    compact=data.compact,
                    only_policy=data.only_policy,
                    cancelled=reporter.cancelled,
                )
            return RetentionActivityResult(
                kept=[d.snapshot.id for d in decisions if d.keep],
                deleted=[d.snapshot.id for d in decisions if not d.keep],
            )

        return run_reported(work)

    @implements(contract.CHECK_ACTIVITY)
    def check(self, data: CheckActivityInput) -> CheckResult:
        def work(reporter: Reporter) -> CheckResult:
            with self._gate(data.repository, "check", reporter):
                reporter.phase("check")
                engine = operations.open_repository(self.settings, data.repository, data.passphrase)
                return operations.check(
                    engine,
                    verify_data=data.verify_data,
                    subset_percent=data.subset_percent,
                    cancelled=reporter.cancelled,
                )

        return run_reported(work)
