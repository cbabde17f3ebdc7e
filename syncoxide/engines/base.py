"""The engine interface: what syncoxide asks of a backup engine, whichever it is."""

from __future__ import annotations

import json
import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, BinaryIO

from syncoxide.contract.payloads import BackupStats, CheckResult, Progress
from syncoxide.engines.process import CancelFn
from syncoxide.errors import InvalidInput
from syncoxide.models import BackupOptions, DiffEntry, FileRecord, Snapshot, StreamSource
from syncoxide.paths import split_path

ProgressFn = Callable[[Progress], None]
Row = tuple[str, str, str, str, int, int, int, int | None, int | None, str | None]
"""A listing entry as the catalog stores it: path, parent, name, type, size, mtime_ns, mode, uid, gid, link."""
LOCK_WAIT_S = 30
LISTING_BATCH = 64 * 1024


def row_columns(rows: Iterable[Row], every: int = LISTING_BATCH) -> Iterator[list[list]]:
    """Rows as column lists (Row's fields, in order) of up to ``every`` rows."""
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= every:
            yield [list(column) for column in zip(*batch, strict=True)]
            batch = []
    if batch:
        yield [list(column) for column in zip(*batch, strict=True)]


COMMAND_KEEPS = frozenset({"PATH", "HOME", "LANG", "TZ"})
"""What a stream command keeps of the environment the engine runs with; every other variable the engine was
given for itself (its passphrase, its repository, credentials, its cache) is withheld."""


ENGINE_SECRETS = frozenset(
    {
        "BORG_PASSPHRASE",
        "BORG_NEW_PASSPHRASE",
        "BORG_PASSCOMMAND",
        "BORG_PASSPHRASE_FD",
        "BORG_KEY_FILE",
        "RESTIC_PASSWORD",
        "RESTIC_PASSWORD_FILE",
        "RESTIC_PASSWORD_COMMAND",
        "RESTIC_NEW_PASSWORD",
        "RESTIC_NEW_PASSWORD_FILE",
        "RESTIC_REPOSITORY",
        "RESTIC_REPOSITORY_FILE",
    }
)
"""The engines' own secret variables, withheld from hooks even when the worker's environment has them (an
operator who keeps a passphrase there as ``env:RESTIC_PASSWORD``)."""


def command_environment(environ: Mapping[str, str], withhold: Iterable[str] = ()) -> dict[str, str]:
    """The environment for a user's command run beside the engines (a hook): ``environ`` without
    ENGINE_SECRETS and without the names in ``withhold`` (the variables the run's secret references name)."""
    hidden = ENGINE_SECRETS | set(withhold)
    return {name: value for name, value in environ.items() if name not in hidden}


