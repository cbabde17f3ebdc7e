"""Repository work as plain calls: what activities, the CLI and tests run (no Temporal here)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from syncoxide.backups import databases
from syncoxide.backups.placement import Placement, check_strip, final_parts, fresh_staging, place
from syncoxide.backups.retention import Decision, Retention, decide
from syncoxide.backups.verify import Locator, VerifyReport, verify_restore
from syncoxide.config import Settings
from syncoxide.contract.payloads import BackupRequest, BackupStats, CheckResult, Progress, RestoreRequest
from syncoxide.engines import BackupEngine, compression, open_engine
from syncoxide.engines import excludes as exclude_patterns
from syncoxide.engines.base import ProgressFn, validate_sources
from syncoxide.engines.process import CancelFn, Cancelled
from syncoxide.errors import InvalidInput, RepositoryLocked, VerificationFailed
from syncoxide.fs import names
from syncoxide.models import Engine, FileRecord, Repository
from syncoxide.secrets import SecretRef
from syncoxide.secrets.in_locations import refuse_credentials

T = TypeVar("T")


def breaking_stale_locks(engine: BackupEngine, action: Callable[[], T]) -> T:
    """Run ``action``; if the repository is locked, break stale locks (never a live one) and try once more.

    A lock a live process holds makes the second try fail with RepositoryLocked too, which
    activities retry with backoff.
    """
    try:
        return action()
    except RepositoryLocked:
        engine.unlock_stale()
        return action()


def open_location(settings: Settings, engine: Engine, location: str, passphrase: SecretRef) -> BackupEngine:
    return open_engine(settings, engine, location, passphrase.resolve())


def open_repository(settings: Settings, repository: Repository, passphrase: SecretRef | None = None) -> BackupEngine:
    """The repository's engine, opened with ``passphrase`` if given, else its stored reference."""
    return open_location(settings, repository.engine, repository.location, passphrase or repository.passphrase)


def normalize_location(engine: Engine, location: str) -> str:
    """Local paths become absolute; remote URLs (sftp:, ssh://, s3:...) are kept as given. A location holding a
    password (ssh://user:password@...) is refused (InvalidValue), before anything is made or stored."""
    refuse_credentials(location, kind=engine.value, field="repository location")
    if "://" in location or (engine == Engine.restic and ":" in location.split("/")[0]):
        return location
    return str(Path(location).expanduser().resolve())


def init_repository(
    settings: Settings, engine: Engine, location: str, passphrase: SecretRef, encryption: str | None = None
) -> None:
    open_location(settings, engine, location, passphrase).init(encryption)


def backup(
    settings: Settings,
    repository: Repository,
    request: BackupRequest,
    *,
    snapshot_name: str,
    progress: ProgressFn,
    cancelled: CancelFn,
    resumed: bool = False,
) -> tuple[str, BackupStats]:
    options = request.options.model_copy(update={"policy": request.policy_id})
    exclude_patterns.validate(options.excludes)
    compression.parse(options.compression)
    if sum(map(bool, (request.sources, request.stream, request.database))) != 1:
        raise InvalidInput("a backup reads exactly one of: sources, a stream command, a database")
    sources = validate_sources(request.sources) if request.sources else []
    stream = databases.stream_for(request.database) if request.database else request.stream
    engine = open_repository(settings, repository, request.passphrase)
    return breaking_stale_locks(
        engine,
        lambda: engine.backup(
            sources,
            snapshot_name=snapshot_name,
            options=options,
            stream=stream,
            progress=progress,
            cancelled=cancelled,
            resumed=resumed,
        ),
    )


def check_restore_target(target: str) -> Path:
    path = Path(target).expanduser()
    if not path.is_absolute():
        raise InvalidInput(f"target {target}: must be an absolute path")
    if path.exists() and not path.is_dir():
        raise InvalidInput(f"target {target}: exists and is not a directory")
    return path


@dataclass
class RestoreOutcome:
    report: VerifyReport
    placement: Placement


def restore(
    settings: Settings,
    repository: Repository,
    request: RestoreRequest,
    *,
    run_id: str,
    progress: ProgressFn,
    cancelled: CancelFn,
) -> RestoreOutcome:
    """Restore into a staging dir, move files into place per the overwrite policy, verify them.

    Nothing is written or checked through a symlink in the target: entries below one (a symlink
    planted where the snapshot has a folder) are not placed, and the restore fails naming it."""
    target = check_restore_target(request.target)
    strip = check_strip(request.strip_components)
    paths = [names.to_os(p).rstrip("/") or "/" for p in request.paths]  # as the engine and the OS take them
    for path in paths:
        if not path.startswith("/"):
            raise InvalidInput(f"path {names.shown(names.from_os(path))}: must be an absolute path as it was backed up")
    engine = open_repository(settings, repository, request.passphrase)
    for path in paths:
        if next(iter(engine.list_files(request.snapshot_id, [path])), None) is None:
            raise InvalidInput(f"path {names.shown(names.from_os(path))}: not in snapshot {request.snapshot_id}")
    staging = fresh_staging(target, run_id)
    breaking_stale_locks(
        engine,
        lambda: engine.restore(request.snapshot_id, staging, paths=paths, progress=progress, cancelled=cancelled),
    )
    progress(Progress(phase="place"))
    placement = place(staging, target, strip_components=strip, overwrite=request.overwrite)
    refusal = placement.refusal(target)
    if refusal:
        raise InvalidInput(refusal)
    kept = placement.kept_set

    def parts(record: FileRecord) -> list[str] | None:
        return None if record.path in kept else final_parts(record.path, strip)

    def verified(report: VerifyReport) -> None:
        progress(Progress(phase="verify", files_done=report.checked, bytes_done=report.bytes))
        if cancelled():
            raise Cancelled()

    report = verify_restore(engine.list_files(request.snapshot_id, paths), Locator(target, parts), verified)
    if not report.ok:
        raise VerificationFailed(
            f"restore of {request.snapshot_id} into {target}: {report.problem_count} entries differ"
            f" from the snapshot, first: {report.problems[0]}"
        )
    return RestoreOutcome(report=report, placement=placement)


def plan_retention(engine: BackupEngine, policy: Retention, *, only_policy: str | None = None) -> list[Decision]:
    """Decisions over all snapshots, or (``only_policy``) over that backup policy's own."""
    snapshots = engine.snapshots()
    if only_policy is not None:
        snapshots = [s for s in snapshots if s.policy == only_policy]
    return decide(snapshots, policy)


def apply_retention(
    engine: BackupEngine,
    policy: Retention,
    *,
    compact: bool = True,
    only_policy: str | None = None,
    cancelled: CancelFn = lambda: False,
) -> list[Decision]:
    """Delete what the policy does not keep, then free the space; returns the decisions."""
    decisions = plan_retention(engine, policy, only_policy=only_policy)
    doomed = [d.snapshot.id for d in decisions if not d.keep]
    breaking_stale_locks(engine, lambda: engine.delete_snapshots(doomed, cancelled=cancelled))
    if compact and doomed:
        engine.compact(cancelled=cancelled)
    return decisions


def check(
    engine: BackupEngine, *, verify_data: bool, subset_percent: float | None, cancelled: CancelFn = lambda: False
) -> CheckResult:
    if subset_percent is not None and not 0 < subset_percent <= 100:
        raise InvalidInput("subset: must be a percentage above 0 and at most 100")
    return breaking_stale_locks(
        engine, lambda: engine.check(verify_data=verify_data, subset_percent=subset_percent, cancelled=cancelled)
    )
