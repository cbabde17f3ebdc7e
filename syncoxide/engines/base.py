"""The engine interface: what syncoxide asks of a backup engine, whichever it is."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path

from syncoxide.engines.process import CancelFn
from syncoxide.errors import InvalidInput
from syncoxide.models import BackupStats, FileRecord, Progress, Snapshot

ProgressFn = Callable[[Progress], None]


def _no_progress(_: Progress) -> None:
    pass


def _never_cancelled() -> bool:
    return False


class BackupEngine(ABC):
    """One repository, opened with its passphrase; every call runs the engine's CLI."""

    def __init__(self, *, binary: str, location: str, passphrase: str, state_dir: Path):
        self.binary = binary
        self.location = location
        self._passphrase = passphrase
        self.state_dir = state_dir

    @abstractmethod
    def init(self) -> None:
        """Create an encrypted repository at the location."""

    @abstractmethod
    def backup(
        self,
        sources: list[str],
        *,
        snapshot_name: str,
        excludes: list[str] = (),  # type: ignore[assignment]
        tags: list[str] = (),  # type: ignore[assignment]
        progress: ProgressFn = _no_progress,
        cancelled: CancelFn = _never_cancelled,
    ) -> tuple[str, BackupStats]:
        """Back the sources up; return the snapshot id and its stats.

        ``snapshot_name`` is unique per run, so a retried run finds a snapshot an earlier attempt
        finished (see find_snapshot) instead of making a second one.
        """

    @abstractmethod
    def find_snapshot(self, snapshot_name: str) -> str | None:
        """The id of the snapshot a backup with this name made, if it exists."""

    @abstractmethod
    def snapshots(self) -> list[Snapshot]:
        """All snapshots, oldest first."""

    @abstractmethod
    def list_files(self, snapshot_id: str, paths: list[str] = ()) -> Iterator[FileRecord]:  # type: ignore[assignment]
        """Stream the snapshot's entries (under ``paths`` if given) without holding them all."""

    @abstractmethod
    def restore(
        self,
        snapshot_id: str,
        target: Path,
        *,
        paths: list[str] = (),  # type: ignore[assignment]
        progress: ProgressFn = _no_progress,
        cancelled: CancelFn = _never_cancelled,
    ) -> None:
        """Restore the snapshot (or just ``paths``) under ``target``, keeping absolute paths below it."""


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
