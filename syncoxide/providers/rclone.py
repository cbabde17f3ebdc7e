"""Any remote an rclone config defines (Google Drive, Dropbox, OneDrive, ...), through the rclone CLI.

Location: ``remote:path``. Options: ``config`` (the rclone.conf; default rclone's own) and
``flags`` (extra rclone flags, shell-quoted). Secrets become rclone's environment overrides:
``config_pass`` is RCLONE_CONFIG_PASS (an encrypted config's password); any other name NAME is
RCLONE_CONFIG_<REMOTE>_<NAME>, e.g. ``secret_access_key`` for an S3 remote. What the remote can do
(hashes, server-side copy, mtimes, empty directories) is read from ``rclone backend features``.

Writes stream into ``rclone rcat``: straight to the final name on object stores (their uploads are
atomic), else to a hidden temporary name moved into place with ``moveto``. A failed source kills
rcat (SIGKILL, so it never finishes a truncated upload) and removes what it left.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import subprocess
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

from syncoxide.config import Settings
from syncoxide.errors import InvalidInput
from syncoxide.fs.modes import user_umask
from syncoxide.providers import options, paths
from syncoxide.providers.base import (
    HASH_TYPES,
    Capabilities,
    Entry,
    Provider,
    RangeReader,
    Readable,
    ReadStream,
    TrackedSource,
    check_range,
    temp_name,
)
from syncoxide.providers.errors import (
    NotSupported,
    ObjectNotFound,
    ProviderAuthFailed,
    ProviderError,
    ProviderNotFound,
    ProviderTransient,
)
from syncoxide.providers.spec import ProviderSpec
from syncoxide.secrets.in_locations import redacted

CHUNK = 1024 * 1024
MOD_TIME_NOT_SUPPORTED_NS = 100 * 365 * 24 * 3600 * 10**9
BASE_FLAGS = ["--retries", "1", "--use-json-log=false", "--log-level", "NOTICE"]
AUTH_MARKERS = (
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "StatusCode: 403",
    "401 Unauthorized",
    "403 Forbidden",
    "invalid_grant",
    "unauthorized",
    "authentication failed",
    "permission denied",
    "unable to authenticate",
)
LOG_PREFIX = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (?:NOTICE|ERROR|CRITICAL|INFO|DEBUG)\s*:\s*")


def _parse_time(text: str) -> datetime:
    """rclone's RFC 3339 with nanoseconds -> an aware datetime (to the microsecond)."""
    match = re.match(r"^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", text)
    if not match:
        return datetime.fromtimestamp(0, UTC)
    base, fraction, zone = match.groups()
    micros = (fraction or "0")[:6].ljust(6, "0")
    return datetime.fromisoformat(f"{base}.{micros}{'+00:00' if zone == 'Z' else zone}").astimezone(UTC)


