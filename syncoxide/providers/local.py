"""A local directory. Writes go to a hidden temporary sibling, fsync, then rename into place."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat as statmod
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, cast

from syncoxide.config import Settings
from syncoxide.fs import names, nofollow
from syncoxide.providers import options, paths
from syncoxide.providers.base import (
    COPY_CHUNK,
    Capabilities,
    Entry,
    Metadata,
    Provider,
    RangeReader,
    Readable,
    ReadStream,
    TrackedSource,
    check_range,
    default_mode,
    is_temp,
    set_aside,
    special_kind,
    temp_name,
    utc,
)
from syncoxide.providers.errors import ObjectNotFound, ProviderError, ProviderNotFound, ProviderTransient
from syncoxide.providers.local_temp_files import LocalTempFiles
from syncoxide.providers.spec import ProviderSpec

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_OPEN = {
    "rb": os.O_RDONLY,
    "wb": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
    "w+b": os.O_RDWR | os.O_CREAT | os.O_TRUNC,
    "r+b": os.O_RDWR,
}
PRIVATE = 0o600
"""a file being written is its owner's alone until it lands and takes the source's permission bits"""
LINK_SUFFIX = ".rclonelink"
"""``links``: a symlink NAME is the file NAME.rclonelink holding its target, as rclone's ``--links`` has it"""
LINK_MAX = 64 * 1024


