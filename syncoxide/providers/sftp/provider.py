"""SFTP through OpenSSH's client: a directory on an SSH server (OpenSSH's sftp-server or internal-sftp).

Location: ``sftp://user@host:port/absolute/path`` (``/~/path`` for one under the home directory).
The server's host key must be known (``known_hosts`` option, default ~/.ssh/known_hosts).
``ssh -s sftp`` carries the session (``ssh_command.py``; its encryption runs in C, in a process of its own),
this side speaks SFTP over its pipes (``session.py``, ``file.py``); ``temp_files.py`` is its temp-file writer.
Writes go to a hidden temporary name and are renamed into place with posix-rename@openssh.com.
"""

from __future__ import annotations

import errno
import posixpath
import stat as statmod
import weakref
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from syncoxide.config import Settings
from syncoxide.errors import InvalidInput
from syncoxide.fs import names
from syncoxide.providers import options, paths
from syncoxide.providers.base import (
    Capabilities,
    Entry,
    Metadata,
    Provider,
    RangeReader,
    Readable,
    ReadStream,
    TrackedSource,
    check_range,
    set_aside,
    special_kind,
    temp_name,
    utc,
)
from syncoxide.providers.errors import (
    FULL,
    NoSpace,
    ObjectNotFound,
    ProviderError,
    ProviderNotFound,
    ProviderTransient,
)
from syncoxide.providers.sftp.file import RemoteFile
from syncoxide.providers.sftp.refusal import refusal
from syncoxide.providers.sftp.session import SftpSession
from syncoxide.providers.sftp.ssh_command import SshConnection, SshTarget, check_key
from syncoxide.providers.sftp.temp_files import SftpTempFiles
from syncoxide.providers.sftp.wire import Attrs
from syncoxide.providers.spec import ProviderSpec
from syncoxide.secrets.in_locations import redacted

WRITE_CHUNK = 256 * 1024
MD5_TIMEOUT = 3600


