"""Recording runs in PostgreSQL."""

from __future__ import annotations

from activities.metrics import record_run
from activities.reporting import temporal_errors
from syncoxide.config import Settings
from syncoxide.contract import temporal as contract
from syncoxide.contract.payloads import FinishRunInput, StartRunInput
from syncoxide.contract.temporal import implements
from syncoxide.models import Repository
from syncoxide.store import open_store, repositories, runs


class RunActivities:
    def __init__(self, settings: Settings):
        self.settings = settings

    @implements(contract.START_RUN)
    def start_run(self, data: StartRunInput) -> Repository | None:
        """Record the run; returns the repository it runs against (None for runs on a source)."""
        with temporal_errors(), open_store(self.settings) as conn:
            repository = repositories.get(conn, data.repository_id) if data.repository_id else None
            runs.start(
                conn,
                run_id=data.run_id,
                kind=data.kind,
                repository_id=data.repository_id,
                policy_id=data.policy_id,
                details=data.details,
                workflow_id=data.workflow_id,
            )
            return repository

    @implements(contract.GET_REPOSITORY)
    def get_repository(self, repository_id: str) -> Repository:
        with temporal_errors(), open_store(self.settings) as conn:
            return repositories.get(conn, repository_id)

    @implements(contract.FINISH_RUN)
    def finish_run(self, data: FinishRunInput) -> None:
        with temporal_errors(), open_store(self.settings) as conn:
            runs.finish(
                conn,
                run_id=data.run_id,
                status=data.status,
                files=data.files,
                bytes_=data.bytes,
                added_bytes=data.added_bytes,
                snapshot_id=data.snapshot_id,
                error=data.error,
                warnings=data.warnings,
            )
            record_run(runs.get(conn, data.run_id))
