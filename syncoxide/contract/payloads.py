"""Every workflow and activity input and result: small pydantic models, references instead of secrets.

The nouns they are built from (Repository, Retention, SyncRequest, ...) live with their domain
(syncoxide.models, syncoxide.sync.models); what crosses Temporal as a whole payload is defined here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from syncoxide.models import (
    BackupOptions,
    DatabaseSource,
    Hooks,
    Notify,
    Overwrite,
    Repository,
    Retention,
    RunKind,
    RunStatus,
    StreamSource,
)
from syncoxide.secrets import SecretRef
from syncoxide.sync.cadence import Cadence
from syncoxide.sync.models import RunOutcome, SyncRequest, SyncResult

# Workflow inputs and results


class Progress(BaseModel):
    """What a long activity reports in its heartbeats and the CLI/dashboard render."""

    phase: str = "starting"
    files_done: int = 0
    bytes_done: int = 0
    files_total: int | None = None
    bytes_total: int | None = None
    current_path: str | None = None
    in_flight: list[str] = Field(
        default_factory=list,
        description="files being transferred right now (a sync pass moves several at once; the first ten by name)",
    )


class BackupRequest(BaseModel):
    repository_id: str
    sources: list[str] = Field(default_factory=list)
    options: BackupOptions = Field(default_factory=BackupOptions)
    stream: StreamSource | None = Field(default=None, description="back up a command's output instead")
    database: DatabaseSource | None = Field(default=None, description="back up a PostgreSQL database instead")
    passphrase: SecretRef | None = Field(
        default=None, description="overrides the repository's stored passphrase reference for this run"
    )
    policy_id: str | None = None
    retention: Retention | None = Field(None, description="the policy's own retention, over its own snapshots")
    hooks: Hooks | None = None
    notify: Notify | None = None


class BackupStats(BaseModel):
    files: int = 0
    bytes: int = Field(0, description="original size of everything in the snapshot")
    added_bytes: int = Field(0, description="new data the repository stored for this snapshot")
    duration_s: float = 0.0
    warnings: list[str] = Field(default_factory=list, description="what the snapshot could not keep exactly")


class RetentionOutcome(BaseModel):
    run_id: str
    kept: list[str] = Field(default_factory=list)
    deleted: list[str] = Field(default_factory=list)


class BackupResult(BaseModel):
    run_id: str
    snapshot_id: str
    stats: BackupStats
    retention: RetentionOutcome | None = None


class RestoreRequest(BaseModel):
    repository_id: str
    snapshot_id: str
    target: str
    paths: list[str] = Field(
        default_factory=list,
        description="absolute paths inside the snapshot, in the stored "
        "form of names (syncoxide.fs.names), as the catalog has them",
    )
    strip_components: int = Field(0, ge=0, description="leading path components to drop")
    overwrite: Overwrite = Overwrite.never
    passphrase: SecretRef | None = None


class RestoreResult(BaseModel):
    run_id: str
    snapshot_id: str
    target: str
    files: int
    bytes: int
    verified: int
    kept: int = Field(0, description="existing files left alone by the overwrite policy")


class CheckResult(BaseModel):
    ok: bool
    level: str
    problems: list[str] = Field(default_factory=list)
    duration_s: float = 0.0


class HealthRequest(BaseModel):
    """The health run's input: empty, but every workflow takes one so a start without a sealed input is refused."""


class MaintenanceRequest(BaseModel):
    """Retention (then compact), and/or a check, of one repository."""

    repository_id: str
    apply_retention: bool = True
    retention: Retention | None = Field(None, description="None: the repository's own policy, if any")
    compact: bool = True
    check: Literal["none", "metadata", "data"] = "none"
    subset_percent: float | None = Field(None, gt=0, le=100, description="with check=data: how much to read")
    passphrase: SecretRef | None = None


class MaintenanceResult(BaseModel):
    retention: RetentionOutcome | None = None
    check: CheckResult | None = None
    check_run_id: str | None = None


class ScanRequest(BaseModel):
    source_id: str
    one_file_system: bool = False


class ScanSummary(BaseModel):
    scan_id: str
    source_id: str
    files: int = 0
    dirs: int = 0
    bytes: int = 0
    errors: int = 0
    hashed: int = Field(0, description="files whose content was hashed in this scan")
    reused: int = Field(0, description="unchanged files whose hashes were taken from the previous scan")
    duration_s: float = 0.0
    error_sample: list[str] = Field(default_factory=list, description="the first unreadable entries")


