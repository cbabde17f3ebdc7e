"""SFTP through paramiko: a directory on an SSH server (OpenSSH's sftp-server or internal-sftp).

Location: ``sftp://user@host:port/absolute/path`` (``/~/path`` for one under the home directory).
The server's host key must be known (``known_hosts`` option, default ~/.ssh/known_hosts).
Writes go to a hidden temporary name and are renamed into place with posix-rename@openssh.com.
"""

from __future__ import annotations

import errno
import posixpath
import socket
import stat as statmod
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

import paramiko
import paramiko.sftp

from syncoxide.config import Settings
from syncoxide.errors import InvalidInput
from syncoxide.providers import options, paths
from syncoxide.providers.base import (
    COPY_CHUNK,
    Capabilities,
    Entry,
    Provider,
    RangeReader,
    Readable,
    TrackedSource,
    check_range,
    temp_name,
    utc,
)
from syncoxide.providers.errors import (
    FULL,
    NoSpace,
    ObjectNotFound,
    ProviderAuthFailed,
    ProviderError,
    ProviderNotFound,
    ProviderTransient,
)
from syncoxide.providers.sftp_file import CheckedFile, checked, no_space
from syncoxide.providers.spec import ProviderSpec

WRITE_CHUNK = 256 * 1024
FAST_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")
"""Preferred when the server has them: authenticated encryption, no separate HMAC over every packet
(~1.5x paramiko's throughput)."""


class SftpProvider(Provider):
    kind = "sftp"
    capabilities = Capabilities(hashes=frozenset(), server_side_copy=False, set_mtime=True, mtime_precision=1.0)

    def __init__(self, display: str, client: paramiko.SSHClient, root: str):
        super().__init__(display)
        self._client = client
        self._sftp = client.open_sftp()
        self.root = root
        self.request_size = _request_size(self._sftp)
        """bytes per SFTP read or write request: what the server says it takes, else the protocol's 32 KiB"""

    def open_file(self, path: str, mode: str) -> CheckedFile:
        """An SFTP file handle by absolute path, reading and writing in the server's largest requests; a write the
        server refuses raises, pipelined too (``sftp_file.py``)."""
        handle = checked(self._sftp.open(path, mode))
        handle.MAX_REQUEST_SIZE = self.request_size
        return handle

    def explain(self, exc: BaseException, path: str) -> BaseException:
        """``exc`` from a request on ``path``, or ENOSPC where the server refused it for want of room (ask before
        removing what was written: that frees the room again)."""
        return no_space(self._sftp, exc, self._abs(paths.parent(path))) or exc

    def _abs(self, path: str) -> str:
        clean = paths.clean(path)
        return posixpath.join(self.root, clean) if clean else self.root

    def _fail(self, exc: Exception, path: str) -> Exception:
        if isinstance(exc, FileNotFoundError) or getattr(exc, "errno", None) == errno.ENOENT:
            return ObjectNotFound(f"{self.display}: {path or '/'} not found")
        if isinstance(exc, OSError) and exc.errno in FULL:
            return NoSpace.of(self.display, path, exc)
        if isinstance(exc, (EOFError, paramiko.SSHException, socket.timeout, ConnectionError)):
            return ProviderTransient(f"{self.display}: connection lost during {path}: {exc}")
        detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return ProviderError(f"{self.display}: {path}: {detail}")

    @staticmethod
    def _entry(path: str, attrs: paramiko.SFTPAttributes) -> Entry:
        is_dir = statmod.S_ISDIR(attrs.st_mode or 0)
        return Entry(path=path, size=0 if is_dir else attrs.st_size or 0, mtime=utc(attrs.st_mtime or 0), is_dir=is_dir)

    def list(self, path: str = "") -> Iterator[Entry]:
        start = paths.clean(path)
        top = self.stat(start) if start else None
        if top is not None and not top.is_dir:
            return
        stack = [start]
        while stack:
            current = stack.pop()
            try:
                items = self._sftp.listdir_iter(self._abs(current))
                for attrs in items:
                    rel = paths.join(current, attrs.filename)
                    if statmod.S_ISLNK(attrs.st_mode or 0):
                        continue
                    entry = self._entry(rel, attrs)
                    yield entry
                    if entry.is_dir:
                        stack.append(rel)
            except FileNotFoundError:
                continue  # vanished while listing
            except (OSError, paramiko.SSHException, EOFError) as exc:
                raise self._fail(exc, current) from None

    def stat(self, path: str) -> Entry:
        clean = paths.clean(path)
        try:
            return self._entry(clean, self._sftp.stat(self._abs(clean)))
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise self._fail(exc, clean) from None

    def open_read(self, path: str, offset: int = 0, length: int | None = None) -> BinaryIO:
        check_range(offset, length)
        clean = paths.clean(path)
        try:
            handle = self._sftp.open(self._abs(clean), "rb", bufsize=COPY_CHUNK)
            handle.MAX_REQUEST_SIZE = self.request_size
            if offset:
                handle.seek(offset)
            if length is None:
                size = handle.stat().st_size or 0
                handle.prefetch(size)
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise self._fail(exc, clean) from None
        return RangeReader(handle, length)  # type: ignore[return-value]

    def _mkdirs(self, directory: str) -> None:
        if not directory:
            return
        try:
            if statmod.S_ISDIR(self._sftp.stat(self._abs(directory)).st_mode or 0):
                return
        except FileNotFoundError:
            pass
        self._mkdirs(paths.parent(directory))
        try:
            self._sftp.mkdir(self._abs(directory))
        except OSError:
            if not statmod.S_ISDIR(self._sftp.stat(self._abs(directory)).st_mode or 0):
                raise

    def write(self, path: str, source: Readable, *, size: int | None = None, mtime: datetime | None = None,
              in_place: bool = False) -> Entry:
        clean = paths.clean(path)
        temp = self._abs(temp_name(clean))
        tracked = TrackedSource(source)
        try:
            self._mkdirs(paths.parent(clean))
            with self.open_file(temp, "wb") as out:
                out.set_pipelined(True)
                while chunk := tracked.read(WRITE_CHUNK):
                    out.write(chunk)
            if mtime is not None:
                ts = mtime.timestamp()
                self._sftp.utime(temp, (ts, ts))
            self._sftp.posix_rename(temp, self._abs(clean))
        except BaseException as exc:
            if tracked.error is not None or not isinstance(exc, (OSError, paramiko.SSHException, EOFError)):
                self._remove_quietly(temp)
                raise
            failure = self._fail(self.explain(exc, clean), clean)  # type: ignore[arg-type]
            self._remove_quietly(temp)
            raise failure from None
        return self.stat(clean)

    def _remove_quietly(self, absolute: str) -> None:
        try:
            self._sftp.remove(absolute)
        except (OSError, paramiko.SSHException, EOFError):
            pass

    def mkdir(self, path: str) -> None:
        clean = paths.clean(path)
        try:
            self._mkdirs(clean)
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise self._fail(exc, clean) from None

    def delete(self, path: str) -> None:
        clean = paths.clean(path)
        try:
            self._sftp.remove(self._abs(clean))
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise self._fail(exc, clean) from None

    def rmdir(self, path: str) -> None:
        clean = paths.clean(path)
        try:
            self._sftp.rmdir(self._abs(clean))
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise self._fail(exc, clean) from None

    def move(self, src: str, dst: str) -> None:
        s, d = paths.clean(src), paths.clean(dst)
        self.stat(s)
        try:
            self._mkdirs(paths.parent(d))
            self._sftp.posix_rename(self._abs(s), self._abs(d))
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise self._fail(exc, s) from None

    def set_mtime(self, path: str, mtime: datetime) -> None:
        clean = paths.clean(path)
        ts = mtime.timestamp()
        try:
            self._sftp.utime(self._abs(clean), (ts, ts))
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise self._fail(exc, clean) from None

    def close(self) -> None:
        self._sftp.close()
        self._client.close()


