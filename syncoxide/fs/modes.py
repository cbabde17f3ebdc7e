"""Who may read what syncoxide writes.

The data dir, and everything syncoxide and the programs it starts put there (Temporal's SQLite file, the
catalog's Parquet parts, logs, pid files, the embedded PostgreSQL, staging dirs, engine caches), is its owner's
alone. ``go_private`` runs once at each entry point: the process umask becomes 077 (or stricter), so every
folder is made 0700 and every file 0600, by syncoxide and by its children (temporal, postgres, borg, restic,
pg_dump, stream commands), which inherit it; and the data dir is tightened (``private_home``).

What lands where the user said (a sync's destination, also through rclone, a restore target, an item put back
from cleanup's trash) and what a hook writes get the umask the user started syncoxide with, as if syncoxide
had not changed it: ``user_umask``. It travels in SYNCOXIDE_USER_UMASK to syncoxide processes started by
another (the worker and the dashboard that `dev up` starts), so they do not take the tightened umask for the
user's.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
USER_UMASK_ENV = "SYNCOXIDE_USER_UMASK"
TIGHTENED_MARK = ".private"
"""A file in the data dir saying its older contents were tightened once (``tighten_tree``)."""
OWN_ENTRIES = frozenset(
    {
        "temporal.db",
        "postgres",
        "catalog",
        "logs",
        "run",
        "engines",
        "demo",
        "payload.keys",
        "codec.token",
        "syncoxide.toml",
    }
)
"""What syncoxide itself puts in its data dir (and temporal.db-wal, -shm ...): the one-time tightening touches
these only, never other things someone keeps beside them."""


def current_umask() -> int:
    """The process umask, read rather than set and reset (other threads may be creating files)."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1], 8) for line in status if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError, IndexError):
        mask = os.umask(0o022)
        os.umask(mask)
        return mask


def _parse(text: str | None) -> int | None:
    try:
        value = int(text or "", 8)
    except ValueError:
        return None
    return value if 0 <= value <= 0o777 else None


def user_umask() -> int:
    """The umask the user started syncoxide with (the process's own when no entry point tightened it)."""
    recorded = _parse(os.environ.get(USER_UMASK_ENV))
    return current_umask() if recorded is None else recorded


def user_file_mode() -> int:
    """What a new file in the user's places gets without a mode to copy: 0666 less the user's umask."""
    return 0o666 & ~user_umask()


def go_private(home: Path | None = None) -> None:
    """Once at an entry point (again is harmless): remember the user's umask, set 077 on top of it, and make
    the data dir (``home``, default: where syncoxide.home finds it) private if it exists."""
    mask = current_umask()
    if _parse(os.environ.get(USER_UMASK_ENV)) is None:
        os.environ[USER_UMASK_ENV] = f"{mask:04o}"
    os.umask(mask | PRIVATE_UMASK)
    if home is None:
        from syncoxide.home import home as find_home

        home = find_home()
    with contextlib.suppress(OSError):
        private_home(home)


def _foreign_folders(home: Path) -> bool:
    """True when a folder right inside ``home`` belongs to another user: root running the embedded PostgreSQL
    (pgserver runs postgres as its own user, who owns ``postgres/`` and must pass through ``home`` to it)."""
    me = os.geteuid()
    with os.scandir(home) as entries:
        for entry in entries:
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode) and info.st_uid != me:
                return True
    return False


def private_home(home: Path) -> None:
    """The data dir, if it exists and is ours: 0700, or 0711 when another user must pass through it to a
    folder of their own inside (see ``_foreign_folders``): they may enter, never list, and what they could
    name is 0600/0700. Its contents from before the umask are tightened once (``tighten_tree``)."""
    try:
        info = os.stat(home)
    except FileNotFoundError:
        return  # made when first used, 0700 by the umask
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        return
    if os.path.realpath(home) in ("/", os.path.realpath(Path.home())):
        return  # a data dir that is the user's home (or /): not ours to close
    others = 0o011 if _foreign_folders(home) else 0
    wanted = (stat.S_IMODE(info.st_mode) & ~0o077) | 0o700 | others
    if stat.S_IMODE(info.st_mode) != wanted:
        os.chmod(home, wanted)
    mark = home / TIGHTENED_MARK
    if not mark.exists():
        tighten_tree(home, only=OWN_ENTRIES)
        fd = os.open(mark, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        os.close(fd)


def _own(name: str, only: frozenset[str]) -> bool:
    return name in only or name.split("-", 1)[0] in only  # temporal.db-wal


def tighten_tree(root: Path, only: frozenset[str] | None = None) -> int:
    """Group and other bits off everything below ``root`` that is ours (files written before syncoxide set
    its umask); with ``only``, just the entries of ``root`` so named and what they hold. Folders of another
    user (postgres's own, which it keeps 0700) are not entered, symlinks never followed. Returns how many
    entries changed."""
    me = os.geteuid()
    changed = 0
    for top, dirnames, filenames, dir_fd in os.fwalk(root):
        if only is not None and top == str(root):
            dirnames[:] = [d for d in dirnames if _own(d, only)]
            filenames = [f for f in filenames if _own(f, only)]
        for name in [*dirnames, *filenames]:
            try:
                info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISLNK(info.st_mode):
                continue
            if info.st_uid != me:
                if name in dirnames:
                    dirnames.remove(name)
                continue
            mode = stat.S_IMODE(info.st_mode)
            if mode & 0o077:
                with contextlib.suppress(FileNotFoundError):
                    os.chmod(name, mode & ~0o077, dir_fd=dir_fd)
                    changed += 1
    return changed


def as_user_made(fd: int, mode: int) -> None:
    """A folder just made by ``os.mkdir(..., mode)`` in one of the user's places: the bits it would have had
    under the user's umask. Only when syncoxide's umask (not a default ACL) narrowed it; the set-group-id bit
    it inherited is kept."""
    got = stat.S_IMODE(os.fstat(fd).st_mode)
    wanted = mode & ~user_umask() & 0o777
    if (got & 0o777) != wanted and (got & 0o777) == mode & ~current_umask() & 0o777:
        with contextlib.suppress(OSError):  # a filesystem without modes keeps what it has
            os.fchmod(fd, (got & 0o7000) | wanted)


def make_user_dirs(path: Path) -> None:
    """``mkdir -p`` for a place the user named: each folder made gets what the user's umask gives."""
    missing: list[Path] = []
    probe = path
    while not os.path.lexists(probe) and probe.parent != probe:
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, 0o777)
        except FileExistsError:
            continue
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            as_user_made(fd, 0o777)
        finally:
            os.close(fd)
    path.mkdir(parents=True, exist_ok=True)  # there now; raises as mkdir -p would when a file is in the way