class SftpProvider(Provider):
    kind = "sftp"
    capabilities = Capabilities(
        hashes=frozenset(),
        server_side_copy=False,
        set_mtime=True,
        mtime_precision=1.0,
        modes=True,
        metadata=frozenset({"owner"}),
        connection_per_thread=True,
    )

    def __init__(self, display: str, connection: SshConnection, session: SftpSession, root: str):
        super().__init__(display)
        self._connection = connection
        self.session = session
        self.root = root
        self._real: set[str] = set()
        """folders below the root checked to be real folders (not symlinks) on this connection"""

    def open_file(self, path: str, mode: str) -> RemoteFile:
        """A file by absolute path (``rb``, ``wb``, ``w+b``, ``r+b``); a write the server refuses raises. A file
        it makes is its owner's alone until it lands and takes the source's permission bits."""
        return RemoteFile(self.session, path, mode)

    def explain(self, exc: BaseException, path: str) -> BaseException:
        """``exc`` from a request on ``path``, or ENOSPC or EROFS where the server refused it for want of room or
        on a read-only filesystem (ask before removing what was written: that frees the room again)."""
        return refusal(self.session, exc, self._abs(paths.parent(path))) or exc

    def temp_file_writer(self) -> SftpTempFiles:
        return SftpTempFiles(self.session, self._abs, self.explain, self._fail)

    def server_md5(self) -> SftpProvider:
        return self

    def remote_md5(self, path: str) -> str | None:
        """``md5sum`` run by the server on its own file; None where it cannot run commands (SFTP-only accounts)."""
        try:
            code, output = self._connection.run(["md5sum", "--", self._abs(path)], MD5_TIMEOUT)
        except (OSError, TimeoutError):
            return None
        value = output.split(" ", 1)[0].strip().lower()
        return value if code == 0 and len(value) == 32 else None

    def _abs(self, path: str) -> str:
        clean = paths.clean(path)
        return posixpath.join(self.root, clean) if clean else self.root

    def _fail(self, exc: OSError, path: str) -> Exception:
        if exc.errno == errno.ENOENT:
            return ObjectNotFound(f"{self.display}: {path or '/'} not found")
        if exc.errno in FULL:
            return NoSpace.of(self.display, path, exc)
        if isinstance(exc, ConnectionError):
            return ProviderTransient(f"{self.display}: connection lost during {path}: {exc}")
        detail = exc.strerror or str(exc) or type(exc).__name__
        return ProviderError(f"{self.display}: {path}: {detail}")

    @staticmethod
    def _entry(path: str, attrs: Attrs) -> Entry:
        is_dir = statmod.S_ISDIR(attrs.mode or 0)
        mode = attrs.mode
        return Entry(
            path=path,
            size=0 if is_dir else attrs.size or 0,
            mtime=utc(attrs.mtime or 0),
            is_dir=is_dir,
            mode=statmod.S_IMODE(mode) if mode is not None else None,
            special=special_kind(mode) if mode is not None else None,
        )

    def list(self, path: str = "", *, specials: list[Entry] | None = None) -> Iterator[Entry]:
        start = paths.clean(path)
        top = self.stat(start) if start else None
        if top is not None and not top.is_dir:
            return
        stack = [start]
        while stack:
            current = stack.pop()
            try:
                for name, attrs in self.session.listdir(self._abs(current)):
                    entry = self._entry(paths.join(current, name), attrs)
                    if set_aside(entry, specials):
                        continue
                    yield entry
                    if entry.is_dir:
                        stack.append(entry.path)
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    continue  # vanished while listing
                raise self._fail(exc, current) from None

    def stat(self, path: str) -> Entry:
        clean = paths.clean(path)
        try:
            return self._entry(clean, self.session.stat(self._abs(clean)))
        except OSError as exc:
            raise self._fail(exc, clean) from None

    def open_read(self, path: str, offset: int = 0, length: int | None = None) -> ReadStream:
        check_range(offset, length)
        clean = paths.clean(path)
        try:
            handle = self.open_file(self._abs(clean), "rb")
            handle.seek(offset)
            handle.read_ahead(length if length is not None else max(0, (handle.stat().size or 0) - offset))
        except OSError as exc:
            raise self._fail(exc, clean) from None
        return RangeReader(handle, length)

    def _folders(self, directory: str, *, create: bool) -> None:
        """Check that every folder from the root down to ``directory`` is a real folder, not a symlink (the server
        follows a symlink anywhere in a path: a write below one would land elsewhere); ``create`` makes the
        missing ones. Each folder is checked once per connection (``_real``): a symlink planted after that is
        not seen (SFTP has no O_NOFOLLOW)."""
        done: list[str] = []
        for part in directory.split("/") if directory else []:
            done.append(part)
            folder = "/".join(done)
            if folder in self._real:
                continue
            try:
                mode = self.session.lstat(self._abs(folder)).mode or 0
            except OSError as exc:
                if exc.errno != errno.ENOENT or not create:
                    raise
                try:
                    self.session.mkdir(self._abs(folder))
                except OSError:
                    pass  # made meanwhile, or refused: the lstat below tells
                mode = self.session.lstat(self._abs(folder)).mode or 0
            if not statmod.S_ISDIR(mode):
                what = "a symlink" if statmod.S_ISLNK(mode) else "not a folder"
                raise ProviderError(f"{self.display}: {names.shown(folder)} is {what}: nothing is written below it")
            self._real.add(folder)

    def _mkdirs(self, directory: str) -> None:
        self._folders(directory, create=True)

    def _not_a_link(self, clean: str) -> None:
        """A SETSTAT follows a symlink at the path itself: refuse one there."""
        self._folders(paths.parent(clean), create=False)
        if statmod.S_ISLNK(self.session.lstat(self._abs(clean)).mode or 0):
            raise ProviderError(f"{self.display}: {names.shown(clean)} is a symlink: not followed")

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
        temp = self._abs(temp_name(clean))
        tracked = TrackedSource(source)
        try:
            self._mkdirs(paths.parent(clean))
            with self.open_file(temp, "wb") as out:
                while chunk := tracked.read(WRITE_CHUNK):
                    out.write(chunk)
                if mtime is not None:
                    out.utime(mtime.timestamp())
            self.session.posix_rename(temp, self._abs(clean))
        except BaseException as exc:
            if tracked.error is not None or not isinstance(exc, OSError):
                self._remove_quietly(temp)
                raise
            explained = self.explain(exc, clean)
            assert isinstance(explained, OSError)  # explain gives an OSError for an OSError
            failure = self._fail(explained, clean)
            self._remove_quietly(temp)
            raise failure from None
        return self.stat(clean)

    def _remove_quietly(self, absolute: str) -> None:
        try:
            self.session.remove(absolute)
        except OSError:
            pass

    def mkdir(self, path: str) -> None:
        clean = paths.clean(path)
        try:
            self._mkdirs(clean)
        except OSError as exc:
            raise self._fail(exc, clean) from None

    def delete(self, path: str) -> None:
        clean = paths.clean(path)
        try:
            self._folders(paths.parent(clean), create=False)
            self.session.remove(self._abs(clean))
        except OSError as exc:
            raise self._fail(exc, clean) from None

    def rmdir(self, path: str) -> None:
        clean = paths.clean(path)
        try:
            self._folders(paths.parent(clean), create=False)
            self.session.rmdir(self._abs(clean))
            self._real.discard(clean)
        except OSError as exc:
            raise self._fail(exc, clean) from None

    def move(self, src: str, dst: str) -> None:
        s, d = paths.clean(src), paths.clean(dst)
        self.stat(s)
        try:
            self._folders(paths.parent(s), create=False)
            self._mkdirs(paths.parent(d))
            self.session.posix_rename(self._abs(s), self._abs(d))
        except OSError as exc:
            raise self._fail(exc, s) from None

    def set_mtime(self, path: str, mtime: datetime) -> None:
        clean = paths.clean(path)
        try:
            self._not_a_link(clean)
            self.session.utime(self._abs(clean), mtime.timestamp())
        except OSError as exc:
            raise self._fail(exc, clean) from None

    def read_metadata(self, path: str) -> Metadata:
        clean = paths.clean(path)
        try:
            attrs = self.session.lstat(self._abs(clean))
        except OSError as exc:
            raise self._fail(exc, clean) from None
        return Metadata(uid=attrs.uid, gid=attrs.gid)

    def write_metadata(self, path: str, metadata: Metadata) -> None:
        """The owner (the server lets only root give a file away); SFTP v3 carries no extended attributes."""
        if metadata.uid is None or metadata.gid is None:
            return
        clean = paths.clean(path)
        try:
            self._not_a_link(clean)
            there = self.session.lstat(self._abs(clean))
            if (there.uid, there.gid) != (metadata.uid, metadata.gid):
                self.session.setstat(self._abs(clean), Attrs(uid=metadata.uid, gid=metadata.gid))
        except OSError as exc:
            raise self._fail(exc, clean) from None

    def set_mode(self, path: str, mode: int) -> None:
        clean = paths.clean(path)
        try:
            self._not_a_link(clean)
            self.session.setstat(self._abs(clean), Attrs(mode=mode))
        except OSError as exc:
            raise self._fail(exc, clean) from None

    def close(self) -> None:
        self.session.close()
        self._connection.close()