def _request_size(sftp: paramiko.SFTPClient) -> int:
    """The smaller of the server's read and write limits (OpenSSH's limits@openssh.com), 32 KiB without it."""
    default = paramiko.SFTPFile.MAX_REQUEST_SIZE
    try:
        kind, message = sftp._request(paramiko.sftp.CMD_EXTENDED, "limits@openssh.com")
        if kind != paramiko.sftp.CMD_EXTENDED_REPLY:
            return default
        _packet, read, write = message.get_int64(), message.get_int64(), message.get_int64()
    except (OSError, paramiko.SSHException, EOFError):
        return default  # the server does not have the extension
    return max(default, min(read, write, 1024 * 1024)) if read and write else default


def _fast_ciphers_first(*args: Any, **kwargs: Any) -> paramiko.Transport:
    transport = paramiko.Transport(*args, **kwargs)
    options = transport.get_security_options()
    options.ciphers = tuple(sorted(options.ciphers, key=lambda name: name not in FAST_CIPHERS))
    return transport


def _load_key(key_file: str, passphrase: str | None) -> paramiko.PKey:
    try:
        return paramiko.PKey.from_path(Path(key_file).expanduser(), password=passphrase)
    except FileNotFoundError:
        raise InvalidInput(f"sftp key_file {key_file} does not exist") from None
    except paramiko.PasswordRequiredException:
        raise ProviderAuthFailed(f"sftp key {key_file} is encrypted: give a key_passphrase secret") from None
    except (paramiko.SSHException, ValueError) as exc:
        raise ProviderAuthFailed(f"cannot load sftp key {key_file} (wrong passphrase or format): {exc}") from None


def connect(spec: ProviderSpec, settings: Settings) -> SftpProvider:
    url = urlsplit(spec.location)
    if url.scheme != "sftp" or not url.hostname:
        raise InvalidInput(f"sftp location {spec.location!r} must look like sftp://user@host:port/path")
    user = unquote(url.username or "") or None
    port = url.port or 22
    raw_path = unquote(url.path) or "/"
    home_relative = raw_path == "/~" or raw_path.startswith("/~/")
    root = (raw_path[3:] or ".") if home_relative else posixpath.normpath(raw_path)
    display = f"sftp://{user + '@' if user else ''}{url.hostname}:{port}{raw_path}"
    password = options.secret(spec, "password")
    key_passphrase = options.secret(spec, "key_passphrase")
    key_file = options.text(spec, "key_file")
    pkey = _load_key(key_file, key_passphrase) if key_file else None
    client = paramiko.SSHClient()
    known_hosts = Path(options.text(spec, "known_hosts") or "~/.ssh/known_hosts").expanduser()
    if known_hosts.is_file():
        client.load_host_keys(str(known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    timeout = options.number(spec, "timeout", 30)
    try:
        client.connect(
            url.hostname, port=port, username=user, password=password, pkey=pkey, timeout=timeout,
            banner_timeout=timeout, auth_timeout=timeout, allow_agent=pkey is None and password is None,
            look_for_keys=pkey is None and password is None, transport_factory=_fast_ciphers_first,
        )
    except paramiko.AuthenticationException:
        client.close()
        raise ProviderAuthFailed(f"{display}: the server refused the credentials") from None
    except paramiko.BadHostKeyException:
        client.close()
        raise ProviderAuthFailed(f"{display}: the server's host key does not match {known_hosts}") from None
    except paramiko.SSHException as exc:
        client.close()
        if "not found in known_hosts" in str(exc):
            raise ProviderAuthFailed(f"{display}: host key unknown; add it to {known_hosts}") from None
        raise ProviderTransient(f"{display}: SSH failed: {exc}") from None
    except OSError as exc:
        client.close()
        raise ProviderTransient(f"{display}: cannot connect: {exc.strerror or exc}") from None
    try:
        provider = SftpProvider(display, client, root)
    except (paramiko.SSHException, OSError) as exc:
        client.close()
        raise ProviderError(f"{display}: the server has no SFTP subsystem: {exc}") from None
    try:
        root_entry = provider.stat("")
    except ObjectNotFound:
        provider.close()
        raise ProviderNotFound(f"{display}: the root directory does not exist") from None
    if not root_entry.is_dir:
        provider.close()
        raise ProviderNotFound(f"{display}: the root is not a directory")
    return provider