def stream_command(stream: StreamSource, engine_env: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """(argv, environment) for a stream source the engine runs itself (borg --content-from-command, restic
    --stdin-from-command): the engine gets its environment with the stream's own added (PGPASSWORD for
    pg_dump), and runs the command through ``env -u NAME ...``, so the command sees only COMMAND_KEEPS and
    what the stream brings. Only names go on a command line, never a value. borg withholds BORG_PASSPHRASE
    by itself; restic hands its children everything: one way for both."""
    program = stream.command[0] if stream.command else ""
    if not program or "=" in program:
        raise InvalidInput(f"stream command {program!r}: a program name must be given, without '='")
    withheld = sorted(name for name in engine_env if name not in COMMAND_KEEPS and name not in stream.env)
    unset = [arg for name in withheld for arg in ("-u", name)]
    return [shutil.which("env") or "/usr/bin/env", *unset, "--", *stream.command], {**engine_env, **stream.env}


def _no_progress(_: Progress) -> None:
    pass


def _never_cancelled() -> bool:
    return False


class BackupEngine(ABC):
    """One repository, opened with its passphrase; every call runs the engine's CLI."""

    encryption_modes: tuple[str, ...] = ()
    default_encryption: str = ""
    lock_wait_s: int = LOCK_WAIT_S
    """How long to wait for a lock another process holds before failing with RepositoryLocked."""

    def __init__(
        self,
        *,
        binary: str,
        location: str,
        passphrase: str,
        state_dir: Path,
        ssh_options: str | None = None,
        remote_binary: str | None = None,
    ):
        self.binary = binary
        self.location = location
        self._passphrase = passphrase
        self.state_dir = state_dir
        self.ssh_options = ssh_options
        self.remote_binary = remote_binary

    # -- repository lifecycle ---------------------------------------------------------------

    @abstractmethod
    def init(self, encryption: str | None = None) -> None:
        """Create an encrypted repository at the location."""

    @abstractmethod
    def change_passphrase(self, new_passphrase: str) -> None:
        """Re-encrypt the repository key with a new passphrase."""

    @abstractmethod
    def export_key(self, destination: Path) -> None:
        """Write the repository key (still protected by the passphrase) to a file."""

    @abstractmethod
    def import_key(self, source: Path) -> None:
        """Put a key exported earlier back into the repository."""

    # -- backup -----------------------------------------------------------------------------

    @abstractmethod
    def backup(
        self,
        sources: list[str],
        *,
        snapshot_name: str,
        options: BackupOptions | None = None,
        stream: StreamSource | None = None,
        progress: ProgressFn = _no_progress,
        cancelled: CancelFn = _never_cancelled,
        resumed: bool = False,
    ) -> tuple[str, BackupStats]:
        """Back up ``sources`` (or, with ``stream``, a command's output); return the snapshot id and stats.

        ``snapshot_name`` is unique per run. With ``resumed`` (an earlier attempt of the run was
        interrupted) the engine looks for what that attempt left: a finished snapshot is returned
        instead of making a second one, partial ones are cleaned up.
        """

    @abstractmethod
    def find_snapshot(self, snapshot_name: str) -> str | None:
        """The id of the snapshot a backup with this name made, if it exists."""

    # -- reading ----------------------------------------------------------------------------

    @abstractmethod
    def snapshots(self) -> list[Snapshot]:
        """All snapshots with their stats, oldest first."""

    @abstractmethod
    def list_files(self, snapshot_id: str, paths: Sequence[str] = ()) -> Iterator[FileRecord]:
        """Stream the snapshot's entries (under ``paths`` if given) without holding them all."""

    def list_rows(self, snapshot_id: str) -> Iterator[Row]:
        """The whole snapshot as catalog rows; engines override it with something faster where they can."""
        for r in self.list_files(snapshot_id):
            parent, name = split_path(r.path)
            yield r.path, parent, name, r.type.value, r.size, r.mtime_ns, r.mode, r.uid, r.gid, r.link_target

    def list_columns(self, snapshot_id: str, *, every: int = LISTING_BATCH) -> Iterator[list[list]]:
        """The whole snapshot as column lists of Row's fields, about ``every`` rows at a time."""
        return row_columns(self.list_rows(snapshot_id), every)

    @abstractmethod
    def diff(self, older: str, newer: str) -> Iterator[DiffEntry]:
        """What changed between two snapshots."""

    @abstractmethod
    def restore(
        self,
        snapshot_id: str,
        target: Path,
        *,
        paths: Sequence[str] = (),
        progress: ProgressFn = _no_progress,
        cancelled: CancelFn = _never_cancelled,
    ) -> None:
        """Restore the snapshot (or just ``paths``) under ``target``, keeping absolute paths below it."""

    @abstractmethod
    def read_file(self, snapshot_id: str, path: str, out: IO[bytes]) -> None:
        """Write one file's contents from the snapshot to ``out``."""

    @abstractmethod
    def export_tar(self, snapshot_id: str, out: BinaryIO, paths: Sequence[str] = ()) -> None:
        """Write the snapshot (or ``paths`` of it) to ``out`` as a tar stream."""

    # -- maintenance ------------------------------------------------------------------------

    @abstractmethod
    def delete_snapshots(self, snapshot_ids: list[str], *, cancelled: CancelFn = _never_cancelled) -> None:
        """Forget these snapshots (their data stays until compact)."""

    @abstractmethod
    def compact(self, *, cancelled: CancelFn = _never_cancelled) -> None:
        """Free the space of data no snapshot uses any more (borg compact, restic prune)."""

    @abstractmethod
    def check(
        self, *, verify_data: bool = False, subset_percent: float | None = None, cancelled: CancelFn = _never_cancelled
    ) -> CheckResult:
        """Check metadata, and with ``verify_data`` read back all data or a subset of it."""

    @abstractmethod
    def unlock_stale(self) -> None:
        """Remove locks left by processes that no longer exist; never a lock a live process holds."""

    # -- helpers ----------------------------------------------------------------------------

    def check_encryption(self, encryption: str | None) -> str:
        mode = encryption or self.default_encryption
        if mode not in self.encryption_modes:
            raise InvalidInput(
                f"encryption {mode!r}: {type(self).__name__[:-6].lower()} supports {', '.join(self.encryption_modes)}"
            )
        return mode


def validate_sources(sources: list[str]) -> list[str]:
    """Absolute, existing paths, in the order given; InvalidInput names the first bad one."""
    if not sources:
        raise InvalidInput("no source to back up: give at least one --source")
    resolved = []
    for source in sources:
        path = Path(source).expanduser()
        if not path.is_absolute():
            raise InvalidInput(f"source {source}: must be an absolute path")
        if not path.exists() and not path.is_symlink():
            raise InvalidInput(f"source {source}: no such file or directory")
        resolved.append(str(path))
    return resolved


def json_lines(lines: list[str]) -> Iterator[dict]:
    for line in lines:
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue
