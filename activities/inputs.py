"""Activity inputs and outputs: small models, references instead of secrets."""

from __future__ import annotations

from pydantic import BaseModel, Field

from syncoxide.models import (
    BackupRequest,
    BackupStats,
    CatalogIngestRequest,
    Notify,
    Repository,
    RestoreRequest,
    Retention,
    RunKind,
    RunStatus,
)
from syncoxide.secrets import SecretRef


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