def _format_time(mtime: datetime) -> str:
    return mtime.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class RcloneProvider(Provider):
    kind = "rclone"

    def __init__(self, display: str, rclone: str, root: str, env: dict[str, str], flags: list[str], secrets: list[str]):
        super().__init__(display)
        self._rclone = rclone
        self._root = root  # remote:path, without a trailing slash
        self._spawn: dict[str, Any] = {"env": env, "start_new_session": True, "umask": user_umask()}
        """how rclone is started: its own session, so a Ctrl-C at the terminal reaches syncoxide (which stops
        between chunks), not rclone in the middle of a file; with the user's umask, so what it writes to a
        local destination is made as the local provider makes it (fs/modes.py)"""
        self._flags = flags
        self._secrets = secrets
        self._bucket_based = False
        self._hash: str | None = None

    # -- running rclone ------------------------------------------------------------------------

    def _argv(self, *args: str) -> list[str]:
        return [self._rclone, *BASE_FLAGS, *self._flags, *args]

    def _target(self, path: str) -> str:
        clean = paths.clean(path)
        if not clean:
            return self._root
        return f"{self._root}/{clean}" if not self._root.endswith(":") else f"{self._root}{clean}"

    def _run(self, *args: str, path: str, stdin: bytes | None = None) -> bytes:
        done = subprocess.run(self._argv(*args), input=stdin, capture_output=True, **self._spawn)
        if done.returncode != 0:
            raise self._fail(done.returncode, done.stderr.decode(errors="replace"), path)
        return done.stdout

    def _fail(self, code: int, stderr: str, path: str) -> Exception:
        lines = [LOG_PREFIX.sub("", line).strip() for line in stderr.splitlines() if line.strip()]
        detail = options.redact(lines[-1] if lines else f"rclone exited with {code}", self._secrets)[:400]
        where = f"{self.display}: {path or '/'}"
        if "didn't find section in config file" in stderr:
            return ProviderNotFound(f"{self.display}: no such remote in the rclone config")
        if any(marker.lower() in stderr.lower() for marker in AUTH_MARKERS):
            return ProviderAuthFailed(f"{where}: the remote refused the credentials ({detail})")
        if code in (3, 4) or "object not found" in stderr or "directory not found" in stderr:
            return ObjectNotFound(f"{where} not found")
        if code == 5:
            return ProviderTransient(f"{where}: {detail}")
        return ProviderError(f"{where}: {detail}")

    def _lsjson_entry(self, item: dict[str, Any], prefix: str) -> Entry:
        is_dir = bool(item.get("IsDir"))
        hashes = {k: v.lower() for k, v in (item.get("Hashes") or {}).items() if v and k in HASH_TYPES}
        return Entry(
            path=paths.join(prefix, item["Path"]),
            size=0 if is_dir else max(int(item.get("Size", 0)), 0),
            mtime=_parse_time(item.get("ModTime", "")),
            is_dir=is_dir,
            hashes=hashes,
        )

    def _hash_flags(self) -> list[str]:
        return ["--hash", "--hash-type", self._hash] if self._hash else []

    # -- setup ---------------------------------------------------------------------------------

    def learn_features(self) -> None:
        # the remote's root: on object stores rclone HEADs a path first, and bad credentials there
        # read as "is a file"
        out = self._run("backend", "features", self._root.partition(":")[0] + ":", path="")
        features = json.loads(out)
        flags: dict[str, bool] = features.get("Features") or {}
        precision_ns = int(features.get("Precision") or MOD_TIME_NOT_SUPPORTED_NS)
        offered = [h for h in features.get("Hashes") or [] if h in HASH_TYPES]
        self._hash = None if flags.get("SlowHash") or not offered else offered[0]
        self._bucket_based = bool(flags.get("BucketBased"))
        self.capabilities = Capabilities(
            hashes=frozenset({self._hash} if self._hash else ()),
            server_side_copy=bool(flags.get("Copy")),
            set_mtime=precision_ns < MOD_TIME_NOT_SUPPORTED_NS,
            mtime_precision=max(precision_ns / 1e9, 1e-6),
            directories=bool(flags.get("CanHaveEmptyDirectories")),
        )

    # -- the contract --------------------------------------------------------------------------

    def list(self, path: str = "", *, specials: list[Entry] | None = None) -> Iterator[Entry]:
        start = paths.clean(path)
        argv = self._argv("lsjson", "-R", "--no-mimetype", *self._hash_flags(), self._target(start))
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **self._spawn)
        assert process.stdout is not None and process.stderr is not None
        stderr: list[bytes] = []
        errors = process.stderr  # (named: the assert above does not reach into the lambda)
        drain = threading.Thread(target=lambda: stderr.append(errors.read()), daemon=True)
        drain.start()
        count = 0
        try:
            for raw in process.stdout:  # one JSON object per line, between "[" and "]"
                line = raw.strip().rstrip(b",")
                if line.startswith(b"{"):
                    count += 1
                    yield self._lsjson_entry(json.loads(line), start)
        finally:
            if process.poll() is None:
                process.kill()  # the caller stopped early
            code = process.wait()
            drain.join()
        if code != 0:
            raise self._fail(code, b"".join(stderr).decode(errors="replace"), start)
        if count == 0 and start:
            self.stat(start)  # a bucket-based remote lists a missing prefix as empty

    def stat(self, path: str) -> Entry:
        clean = paths.clean(path)
        out = self._run("lsjson", "--stat", "--no-mimetype", *self._hash_flags(), self._target(clean), path=clean)
        item = json.loads(out)
        entry = self._lsjson_entry({**item, "Path": ""}, clean)
        if entry.is_dir and clean and self._bucket_based and not self._has_children(clean):
            raise ObjectNotFound(f"{self.display}: {clean} not found")  # object stores call anything a directory
        return entry

    def _has_children(self, path: str) -> bool:
        out = self._run("lsjson", "--no-mimetype", "--no-modtime", "--max-depth", "1", self._target(path), path=path)
        return bool(json.loads(out))

    def open_read(self, path: str, offset: int = 0, length: int | None = None) -> ReadStream:
        check_range(offset, length)
        clean = paths.clean(path)
        if length == 0:
            self.stat(clean)
            return io.BytesIO(b"")
        args = ["cat", self._target(clean)]
        if offset:
            args += ["--offset", str(offset)]
        if length is not None:
            args += ["--count", str(length)]
        process = subprocess.Popen(self._argv(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, **self._spawn)
        assert process.stdout is not None and process.stderr is not None
        stderr: list[bytes] = []
        errors = process.stderr  # (named: the assert above does not reach into the lambda)
        drain = threading.Thread(target=lambda: stderr.append(errors.read()), daemon=True)
        drain.start()
        first = process.stdout.read(CHUNK)
        if not first:
            code = process.wait()
            drain.join()
            if code != 0:
                raise self._fail(code, b"".join(stderr).decode(errors="replace"), clean)
            if self.stat(clean).is_dir:  # `cat` of a missing object on an object store is silent
                raise ProviderError(f"{self.display}: {clean} is a directory")
            return io.BytesIO(b"")

        def at_eof() -> None:  # a cat that dies mid-stream must not read as a shorter file
            code = process.wait()
            drain.join()
            if code != 0:
                raise self._fail(code, b"".join(stderr).decode(errors="replace"), clean)

        output = process.stdout
        stream = _Prefixed(first, output, at_eof)

        def close() -> None:
            if process.poll() is None:
                process.kill()
            process.wait()
            output.close()
            drain.join()

        return RangeReader(stream, None, on_close=close)

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
        target = clean if self._bucket_based or in_place else temp_name(clean)
        args = ["rcat"]
        if mtime is not None:
            # rcat ignores --metadata-set when given --size (rclone 1.76), so the size hint goes
            args += ["--metadata", "--metadata-set", f"mtime={_format_time(mtime)}"]
        elif size is not None:
            args += ["--size", str(size)]
        process = subprocess.Popen(
            self._argv(*args, self._target(target)),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            **self._spawn,
        )
        assert process.stdin is not None and process.stderr is not None
        stderr: list[bytes] = []
        errors = process.stderr  # (named: the assert above does not reach into the lambda)
        drain = threading.Thread(target=lambda: stderr.append(errors.read()), daemon=True)
        drain.start()
        tracked = TrackedSource(source)
        try:
            while chunk := tracked.read(CHUNK):
                process.stdin.write(chunk)
            process.stdin.close()
        except BaseException as exc:
            process.kill()  # never close stdin here: rcat would store what it got so far
            process.wait()
            drain.join()
            if target != clean:
                self._delete_quietly(target)
            if tracked.error is not None:
                raise tracked.error from None
            if isinstance(exc, BrokenPipeError):
                raise self._fail(process.returncode or 1, b"".join(stderr).decode(errors="replace"), clean) from None
            raise
        code = process.wait()
        drain.join()
        if code != 0:
            if target != clean:
                self._delete_quietly(target)
            raise self._fail(code, b"".join(stderr).decode(errors="replace"), clean)
        if target != clean:
            try:
                self._run("moveto", self._target(target), self._target(clean), path=clean)
            except BaseException:
                self._delete_quietly(target)
                raise
        return self.stat(clean)

    def _delete_quietly(self, path: str) -> None:
        subprocess.run(self._argv("deletefile", self._target(path)), capture_output=True, **self._spawn)

    def mkdir(self, path: str) -> None:
        clean = paths.clean(path)
        self._run("mkdir", self._target(clean), path=clean)

    def delete(self, path: str) -> None:
        clean = paths.clean(path)
        self._run("deletefile", self._target(clean), path=clean)

    def rmdir(self, path: str) -> None:
        clean = paths.clean(path)
        self._run("rmdir", self._target(clean), path=clean)

    def move(self, src: str, dst: str) -> None:
        s, d = paths.clean(src), paths.clean(dst)
        if self.stat(s).is_dir:
            raise ProviderError(f"{self.display}: {s} is a directory")
        self._run("moveto", self._target(s), self._target(d), path=s)

    def copy(self, src: str, dst: str) -> None:
        if not self.capabilities.server_side_copy:
            raise NotSupported(f"{self.display}: the remote has no server-side copy")
        s, d = paths.clean(src), paths.clean(dst)
        if self.stat(s).is_dir:
            raise ProviderError(f"{self.display}: {s} is a directory")
        self._run("copyto", self._target(s), self._target(d), path=s)

    def set_mtime(self, path: str, mtime: datetime) -> None:
        if not self.capabilities.set_mtime:
            super().set_mtime(path, mtime)
        clean = paths.clean(path)
        self.stat(clean)
        self._run("touch", "--no-create", "-t", _format_time(mtime).rstrip("Z"), self._target(clean), path=clean)


class _Prefixed(io.RawIOBase):
    """``first``, then the rest of ``rest``; ``at_eof`` runs (and may raise) when the rest runs out."""

    def __init__(self, first: bytes, rest: IO[bytes], at_eof: Callable[[], None]):
        self._first = first
        self._rest = rest
        self._at_eof = at_eof

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1, /) -> bytes:
        if self._first:
            if size is None or size < 0:
                data, self._first = self._first + self._rest.read(), b""
                self._at_eof()
                return data
            data, self._first = self._first[:size], self._first[size:]
            return data
        data = self._rest.read(size)
        if not data and size != 0:
            self._at_eof()
        return data


