"""Keep what a run would delete or replace: ``backup_dir`` moves it into a folder on the same side, under the
run's start time, instead (rclone's ``--backup-dir``, one folder per run so no version replaces another).

    notes/.versions/2026-11-26T230512.345Z/drafts/plan.txt   <- drafts/plan.txt, deleted or replaced by that run

The folder is at the root of the side that changes (both, for bisync) and left out of the sync on both sides.
A replaced file is moved aside once its new version is sent and verified, just before that takes its name
(``TransferContext.before_land``), and moved back if that last step fails; a run killed in between leaves it
in the folder, where it is kept.

``backup_keep`` prunes: after a run, the run folders whose time is older than that are removed (by their
names, so a folder of another kind in there is never touched).
"""

from __future__ import annotations

from datetime import UTC, datetime

from syncoxide.providers import paths
from syncoxide.providers.base import Provider
from syncoxide.providers.errors import ObjectNotFound, ProviderError

FOLDER_TIME = "%Y-%m-%dT%H%M%S.%fZ"


def run_folder(backup_dir: str, started: datetime) -> str:
    """The run's own folder, named by its start (UTC, to the millisecond: two runs never share one)."""
    return paths.join(backup_dir, started.strftime("%Y-%m-%dT%H%M%S.") + f"{started.microsecond // 1000:03d}Z")


def folder_time(name: str) -> datetime | None:
    """When the run that made a folder named ``name`` started; None for a name of another kind."""
    try:
        return datetime.strptime(name, FOLDER_TIME).replace(tzinfo=UTC)
    except ValueError:
        return None


def prune(provider: Provider, backup_dir: str, older_than: datetime) -> int:
    """Remove the run folders of ``backup_dir`` from runs that started before ``older_than``; how many."""
    files: list[str] = []
    folders: set[str] = set()
    try:
        for entry in provider.list(backup_dir):
            name, _, inside = entry.path[len(backup_dir) + 1 :].partition("/")
            started = folder_time(name)
            if started is None or started >= older_than:
                continue
            folders.add(paths.join(backup_dir, name))
            if entry.is_dir:
                folders.add(entry.path)
            elif inside:
                files.append(entry.path)
    except ObjectNotFound:
        return 0  # no folder yet
    for path in files:
        provider.delete(path)
    for folder in sorted(folders, key=lambda p: p.count("/"), reverse=True):  # the deepest first
        try:
            provider.rmdir(folder)
        except ObjectNotFound:
            pass  # an object store's folders go with their last object
    return len({f for f in folders if f.count("/") == backup_dir.count("/") + 1})


class BackupDir:
    def __init__(self, folder: str):
        self.folder = folder
        """this run's folder, e.g. ``.versions/2026-11-26T230512.345Z``"""

    def keep(self, provider: Provider, path: str) -> bool:
        """Move ``path`` into the folder; False if it is not there (an earlier attempt moved it already)."""
        try:
            provider.move(path, paths.join(self.folder, path))
        except ObjectNotFound:
            return False
        return True

    def put_back(self, provider: Provider, path: str) -> None:
        """Undo ``keep`` after the new version could not be sent (best effort: it stays in the folder if not)."""
        try:
            if not provider.exists(path):
                provider.move(paths.join(self.folder, path), path)
        except (ProviderError, OSError):
            pass