def _weakly(connection: SshConnection) -> Callable[[], str]:
    """``connection.why_lost`` without keeping the connection alive: the session's reader thread holds this, and
    a provider nobody closed must still end its ssh process when it is collected."""
    reference = weakref.ref(connection)

    def why_lost() -> str:
        alive = reference()
        return alive.why_lost() if alive is not None else "the connection was closed"

    return why_lost


def connect(spec: ProviderSpec, settings: Settings) -> SftpProvider:
    url = urlsplit(spec.location)
    if url.scheme != "sftp" or not url.hostname:
        raise InvalidInput(f"sftp location {redacted(spec.location)!r} must look like sftp://user@host:port/path")
    user = unquote(url.username or "") or None
    port = url.port or 22
    raw_path = unquote(url.path) or "/"
    home_relative = raw_path == "/~" or raw_path.startswith("/~/")
    root = (raw_path[3:] or ".") if home_relative else posixpath.normpath(raw_path)
    display = f"sftp://{user + '@' if user else ''}{url.hostname}:{port}{raw_path}"
    key_passphrase = options.secret(spec, "key_passphrase")
    key_text = options.text(spec, "key_file")
    key_file = Path(key_text).expanduser() if key_text else None
    if key_file is not None:
        check_key(key_file, key_passphrase)
    target = SshTarget(
        host=url.hostname,
        port=port,
        user=user,
        display=display,
        key_file=key_file,
        known_hosts=Path(options.text(spec, "known_hosts") or "~/.ssh/known_hosts").expanduser(),
        password=options.secret(spec, "password"),
        key_passphrase=key_passphrase,
        timeout=options.number(spec, "timeout", 30),
    )
    connection = SshConnection(target)
    try:
        session = SftpSession(connection.incoming, connection.outgoing, _weakly(connection))
    except OSError:
        failure = connection.failure()
        connection.close()
        raise failure from None
    provider = SftpProvider(display, connection, session, root)
    try:
        root_entry = provider.stat("")
    except ObjectNotFound:
        provider.close()
        raise ProviderNotFound(f"{display}: the root directory does not exist") from None
    except BaseException:
        provider.close()
        raise
    if not root_entry.is_dir:
        provider.close()
        raise ProviderNotFound(f"{display}: the root is not a directory")
    return provider