def connect(spec: ProviderSpec, settings: Settings) -> RcloneProvider:
    rclone = settings.tools.rclone
    if rclone is None:
        raise InvalidInput("rclone is not installed: run scripts/setup.sh or put rclone on PATH")
    location = spec.location
    remote, sep, _ = location.partition(":")
    if not sep or not remote or "/" in remote:
        raise InvalidInput(f"rclone location {redacted(location)!r} must look like remote:path")
    env = dict(os.environ)
    resolved: list[str] = []
    for name, ref in spec.secrets.items():
        value = ref.resolve()
        resolved.append(value)
        key = "RCLONE_CONFIG_PASS" if name == "config_pass" else f"RCLONE_CONFIG_{remote.upper()}_{name.upper()}"
        env[re.sub(r"[^A-Z0-9_]", "_", key.upper())] = value
    flags = shlex.split(options.text(spec, "flags") or "")
    config = options.text(spec, "config")
    if config:
        flags = ["--config", os.path.expanduser(config), *flags]
    root = location if location.endswith(":") else location.rstrip("/")
    provider = RcloneProvider(root, rclone, root, env, flags, resolved)
    provider.learn_features()
    try:
        root_entry = provider.stat("")
    except ObjectNotFound:
        raise ProviderNotFound(f"{provider.display}: the root does not exist") from None
    if not root_entry.is_dir:
        raise ProviderNotFound(f"{provider.display}: the root is not a directory")
    return provider