class CatalogIngestRequest(BaseModel):
    """Bring a repository's snapshots into the catalog (``snapshot_ids``: just these; None: all it lacks)."""

    repository_id: str
    snapshot_ids: list[str] | None = None
    passphrase: SecretRef | None = None


class IngestSummary(BaseModel):
    repository_id: str
    ingested: list[str] = Field(default_factory=list, description="snapshot ids newly in the catalog")
    removed: list[str] = Field(default_factory=list, description="snapshot ids no longer in the repository")
    entries: int = 0
    duration_s: float = 0.0


class CleanupRequest(BaseModel):
    plan_id: str
    action: Literal["apply", "undo"] = "apply"


class CleanupResult(BaseModel):
    run_id: str
    plan_id: str
    action: str
    moved: int
    bytes: int
    skipped: list[str] = Field(default_factory=list, description="items left alone, each with the reason")


# Sync


class SyncSummary(RunOutcome):
    """What a run did, small enough for a workflow payload (the plan itself stays in the journal)."""

    planned: dict[str, int] = Field(default_factory=dict)
    conflicts: int = 0

    @classmethod
    def of(cls, result: SyncResult) -> SyncSummary:
        counts = result.model_dump(include=set(RunOutcome.model_fields))
        counts["errors"] = result.errors[:5]  # the first few
        counts["warnings"] = result.warnings[:5]
        return cls(**counts, planned=result.plan.summary(), conflicts=len(result.plan.conflicts))


class SyncWorkflowInput(Cadence):
    """SyncWorkflow's input (the request, and when its passes run), and what it carries across continue-as-new."""

    model_config = ConfigDict(hide_input_in_errors=True)

    request: SyncRequest
    paused: bool = False
    runs: int = 0
    last: SyncSummary | None = None


class SyncActivityInput(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    request: SyncRequest
    run_id: str


SyncPhase = Literal["starting", "running", "waiting", "paused", "done"]


class SyncStatus(BaseModel):
    """What SyncWorkflow's status query answers: where the pair is, and how its last pass went."""

    phase: SyncPhase
    paused: bool
    runs: int = Field(description="passes run so far, across continue-as-new")
    error: str | None = Field(None, description="why the last pass of a continuous pair failed")
    last: SyncSummary | None = None
    schedule: str = Field(description="once, every <interval> or cron <expression>")
    next_pass: datetime | None = Field(None, description="while waiting: when the next pass is due")


# Activity inputs and results


class StartRunInput(BaseModel):
    run_id: str
    kind: RunKind
    repository_id: str | None = Field(None, description="None for runs on a source (scans, cleanups)")
    policy_id: str | None = None
    details: dict = Field(default_factory=dict)
    workflow_id: str | None = None


class FinishRunInput(BaseModel):
    run_id: str
    status: RunStatus
    files: int | None = None
    bytes: int | None = None
    added_bytes: int | None = None
    snapshot_id: str | None = None
    error: str | None = None
    warnings: list[str] = Field(default_factory=list)


class BackupActivityInput(BaseModel):
    run_id: str
    repository: Repository
    request: BackupRequest


class BackupActivityResult(BaseModel):
    snapshot_id: str
    stats: BackupStats


class RestoreActivityInput(BaseModel):
    run_id: str
    repository: Repository
    request: RestoreRequest


class RestoreActivityResult(BaseModel):
    files: int
    bytes: int
    verified: int
    kept: int = 0


class RetentionActivityInput(BaseModel):
    run_id: str
    repository: Repository
    retention: Retention
    compact: bool = True
    only_policy: str | None = None
    passphrase: SecretRef | None = None


class RetentionActivityResult(BaseModel):
    kept: list[str]
    deleted: list[str]


class CheckActivityInput(BaseModel):
    run_id: str
    repository: Repository
    verify_data: bool = False
    subset_percent: float | None = None
    passphrase: SecretRef | None = None


class HookInput(BaseModel):
    parent_run_id: str
    repository_id: str
    policy_id: str | None = None
    stage: str
    commands: list[str]
    timeout_s: float


class NotifyRunInput(BaseModel):
    run_id: str
    policy_id: str | None
    status: RunStatus
    error: str | None = None
    notify: Notify


class CatalogIngestInput(BaseModel):
    run_id: str
    repository: Repository
    request: CatalogIngestRequest


class ScanActivityInput(BaseModel):
    run_id: str
    source_id: str
    one_file_system: bool = False
