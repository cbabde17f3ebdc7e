"""Backup, restore and repository creation as plain calls: what activities and tests run."""

from __future__ import annotations

import os
from pathlib import Path

from syncoxide.config import Settings
from syncoxide.engines import BackupEngine, open_engine
from syncoxide.engines import excludes as exclude_patterns
from syncoxide.engines.base import ProgressFn, validate_sources
from syncoxide.engines.process import CancelFn, Cancelled
from syncoxide.errors import InvalidInput, VerificationFailed
from syncoxide.models import BackupRequest, BackupStats, Engine, Progress, Repository, RestoreRequest
from syncoxide.secrets import SecretRef
from syncoxide.verify import VerifyReport, verify_restore


def open_location(settings: Settings, engine: Engine, location: str, passphrase: SecretRef) -> BackupEngine:
    return open_engine(settings, engine, location, passphrase.resolve())


def open_repository(settings: Settings, repository: Repository, passphrase: SecretRef | None = None) -> BackupEngine:
    """The repository's engine, opened with ``passphrase`` if given, else its stored reference."""
    return open_location(settings, repository.engine, repository.location, passphrase or repository.passphrase)


def normalize_location(engine: Engine, location: str) -> str:
    """Local paths become absolute; remote URLs (sftp:, ssh://, s3:...) are kept as given."""
    if "://" in location or (engine == Engine.restic and ":" in location.split("/")[0]):
        return location
    return str(Path(location).expanduser().resolve())


def init_repository(settings: Settings, engine: Engine, location: str, passphrase: SecretRef) -> None:
    open_location(settings, engine, location, passphrase).init()


def backup(
    settings: Settings,
    repository: Repository,
    request: BackupRequest,
    *,
    snapshot_name: str,
    progress: ProgressFn,
    cancelled: CancelFn,
) -> tuple[str, BackupStats]:
    sources = validate_sources(request.sources)
    excludes = exclude_patterns.validate(request.excludes)
    engine = open_repository(settings, repository, request.passphrase)
    return engine.backup(
        sources,
        snapshot_name=snapshot_name,
        excludes=excludes,
        tags=request.tags,
        progress=progress,
        cancelled=cancelled,
    )


def check_restore_target(target: str) -> Path:
    path = Path(target).expanduser()
    if not path.is_absolute():
        raise InvalidInput(f"target {target}: must be an absolute path")
    if path.exists() and not path.is_dir():
        raise InvalidInput(f"target {target}: exists and is not a directory")
    if path.is_dir() and any(os.scandir(path)):
        raise InvalidInput(f"target {target}: is not empty (restore into a new or empty directory)")
    return path


def restore(
    settings: Settings,
    repository: Repository,
    request: RestoreRequest,
    *,
    progress: ProgressFn,
    cancelled: CancelFn,
) -> VerifyReport:
    """Restore, then verify every restored entry against the snapshot's listing."""
    target = check_restore_target(request.target)
    paths = [p.rstrip("/") or "/" for p in request.paths]
    for path in paths:
        if not path.startswith("/"):
            raise InvalidInput(f"path {path}: must be an absolute path as it was backed up")
    engine = open_repository(settings, repository, request.passphrase)
    for path in paths:
        if next(iter(engine.list_files(request.snapshot_id, [path])), None) is None:
            raise InvalidInput(f"path {path}: not in snapshot {request.snapshot_id}")
    engine.restore(request.snapshot_id, target, paths=paths, progress=progress, cancelled=cancelled)
    def verified(report: VerifyReport) -> None:
        progress(Progress(phase="verify", files_done=report.checked, bytes_done=report.bytes))
        if cancelled():
            raise Cancelled()

    report = verify_restore(engine.list_files(request.snapshot_id, paths), target, verified)
    if not report.ok:
        raise VerificationFailed(
            f"restore of {request.snapshot_id} into {target}: {report.problem_count} entries differ"
            f" from the snapshot, first: {report.problems[0]}"
        )
    return report
