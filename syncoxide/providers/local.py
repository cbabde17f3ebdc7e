"""A local directory. Writes go to a hidden temporary sibling, fsync, then rename into place."""

from __future__ import annotations

import contextlib
import errno
import os
import stat as statmod
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from syncoxide.config import Settings
from syncoxide.fs import names, nofollow
from syncoxide.providers import paths
from syncoxide.providers.base import (
    COPY_CHUNK,
    Capabilities,
    Entry,
    Provider,
    RangeReader,
    Readable,
    TrackedSource,
    check_range,
    default_mode,
    special_kind,
    temp_name,
    utc,
)
from syncoxide.providers.errors import ObjectNotFound, ProviderError, ProviderNotFound, ProviderTransient
from syncoxide.providers.spec import ProviderSpec

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_OPEN = {"rb": os.O_RDONLY, "wb": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
         "w+b": os.O_RDWR | os.O_CREAT | os.O_TRUNC, "r+b": os.O_RDWR}
PRIVATE = 0o600
"""a file being written is its owner's alone until it lands and takes the source's permission bits"""


class LocalProvider(Provider):
    """Names are bytes on disk and stored-form text here (``syncoxide.fs.names``). Every operation reaches its
    path from the root one folder at a time without following a symlink (``nofollow.open_child``), and only
    regular files are ever opened: a symlink planted at the destination is never written through, and a
    FIFO, socket or device is never read."""

    kind = "local"
    capabilities = Capabilities(hashes=frozenset(), server_side_copy=True, set_mtime=True, mtime_precision=1e-6,
                                modes=True)

    def __init__(self, root: Path):
        super().__init__(str(root))
        self.root = root
        self._root = os.fsencode(root)

    def _abs(self, path: str) -> bytes:
        clean = paths.clean(path)
        return self._root + b"/" + names.to_bytes(clean) if clean else self._root

    def _fail(self, exc: OSError, path: str) -> Exception:
        if isinstance(exc, nofollow.Blocked):
            return ProviderError(f"{self.display}: {exc}: not followed")
        if exc.errno == errno.ENOENT:
            return ObjectNotFound(f"{self.display}: {names.shown(path) or '/'} not found")
        if exc.errno == errno.ELOOP:
            return ProviderError(f"{self.display}: {names.shown(path)} is a symlink: not followed")
        if exc.errno in (errno.EIO, errno.EAGAIN, errno.EBUSY, errno.ETIMEDOUT):
            return ProviderTransient(f"{self.display}: {names.shown(path)}: {exc.strerror}")
        return ProviderError(f"{self.display}: {names.shown(path)}: {exc.strerror}")

    @contextmanager
    def _folder(self, clean: str, *, create: bool = False) -> Iterator[int]:
        """The opened folder at ``clean`` (relative to the root), reached without following a symlink."""
        fd = os.open(self._root, _DIR)
        try:
            done: list[str] = []
            for part in clean.split("/") if clean else []:
                done.append(part)
                child = nofollow.open_child(fd, names.to_bytes(part), names.shown("/".join(done)), create=create,
                                            mode=0o777)
                os.close(fd)
                fd = child
            yield fd
        finally:
            os.close(fd)

    @contextmanager
    def _at(self, path: str, *, create: bool = False) -> Iterator[tuple[int, bytes, str]]:
        """(the opened parent folder, the last name as bytes, the clean path) of a path below the root."""
        clean = paths.clean(path)
        if not clean:
            raise ProviderError(f"{self.display}: the root itself is not a file")
        try:
            with self._folder(paths.parent(clean), create=create) as fd:
                yield fd, names.to_bytes(paths.name(clean)), clean
        except OSError as exc:
            raise self._fail(exc, clean) from None

    def _entry(self, path: str, st: os.stat_result) -> Entry:
        is_dir = statmod.S_ISDIR(st.st_mode)
        return Entry(path=path, size=0 if is_dir else st.st_size, mtime=utc(st.st_mtime_ns / 1e9), is_dir=is_dir,
                     mode=statmod.S_IMODE(st.st_mode), special=special_kind(st.st_mode))

    def list(self, path: str = "", *, specials: list[Entry] | None = None) -> Iterator[Entry]:
        start = paths.clean(path)
        top = self.stat(start) if start else None
        if top is not None and not top.is_dir:
            return
        stack = [start]
        while stack:
            current = stack.pop()
            try:
                with os.scandir(self._abs(current)) as it:
                    for item in it:
                        rel = paths.join(current, names.stored(item.name))
                        try:
                            st = item.stat(follow_symlinks=False)
                        except FileNotFoundError:
                            continue  # vanished while listing
                        entry = self._entry(rel, st)
                        if entry.special is not None:
                            if specials is not None:
                                specials.append(entry)
                            continue  # never followed, never opened as data
                        yield entry
                        if entry.is_dir:
                            stack.append(rel)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise self._fail(exc, current) from None

    def stat(self, path: str) -> Entry:
        clean = paths.clean(path)
        if not clean:
            try:
                return self._entry("", os.stat(self._root))
            except OSError as exc:
                raise self._fail(exc, clean) from None
        with self._at(clean) as (fd, name, clean):
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except OSError as exc:
                raise self._fail(exc, clean) from None
        entry = self._entry(clean, st)
        if entry.special is not None:
            raise ProviderError(f"{self.display}: {names.shown(clean)} is a {entry.special}, not a file or folder")
        return entry

    def open_file(self, path: str, mode: str) -> BinaryIO:
        """A regular file by path, in ``rb``, ``wb``, ``w+b`` or ``r+b``; made (``w``) private to its owner.
        Nothing on the way, nor the file itself, is followed if it is a symlink; a special file is refused."""
        with self._at(path, create=mode.startswith("w")) as (folder, name, clean):
            try:
                fd = os.open(name, _OPEN[mode] | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, PRIVATE, dir_fd=folder)
            except OSError as exc:
                raise self._fail(exc, clean) from None
        st = os.fstat(fd)
        if not statmod.S_ISREG(st.st_mode):
            os.close(fd)
            what = "a directory" if statmod.S_ISDIR(st.st_mode) else f"a {special_kind(st.st_mode)}"
            raise ProviderError(f"{self.display}: {names.shown(clean)} is {what}: never opened as data")
        os.set_blocking(fd, True)
        return os.fdopen(fd, mode)

    def open_read(self, path: str, offset: int = 0, length: int | None = None) -> BinaryIO:
        check_range(offset, length)
        handle = self.open_file(path, "rb")
        handle.seek(offset)
        return RangeReader(handle, length)  # type: ignore[return-value]

    def write(self, path: str, source: Readable, *, size: int | None = None, mtime: datetime | None = None,
              in_place: bool = False) -> Entry:
        clean = paths.clean(path)
        temp = temp_name(clean)
        tracked = TrackedSource(source)
        try:
            with self.open_file(temp, "wb") as out:
                while chunk := tracked.read(COPY_CHUNK):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
                os.fchmod(out.fileno(), default_mode())
                if mtime is not None:
                    ns = int(mtime.timestamp() * 1e9)
                    os.utime(out.fileno(), ns=(ns, ns))
            self.move(temp, clean)
        except (OSError, ProviderError) as exc:
            self._discard(temp)
            if tracked.error is not None or not isinstance(exc, OSError):
                raise
            raise self._fail(exc, clean) from None
        except BaseException:
            self._discard(temp)
            raise
        return self.stat(clean)

    def _discard(self, path: str) -> None:
        with contextlib.suppress(ProviderError, OSError), self._at(path) as (fd, name, _):
            os.unlink(name, dir_fd=fd)

    def mkdir(self, path: str) -> None:
        clean = paths.clean(path)
        try:
            with self._folder(clean, create=True):
                pass
        except OSError as exc:
            raise self._fail(exc, clean) from None

    def delete(self, path: str) -> None:
        with self._at(path) as (fd, name, clean):
            try:
                os.unlink(name, dir_fd=fd)
            except IsADirectoryError:
                raise ProviderError(f"{self.display}: {names.shown(clean)} is a directory (use rmdir)") from None
            except OSError as exc:
                raise self._fail(exc, clean) from None

    def rmdir(self, path: str) -> None:
        with self._at(path) as (fd, name, clean):
            try:
                os.rmdir(name, dir_fd=fd)
            except OSError as exc:
                raise self._fail(exc, clean) from None

    def move(self, src: str, dst: str) -> None:
        with self._at(src) as (sfd, sname, s):
            try:
                os.stat(sname, dir_fd=sfd, follow_symlinks=False)
            except OSError as exc:
                raise self._fail(exc, s) from None
            with self._at(dst, create=True) as (dfd, dname, _):
                try:
                    os.replace(sname, dname, src_dir_fd=sfd, dst_dir_fd=dfd)
                except OSError as exc:
                    raise self._fail(exc, s) from None

    def copy(self, src: str, dst: str) -> None:
        d = paths.clean(dst)
        temp = temp_name(d)
        try:
            with self.open_file(src, "rb") as source, self.open_file(temp, "wb") as out:
                st = os.fstat(source.fileno())
                _copy_range(source.fileno(), out.fileno(), st.st_size)
                os.fchmod(out.fileno(), statmod.S_IMODE(st.st_mode))
                os.utime(out.fileno(), ns=(st.st_atime_ns, st.st_mtime_ns))
            self.move(temp, d)
        except BaseException:
            self._discard(temp)
            raise

    def set_mtime(self, path: str, mtime: datetime) -> None:
        ns = int(mtime.timestamp() * 1e9)
        with self._at(path) as (fd, name, clean):
            try:
                os.utime(name, dir_fd=fd, ns=(ns, ns), follow_symlinks=False)
            except OSError as exc:
                raise self._fail(exc, clean) from None

    def set_mode(self, path: str, mode: int) -> None:
        with self.open_file(path, "rb") as handle:
            os.fchmod(handle.fileno(), mode)


def _copy_range(src: int, dst: int, size: int) -> None:
    """The kernel copies (copy_file_range: a reflink or in-kernel copy where it can), else read and write."""
    left = size
    try:
        while left > 0:
            done = os.copy_file_range(src, dst, min(left, 1 << 30))
            if done == 0:
                break
            left -= done
        return
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
            raise
    os.lseek(src, size - left, os.SEEK_SET)
    while chunk := os.read(src, COPY_CHUNK):
        os.write(dst, chunk)


def connect(spec: ProviderSpec, settings: Settings) -> LocalProvider:
    root = Path(spec.location.removeprefix("file://")).expanduser()
    if not root.is_dir():
        raise ProviderNotFound(f"local provider root {root} is not a directory")
    return LocalProvider(root.resolve())
