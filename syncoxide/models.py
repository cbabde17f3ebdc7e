"""The nouns every layer shares. Workflow payloads are these models: small, typed, no secrets."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from syncoxide.secrets import SecretRef


class Engine(StrEnum):
    borg = "borg"
    restic = "restic"


class RunKind(StrEnum):
    backup = "backup"
    restore = "restore"


class RunStatus(StrEnum):
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


class FileType(StrEnum):
    file = "file"
    dir = "dir"
    symlink = "symlink"
    other = "other"


class Repository(BaseModel):
    id: str
    name: str
    engine: Engine
    location: str
    passphrase: SecretRef
    created_at: datetime | None = None


class Overwrite(StrEnum):
    never = "never"
    if_newer = "if-newer"
    always = "always"


class BackupOptions(BaseModel):
    """How to back up, the same for every engine."""

    excludes: list[str] = Field(default_factory=list)
    exclude_caches: bool = Field(False, description="skip folders holding a CACHEDIR.TAG")
    exclude_if_present: list[str] = Field(default_factory=list, description="skip folders holding such a file")
    one_file_system: bool = False
    compression: str = Field("auto", description="auto, none, max, zstd, zstd,N (1-22) or lz4 (borg)")
    tags: list[str] = Field(default_factory=list)
    hostname: str | None = None


class StreamSource(BaseModel):
    """A source read from a command's standard output, stored as one file in the snapshot."""

    name: str = Field(description="file name in the snapshot, e.g. postgres/app.pgdump")
    command: list[str]


class BackupRequest(BaseModel):
    repository_id: str
    sources: list[str] = Field(default_factory=list)
    options: BackupOptions = Field(default_factory=BackupOptions)
    stream: StreamSource | None = Field(default=None, description="back up a command's output instead")
    passphrase: SecretRef | None = Field(
        default=None, description="overrides the repository's stored passphrase reference for this run"
    )
    policy_id: str | None = None


class Progress(BaseModel):
    """What a long activity reports in its heartbeats and the CLI/dashboard render."""

    phase: str = "starting"
    files_done: int = 0
    bytes_done: int = 0
    files_total: int | None = None
    bytes_total: int | None = None
    current_path: str | None = None


class BackupStats(BaseModel):
    files: int = 0
    bytes: int = Field(0, description="original size of everything in the snapshot")
    added_bytes: int = Field(0, description="new data the repository stored for this snapshot")
    duration_s: float = 0.0


class BackupResult(BaseModel):
    run_id: str
    snapshot_id: str
    stats: BackupStats


class RestoreRequest(BaseModel):
    repository_id: str
    snapshot_id: str
    target: str
    paths: list[str] = Field(default_factory=list, description="absolute paths inside the snapshot")
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


class FileRecord(BaseModel):
    """One entry of a snapshot's listing, paths absolute as they were backed up."""

    path: str
    type: FileType
    size: int = 0
    mtime_ns: int = 0
    mode: int = 0
    link_target: str | None = None


class Snapshot(BaseModel):
    id: str
    time: datetime
    hostname: str | None = None
    paths: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    files: int | None = None
    bytes: int | None = Field(None, description="original size of the snapshot's contents")
    added_bytes: int | None = Field(None, description="data the snapshot added to the repository when made")


class DiffEntry(BaseModel):
    path: str
    change: str = Field(description="added, removed or modified")


class CheckResult(BaseModel):
    ok: bool
    level: str
    problems: list[str] = Field(default_factory=list)
    duration_s: float = 0.0


class Run(BaseModel):
    id: str
    kind: RunKind
    status: RunStatus
    repository_id: str | None
    policy_id: str | None = None
    started_at: datetime
    finished_at: datetime | None = None
    files: int | None = None
    bytes: int | None = None
    added_bytes: int | None = None
    snapshot_id: str | None = None
    error: str | None = None