class LocalProvider(Provider):
    """Names are bytes on disk and stored-form text here (``syncoxide.fs.names``). Every operation reaches its
    path from the root one folder at a time without following a symlink (``nofollow.open_child``), and only
    regular files are ever opened: a symlink planted at the destination is never written through, and a
    FIFO, socket or device is never read.

    ``links`` (rclone's ``--links``): a symlink is the file NAME.rclonelink whose content is its target, read,
    written, moved and deleted as one; writing such a file makes the symlink (never through it).
    ``copy_links`` (rclone's ``--copy-links``): symlinks are read as what they point to (folders are listed,
    a loop is reported, not followed twice); writing still never follows one."""

    kind = "local"
    capabilities = Capabilities(
        hashes=frozenset(),
        server_side_copy=True,
        set_mtime=True,
        mtime_precision=1e-6,
        modes=True,
        metadata=frozenset({"owner", "xattrs"}),
    )

    def __init__(self, root: Path, *, links: bool = False, copy_links: bool = False):
        super().__init__(str(root))
        self.root = root
        self._root = os.fsencode(root)
        self.links = links
        self.copy_links = copy_links

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
                child = nofollow.open_child(
                    fd, names.to_bytes(part), names.shown("/".join(done)), create=create, mode=0o777
                )
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
        return Entry(
            path=path,
            size=0 if is_dir else st.st_size,
            mtime=utc(st.st_mtime_ns / 1e9),
            is_dir=is_dir,
            mode=statmod.S_IMODE(st.st_mode),
            special=special_kind(st.st_mode),
        )

    def list(self, path: str = "", *, specials: list[Entry] | None = None) -> Iterator[Entry]:
        start = paths.clean(path)
        top = self.stat(start) if start else None
        if top is not None and not top.is_dir:
            return
        top_st = os.stat(self._abs(start))
        stack: list[tuple[str, frozenset[tuple[int, int]]]] = [(start, frozenset({(top_st.st_dev, top_st.st_ino)}))]
        while stack:
            current, above = stack.pop()  # above: the folders this one is in (copy_links: a link to one loops)
            try:
                for name, st, full in self._scan(current):
                    rel = paths.join(current, names.stored(name))
                    try:
                        entry, st = self._listed(rel, full, st, above)
                    except FileNotFoundError:
                        continue  # vanished while listing
                    if set_aside(entry, specials):
                        continue
                    yield entry
                    if entry.is_dir:
                        stack.append((rel, above | {(st.st_dev, st.st_ino)}))
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise self._fail(exc, current) from None

    def _scan(self, folder: str) -> Iterator[tuple[bytes, os.stat_result, bytes]]:
        """(name, its lstat, a path to reach it) of each entry of ``folder``: the folder opened without following
        a symlink on the way (``copy_links``: by its path, which follows the links it was reached through)."""
        if self.copy_links:
            with os.scandir(self._abs(folder)) as it:
                for item in it:
                    with contextlib.suppress(FileNotFoundError):
                        yield item.name, item.stat(follow_symlinks=False), item.path
            return
        with self._folder(folder) as fd:
            names_there = os.listdir(fd)
            for name in names_there:
                raw = os.fsencode(name)
                try:
                    st = os.stat(raw, dir_fd=fd, follow_symlinks=False)
                except FileNotFoundError:
                    continue  # vanished while listing
                if statmod.S_ISLNK(st.st_mode) and self.links:
                    yield raw, st, os.readlink(raw, dir_fd=fd)  # what links needs: the target
                else:
                    yield raw, st, b""

    def _listed(
        self, rel: str, full: bytes, st: os.stat_result, above: frozenset[tuple[int, int]]
    ) -> tuple[Entry, os.stat_result]:
        """The entry a listing gives for what ``st`` describes (a symlink as ``links``/``copy_links`` say), and
        the stat it was made from."""
        entry = self._entry(rel, st)
        if entry.special != "symlink":
            return entry, st
        if self.copy_links:
            try:
                there = os.stat(full)
            except OSError:
                return Entry(path=rel, size=0, mtime=entry.mtime, special="symlink that leads nowhere"), st
            if statmod.S_ISDIR(there.st_mode) and (there.st_dev, there.st_ino) in above:
                return Entry(path=rel, size=0, mtime=entry.mtime, special="symlink to a folder it is in (a loop)"), st
            return self._entry(rel, there), there
        if self.links:  # ``full`` is the link's target here (see _scan)
            return Entry(path=rel + LINK_SUFFIX, size=len(full), mtime=entry.mtime), st
        return entry, st

    def _as_link(self, clean: str) -> str | None:
        """``links``: the symlink's own path when ``clean`` is its NAME.rclonelink (and no file has that name)."""
        if not self.links or not clean.endswith(LINK_SUFFIX) or paths.name(clean) == LINK_SUFFIX:
            return None
        real = clean[: -len(LINK_SUFFIX)]
        try:
            with self._folder(paths.parent(clean)) as fd:
                if nofollow.lstat_at(fd, names.to_bytes(paths.name(clean))) is not None:
                    return None
                found = nofollow.lstat_at(fd, names.to_bytes(paths.name(real)))
        except OSError:
            return None
        return real if found is not None and statmod.S_ISLNK(found.st_mode) else None

    def _link_target(self, real: str) -> bytes:
        with self._at(real) as (fd, name, clean):
            try:
                return os.readlink(name, dir_fd=fd)
            except OSError as exc:
                raise self._fail(exc, clean) from None

    def _land_link(self, temp: str, clean: str) -> None:
        """Make the symlink ``clean`` (NAME.rclonelink) stands for from the target written to ``temp``, with its
        time; ``temp`` goes. A file or folder by the symlink's own name is never replaced."""
        real = clean[: -len(LINK_SUFFIX)]
        with self.open_file(temp, "rb") as handle:
            target = handle.read(LINK_MAX + 1)
            mtime_ns = os.fstat(handle.fileno()).st_mtime_ns
        if len(target) > LINK_MAX or not target or b"\0" in target:
            raise ProviderError(f"{self.display}: {names.shown(clean)} does not hold a symlink's target")
        with self._at(real, create=True) as (fd, name, _):
            there = nofollow.lstat_at(fd, name)
            if there is not None and not statmod.S_ISLNK(there.st_mode):
                raise ProviderError(
                    f"{self.display}: {names.shown(real)} is {nofollow.describe(there.st_mode)}: "
                    "the symlink of that name is not made"
                )
            made = names.to_bytes(paths.name(temp_name(real)))
            os.symlink(target, made, dir_fd=fd)
            try:
                os.utime(made, dir_fd=fd, ns=(mtime_ns, mtime_ns), follow_symlinks=False)
                os.replace(made, name, src_dir_fd=fd, dst_dir_fd=fd)
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(made, dir_fd=fd)
                raise
        self._discard(temp)

    def stat(self, path: str) -> Entry:
        clean = paths.clean(path)
        if self.copy_links:
            try:
                st = os.stat(self._abs(clean))
            except OSError as exc:
                raise self._fail(exc, clean) from None
            return self._entry(clean, st)
        if (real := self._as_link(clean)) is not None:
            with self._at(real) as (fd, name, _):
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            return Entry(path=clean, size=len(self._link_target(real)), mtime=utc(st.st_mtime_ns / 1e9))
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

    def temp_file_writer(self) -> LocalTempFiles:
        return LocalTempFiles(self, self._fail)

    def open_file(self, path: str, mode: str) -> BinaryIO:
        """A regular file by path, in ``rb``, ``wb``, ``w+b`` or ``r+b``; made (``w``) private to its owner.
        Nothing on the way, nor the file itself, is followed if it is a symlink (but for reading with
        ``copy_links``); a special file is refused."""
        if mode == "rb" and (real := self._as_link(paths.clean(path))) is not None:
            return io.BytesIO(self._link_target(real))
        if mode == "rb" and self.copy_links:
            try:
                fd = os.open(self._abs(path), os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # followed: asked for
            except OSError as exc:
                raise self._fail(exc, paths.clean(path)) from None
            return self._regular(fd, paths.clean(path), mode)
        with self._at(path, create=mode.startswith("w")) as (folder, name, clean):
            try:
                fd = os.open(name, _OPEN[mode] | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, PRIVATE, dir_fd=folder)
            except OSError as exc:
                raise self._fail(exc, clean) from None
        return self._regular(fd, clean, mode)

    def _regular(self, fd: int, clean: str, mode: str) -> BinaryIO:
        st = os.fstat(fd)
        if not statmod.S_ISREG(st.st_mode):
            os.close(fd)
            what = "a directory" if statmod.S_ISDIR(st.st_mode) else f"a {special_kind(st.st_mode)}"
            raise ProviderError(f"{self.display}: {names.shown(clean)} is {what}: never opened as data")
        os.set_blocking(fd, True)
        return cast(BinaryIO, os.fdopen(fd, mode))  # mode is one of _OPEN's, all binary: a buffered binary file

    def open_read(self, path: str, offset: int = 0, length: int | None = None) -> ReadStream:
        check_range(offset, length)
        handle = self.open_file(path, "rb")
        handle.seek(offset)
        return RangeReader(handle, length)

    def write(
        self,
        path: str,
        source: Readable,
        *,
        size: int | None = None,
        mtime: datetime | None = None,
        in_place: bool = False,
    ) -> Entry:
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
        with self._at(self._as_link(paths.clean(path)) or path) as (fd, name, clean):
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
        if self.links and paths.clean(dst).endswith(LINK_SUFFIX):
            d = paths.clean(dst)
            if (real := self._as_link(paths.clean(src))) is not None:
                src, dst = real, d[: -len(LINK_SUFFIX)]  # the symlink itself moves, over nothing but a symlink
                if self._as_link(d) is None and self.exists(dst):
                    raise ProviderError(
                        f"{self.display}: {names.shown(dst)} is there and is not a symlink: the "
                        "symlink is not moved over it"
                    )
            elif is_temp(paths.clean(src)):
                self._land_link(paths.clean(src), d)
                return
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
        if (real := self._as_link(paths.clean(src))) is not None:
            self.write(dst, io.BytesIO(self._link_target(real)), mtime=self.stat(src).mtime)
            return
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
        with self._at(self._as_link(paths.clean(path)) or path) as (fd, name, clean):
            try:
                os.utime(name, dir_fd=fd, ns=(ns, ns), follow_symlinks=False)
            except OSError as exc:
                raise self._fail(exc, clean) from None

    def set_mode(self, path: str, mode: int) -> None:
        if self._as_link(paths.clean(path)) is not None:
            return  # a symlink's own bits mean nothing on Linux
        with self.open_file(path, "rb") as handle:
            os.fchmod(handle.fileno(), mode)

    @contextmanager
    def _opened(self, path: str) -> Iterator[int]:
        """An fd of the file or folder at ``path`` (reached without following a symlink), for its metadata."""
        clean = paths.clean(path)
        entry = self.stat(clean)
        if entry.is_dir:
            try:
                with self._folder(clean) as fd:
                    yield fd
            except OSError as exc:
                raise self._fail(exc, clean) from None
            return
        with self.open_file(clean, "rb") as handle:
            yield handle.fileno()

    def read_metadata(self, path: str) -> Metadata:
        if self._as_link(paths.clean(path)) is not None:
            return Metadata()
        with self._opened(path) as fd:
            st = os.fstat(fd)
            try:
                attrs = {name.encode(): os.getxattr(fd, name) for name in os.listxattr(fd) if name.startswith("user.")}
            except OSError:  # a filesystem without extended attributes
                attrs = {}
        return Metadata(uid=st.st_uid, gid=st.st_gid, xattrs=attrs)

    def write_metadata(self, path: str, metadata: Metadata) -> None:
        """The owner only as root (nobody else may give a file away); ``user.*`` attributes replace those there."""
        if self._as_link(paths.clean(path)) is not None:
            return
        clean = paths.clean(path)
        with self._opened(clean) as fd:
            try:
                if os.geteuid() == 0 and metadata.uid is not None and metadata.gid is not None:
                    os.fchown(fd, metadata.uid, metadata.gid)
                there = {n for n in os.listxattr(fd) if n.startswith("user.")}
                for name in there - {n.decode() for n in metadata.xattrs}:
                    os.removexattr(fd, name)
                for attribute, value in metadata.xattrs.items():
                    os.setxattr(fd, attribute, value)
            except OSError as exc:
                raise self._fail(exc, clean) from None


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
    return LocalProvider(
        root.resolve(), links=options.flag(spec, "links", False), copy_links=options.flag(spec, "copy_links", False)
    )
