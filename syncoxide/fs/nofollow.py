"""Reaching paths below a folder without following any symlink on the way.

Restore, its verification and cleanup write, check and move entries below a folder the user
named (a restore target, a source root). Anyone who can write inside that folder can plant a
symlink where a folder is expected; a path string resolved by the kernel would follow it and
land outside. Here every component below the named folder is opened relative to the one
before it with O_NOFOLLOW | O_DIRECTORY, and the last one is only ever touched relative to its
opened parent (``dir_fd``), so nothing is read, written or renamed through a symlink that the
caller did not name itself.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from syncoxide.fs.modes import as_user_made

Name = str | bytes
_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class Blocked(OSError):
    """A component below the named folder is not a real folder (a symlink, a file, something else)."""

    def __init__(self, path: str, what: str):
        super().__init__(f"{path} is {what}, not a folder")
        self.path = path
        self.what = what


def kind_of(mode: int) -> str:
    """What a stat mode says an entry is: 'file', 'folder', 'symlink', 'FIFO', 'socket' or 'device'."""
    for test, kind in (
        (stat.S_ISREG, "file"),
        (stat.S_ISDIR, "folder"),
        (stat.S_ISLNK, "symlink"),
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISSOCK, "socket"),
    ):
        if test(mode):
            return kind
    return "device"


def describe(mode: int) -> str:
    """'a symlink', 'a file', ... for messages."""
    return f"a {kind_of(mode)}"


def split(path: Name | os.PathLike[str]) -> list[str]:
    """The components of an absolute or relative path, as str (bytes names via surrogateescape)."""
    text = os.fsdecode(path)
    return [p for p in text.split("/") if p and p != "."]


def lstat_at(parent: int, name: Name) -> os.stat_result | None:
    """What sits at ``name`` in the opened folder ``parent`` (not followed), or None."""
    try:
        return os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return None


def open_child(parent: int, name: Name, shown: str, *, create: bool = False, mode: int = 0o700) -> int:
    """Open folder ``name`` inside ``parent`` without following a symlink; ``create`` makes it if missing,
    with ``mode`` as ``os.mkdir`` takes it, less the user's umask (not syncoxide's private one: modes.py).

    ``shown`` is the path used in a Blocked error."""
    if name in ("..", b".."):
        raise Blocked(shown, "a parent reference")
    try:
        return os.open(name, _OPEN_DIR, dir_fd=parent)
    except FileNotFoundError:
        if not create:
            raise
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise
        found = lstat_at(parent, name)
        raise Blocked(shown, describe(found.st_mode) if found else "something that changed") from None
    try:
        os.mkdir(name, mode, dir_fd=parent)
    except FileExistsError:
        return open_child(parent, name, shown, create=False)  # made meanwhile: opened (and checked) here
    made = open_child(parent, name, shown, create=False)
    as_user_made(made, mode)
    return made


class closing_fd:  # noqa: N801 - used like contextlib.closing
    """An fd closed on leaving the block: ``with closing_fd(os.open(...)) as fd``."""

    def __init__(self, fd: int):
        self.fd = fd

    def __enter__(self) -> int:
        return self.fd

    def __exit__(self, *_: object) -> None:
        os.close(self.fd)


def open_root(path: str | Path) -> int:
    """Open the folder the caller named (followed if it is a symlink: the caller chose it)."""
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


class Walker:
    """Opens folders below ``root`` by their components, keeping the chain of the last one open, so a
    run of paths in listing order opens each folder once. Use as a context manager."""

    def __init__(self, root: str | Path, *, create: bool = False, mode: int = 0o700):
        self.root = str(root)
        self.create = create
        self.mode = mode
        self._root_fd = open_root(root)
        self._chain: list[tuple[str, int]] = []

    def __enter__(self) -> Walker:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._truncate(0)
        if self._root_fd >= 0:
            os.close(self._root_fd)
            self._root_fd = -1

    def _truncate(self, depth: int) -> None:
        while len(self._chain) > depth:
            os.close(self._chain.pop()[1])

    def shown(self, parts: Sequence[str]) -> str:
        return os.path.join(self.root, *parts)

    def folder(self, parts: Sequence[str]) -> int:
        """The fd of root/parts (borrowed: valid until the next call). FileNotFoundError when a part is
        missing and ``create`` is off; Blocked when one is not a real folder."""
        common = 0
        while common < min(len(parts), len(self._chain)) and self._chain[common][0] == parts[common]:
            common += 1
        self._truncate(common)
        for index in range(common, len(parts)):
            parent = self._chain[-1][1] if self._chain else self._root_fd
            fd = open_child(parent, parts[index], self.shown(parts[: index + 1]), create=self.create, mode=self.mode)
            self._chain.append((parts[index], fd))
        return self._chain[-1][1] if self._chain else self._root_fd

    def parent(self, parts: Sequence[str]) -> tuple[int, str]:
        """The opened parent folder of root/parts and the last part's name."""
        if not parts:
            raise ValueError("the root itself has no parent below the root")
        return self.folder(parts[:-1]), parts[-1]

    def lstat(self, parts: Sequence[str]) -> os.stat_result | None:
        """What sits at root/parts, not followed; None when it or a folder above it is missing."""
        try:
            fd, name = self.parent(parts)
        except FileNotFoundError:
            return None
        return lstat_at(fd, name)


def relative_parts(root: str | Path, path: str) -> list[str] | None:
    """The components of absolute ``path`` below ``root``; None when it is not below it."""
    base, full = split(root), split(path)
    if len(full) <= len(base) or full[: len(base)] != base or ".." in full:
        return None
    return full[len(base) :]


def open_regular(name: Name, *, dir_fd: int | None = None) -> int:
    """An fd to read the regular file ``name``: never a FIFO (opening one would wait for a writer), socket or
    device, and not through a symlink at ``name`` itself. OSError otherwise (Blocked for a file of another
    kind)."""
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise Blocked(os.fsdecode(name), describe(mode))
    os.set_blocking(fd, True)
    return fd
