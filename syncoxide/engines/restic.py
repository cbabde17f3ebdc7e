"""restic 0.18 through its CLI: --json status stream, documented exit codes (10, 11, 12, 130)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, BinaryIO

from syncoxide.contract.payloads import BackupStats, CheckResult, Progress
from syncoxide.engines import compression, process
from syncoxide.engines import excludes as exclude_patterns
from syncoxide.engines.base import (
    LISTING_BATCH,
    BackupEngine,
    ProgressFn,
    Row,
    _never_cancelled,
    _no_progress,
    json_lines,
    stream_command,
)
from syncoxide.engines.process import CancelFn
from syncoxide.engines.restic_names import REPLACEMENT, ExactPaths
from syncoxide.errors import (
    EngineFailed,
    InvalidInput,
    RepositoryExists,
    RepositoryLocked,
    RepositoryNotFound,
    SyncoxideError,
    WrongPassphrase,
)
from syncoxide.models import BackupOptions, DiffEntry, FileRecord, FileType, Snapshot, StreamSource

_ERRORS_BY_CODE: dict[int, type[SyncoxideError]] = {
    10: RepositoryNotFound,
    11: RepositoryLocked,
    12: WrongPassphrase,
}
PARTIAL_BACKUP_CODE = 3
RUN_TAG_PREFIX = "syncoxide-run:"
POLICY_TAG_PREFIX = "syncoxide-policy:"
_TYPES = {"file": FileType.file, "dir": FileType.dir, "symlink": FileType.symlink}
_GO_SETUID, _GO_SETGID, _GO_STICKY = 1 << 23, 1 << 22, 1 << 20
_FRACTION = re.compile(r"\.(\d+)")
_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")
_EPOCH_NAIVE = datetime(1970, 1, 1)
_SECOND = timedelta(seconds=1)
_CHANGES = {"+": "added", "-": "removed"}


def mode_from_go(mode: int) -> int:
    """Go's os.FileMode keeps setuid/setgid/sticky in high bits; return POSIX permission bits."""
    bits = mode & 0o777
    bits |= 0o4000 if mode & _GO_SETUID else 0
    bits |= 0o2000 if mode & _GO_SETGID else 0
    bits |= 0o1000 if mode & _GO_STICKY else 0
    return bits


def parse_time_ns(text: str) -> int:
    """RFC 3339 with up to nanoseconds -> integer nanoseconds since the epoch, exactly."""
    match = _RFC3339.match(text)
    if match is None:
        raise InvalidInput(f"restic time {text!r}: not RFC 3339")
    base, fraction, zone = match.groups()
    seconds = (datetime.fromisoformat(base) - _EPOCH_NAIVE) // _SECOND
    if zone != "Z":
        sign = -1 if zone[0] == "+" else 1
        seconds += sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds * 1_000_000_000 + (int((fraction + "00000000")[:9]) if fraction else 0)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(_FRACTION.sub("", text, count=1).replace("Z", "+00:00"))


class ResticEngine(BackupEngine):
    encryption_modes = ("restic",)
    default_encryption = "restic"
    _reader = None  # a LocalResticRepository once list_rows has opened the repository

    @property
    def is_local(self) -> bool:
        return ":" not in self.location.split("/")[0]

    def _env(self) -> dict[str, str]:
        cache = self.state_dir / "restic-cache"
        cache.mkdir(parents=True, exist_ok=True)
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", str(self.state_dir)),
            "RESTIC_PASSWORD": self._passphrase,
            "RESTIC_REPOSITORY": self.location,
            "RESTIC_CACHE_DIR": str(cache),
            "RESTIC_PROGRESS_FPS": "2",
        }

    def _argv(self, *args: str) -> list[str]:
        argv = [self.binary, "--json", "--retry-lock", f"{self.lock_wait_s}s"]
        if self.ssh_options and not self.is_local:
            argv += ["-o", f"sftp.args={self.ssh_options}"]
        return [*argv, *args]

    def _fail(self, code: int, stderr: list[str]) -> SyncoxideError:
        errors = [m for m in json_lines(stderr) if m.get("message_type") == "exit_error"]
        detail = errors[-1]["message"] if errors else next((s for s in reversed(stderr) if s.strip()), "")
        detail = detail.strip().splitlines()[0] if detail.strip() else f"restic exited with {code}"
        cls = _ERRORS_BY_CODE.get(code)
        if cls is None and "config file already exists" in detail:
            cls = RepositoryExists
        return (cls or EngineFailed)(f"restic repository {self.location}: {detail.removeprefix('Fatal: ')}")

    def _run(self, *args: str, ok_codes: tuple[int, ...] = (0,), **kwargs) -> process.ProcessResult:
        outcome = process.run(self._argv(*args), env=self._env(), **kwargs)
        if outcome.returncode not in ok_codes:
            raise self._fail(outcome.returncode, list(outcome.stderr_tail))
        return outcome

    def _json(self, *args: str):
        return json.loads("\n".join(self._run(*args).stdout) or "null")

    # -- repository lifecycle ---------------------------------------------------------------

    def init(self, encryption: str | None = None) -> None:
        self.check_encryption(encryption)
        self._run("init")

    def change_passphrase(self, new_passphrase: str) -> None:
        """The new passphrase goes through a pipe, never a file or the command line."""
        read_end, write_end = os.pipe()
        try:
            os.write(write_end, new_passphrase.encode() + b"\n")
            os.close(write_end)
            write_end = -1
            self._run("key", "passwd", "--new-password-file", f"/dev/fd/{read_end}", pass_fds=(read_end,))
        finally:
            os.close(read_end)
            if write_end != -1:
                os.close(write_end)

    def _current_key_id(self) -> str:
        keys = self._json("key", "list")
        return next(k["id"] for k in keys if k.get("current"))

    def export_key(self, destination: Path) -> None:
        """The repository's current key file (its master key, encrypted with the passphrase)."""
        key = "\n".join(self._run("cat", "key", self._current_key_id()).stdout)
        json.loads(key)
        destination.write_text(key + "\n", encoding="utf-8")

    def import_key(self, source: Path) -> None:
        if not self.is_local:
            raise InvalidInput(f"restic repository {self.location}: key import works for local repositories")
        data = source.read_bytes()
        try:
            json.loads(data)
        except json.JSONDecodeError:
            raise InvalidInput(f"key file {source}: not a restic key (JSON expected)") from None
        keys = Path(self.location) / "keys"
        keys.mkdir(parents=True, exist_ok=True)
        name = keys / hashlib.sha256(data).hexdigest()
        partial = name.with_suffix(".partial")
        partial.write_bytes(data)
        os.replace(partial, name)
        self._current_key_id()

    # -- backup -----------------------------------------------------------------------------

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
        options = options or BackupOptions()
        existing = self.find_snapshot(snapshot_name) if resumed else None
        if existing:
            return existing, self._stats(existing)
        summary: dict = {}
        started = time.monotonic()

        def on_stdout(line: str) -> None:
            message = json.loads(line) if line.startswith("{") else {}
            kind = message.get("message_type")
            if kind == "status":
                current = message.get("current_files") or []
                progress(
                    Progress(
                        phase="backup",
                        files_done=message.get("files_done", 0),
                        bytes_done=message.get("bytes_done", 0),
                        files_total=message.get("total_files"),
                        bytes_total=message.get("total_bytes"),
                        current_path=current[0] if current else None,
                    )
                )
            elif kind == "summary":
                summary.update(message)

        args = [
            "backup",
            "--tag",
            RUN_TAG_PREFIX + snapshot_name,
            "--compression",
            compression.restic_mode(options.compression),
        ]
        for tag in options.tags + ([POLICY_TAG_PREFIX + options.policy] if options.policy else []):
            args += ["--tag", tag]
        args += ["--host", options.hostname] if options.hostname else []
        args += ["--exclude-caches"] if options.exclude_caches else []
        for marker in options.exclude_if_present:
            args += ["--exclude-if-present", marker]
        args += ["--one-file-system"] if options.one_file_system else []
        args += exclude_patterns.restic_args(options.excludes)
        env = self._env()
        if stream:
            command, env = stream_command(stream, env)
            args += ["--stdin-from-command", "--stdin-filename", stream.name.lstrip("/"), "--", *command]
        else:
            args += ["--", *sources]
        outcome = process.run(self._argv(*args), env=env, on_stdout=on_stdout, cancelled=cancelled, keep_stdout=False)
        if outcome.returncode not in (0, PARTIAL_BACKUP_CODE) or not summary.get("snapshot_id"):
            raise self._fail(outcome.returncode, list(outcome.stderr_tail))
        stats = self._summary_stats(summary)
        stats.duration_s = time.monotonic() - started
        return summary["snapshot_id"], stats

    @staticmethod
    def _summary_stats(summary: dict) -> BackupStats:
        return BackupStats(
            files=summary.get("total_files_processed", 0),
            bytes=summary.get("total_bytes_processed", 0),
            added_bytes=summary.get("data_added_packed", summary.get("data_added", 0)),
            duration_s=summary.get("total_duration", 0.0),
        )

    def _snapshots_json(self, *args: str) -> list[dict]:
        return self._json("snapshots", *args) or []

    def _stats(self, snapshot_id: str) -> BackupStats:
        found = [s for s in self._snapshots_json() if s["id"] == snapshot_id]
        return self._summary_stats(found[0].get("summary", {})) if found else BackupStats()

    def find_snapshot(self, snapshot_name: str) -> str | None:
        found = self._snapshots_json("--tag", RUN_TAG_PREFIX + snapshot_name)
        return found[-1]["id"] if found else None

    # -- reading ----------------------------------------------------------------------------

    def snapshots(self) -> list[Snapshot]:
        found = []
        for s in self._snapshots_json():
            summary = s.get("summary") or {}
            found.append(
                Snapshot(
                    id=s["id"],
                    time=_time(s["time"]),
                    hostname=s.get("hostname"),
                    paths=s.get("paths", []),
                    tags=[t for t in s.get("tags") or [] if not t.startswith((RUN_TAG_PREFIX, POLICY_TAG_PREFIX))],
                    policy=next(
                        (
                            t.removeprefix(POLICY_TAG_PREFIX)
                            for t in s.get("tags") or []
                            if t.startswith(POLICY_TAG_PREFIX)
                        ),
                        None,
                    ),
                    files=summary.get("total_files_processed"),
                    bytes=summary.get("total_bytes_processed"),
                    added_bytes=summary.get("data_added_packed"),
                )
            )
        return sorted(found, key=lambda s: s.time)

    def _stream(self, *args: str) -> Iterator[dict]:
        def on_exit(code: int, stderr: list[str]) -> None:
            if code != 0:
                raise self._fail(code, stderr)

        for line in process.stream_stdout(self._argv(*args), env=self._env(), on_exit=on_exit):
            if line.startswith("{"):
                yield json.loads(line)

    def list_files(self, snapshot_id: str, paths: Sequence[str] = ()) -> Iterator[FileRecord]:
        """`restic ls --json`, with names that are not UTF-8 put right from their folder's tree (restic_names)."""
        exact = ExactPaths(lambda folder: self._json("cat", "tree", f"{snapshot_id}:{folder}").get("nodes") or [])
        for item in self._stream("ls", snapshot_id, *paths):
            if item.get("struct_type") != "node":
                continue
            path = item["path"]
            if REPLACEMENT in path or exact.active:
                path = exact.exact(path, item["type"] == "dir")
            yield FileRecord(
                path=path,
                type=_TYPES.get(item["type"], FileType.other),
                size=item.get("size", 0),
                mtime_ns=parse_time_ns(item["mtime"]),
                mode=mode_from_go(item.get("mode", 0)),
                uid=item.get("uid"),
                gid=item.get("gid"),
            )

    def list_rows(self, snapshot_id: str) -> Iterator[Row]:
        if not self.is_local:
            yield from super().list_rows(snapshot_id)
            return
        for columns in self.list_columns(snapshot_id):
            yield from zip(*columns, strict=True)

    def list_columns(self, snapshot_id: str, *, every: int = LISTING_BATCH) -> Iterator[list[list]]:
        """A local repository is read directly (restic_repo): one open for many snapshots, shared folders
        decoded and listed once; a remote one goes through `restic ls`."""
        if not self.is_local:
            return super().list_columns(snapshot_id, every=every)
        if self._reader is None:
            from syncoxide.engines.restic_repo import LocalResticRepository  # cryptography: only for listings

            self._reader = LocalResticRepository(Path(self.location), self._passphrase, parse_time_ns, mode_from_go)
        return self._reader.columns(self._full_id(snapshot_id), every)

    def _full_id(self, snapshot_id: str) -> str:
        if len(snapshot_id) == 64:
            return snapshot_id
        matches = [p.name for p in (Path(self.location) / "snapshots").glob(f"{snapshot_id}*")]
        if len(matches) != 1:
            raise InvalidInput(f"restic repository {self.location}: snapshot {snapshot_id} is not one snapshot")
        return matches[0]

    def diff(self, older: str, newer: str) -> Iterator[DiffEntry]:
        for item in self._stream("diff", older, newer):
            if item.get("message_type") == "change":
                yield DiffEntry(path=item["path"], change=_CHANGES.get(item["modifier"], "modified"))

    def restore(
        self,
        snapshot_id: str,
        target: Path,
        *,
        paths: Sequence[str] = (),
        progress: ProgressFn = _no_progress,
        cancelled: CancelFn = _never_cancelled,
    ) -> None:
        def on_stdout(line: str) -> None:
            message = json.loads(line) if line.startswith("{") else {}
            if message.get("message_type") == "status":
                progress(
                    Progress(
                        phase="restore",
                        files_done=message.get("files_restored", 0),
                        bytes_done=message.get("bytes_restored", 0),
                        files_total=message.get("total_files"),
                        bytes_total=message.get("total_bytes"),
                    )
                )

        target.mkdir(parents=True, exist_ok=True)
        args = ["restore", snapshot_id, "--target", str(target)]
        for path in paths:
            args += ["--include", path]
        self._run(*args, on_stdout=on_stdout, cancelled=cancelled, keep_stdout=False)

    def read_file(self, snapshot_id: str, path: str, out: IO[bytes]) -> None:
        code, stderr = process.pipe_stdout(self._argv("dump", snapshot_id, path), env=self._env(), out=out)
        if code != 0:
            raise self._fail(code, stderr)

    def export_tar(self, snapshot_id: str, out: BinaryIO, paths: Sequence[str] = ()) -> None:
        if len(paths) > 1:
            raise InvalidInput("restic exports one path at a time: give one --path or none")
        argv = self._argv("dump", "--archive", "tar", snapshot_id, paths[0] if paths else "/")
        code, stderr = process.pipe_stdout(argv, env=self._env(), out=out)
        if code != 0:
            raise self._fail(code, stderr)

    # -- maintenance ------------------------------------------------------------------------

    def delete_snapshots(self, snapshot_ids: list[str], *, cancelled: CancelFn = _never_cancelled) -> None:
        if snapshot_ids:
            self._run("forget", *snapshot_ids, cancelled=cancelled)

    def compact(self, *, cancelled: CancelFn = _never_cancelled) -> None:
        self._run("prune", cancelled=cancelled)

    def check(
        self, *, verify_data: bool = False, subset_percent: float | None = None, cancelled: CancelFn = _never_cancelled
    ) -> CheckResult:
        started = time.monotonic()
        args = ["check"]
        level = "metadata"
        if verify_data:
            level = "data" if subset_percent is None else f"data {subset_percent:g}%"
            args.append("--read-data" if subset_percent is None else f"--read-data-subset={subset_percent:g}%")
        outcome = process.run(self._argv(*args), env=self._env(), cancelled=cancelled)
        if outcome.returncode in _ERRORS_BY_CODE:
            raise self._fail(outcome.returncode, list(outcome.stderr_tail))
        messages = list(json_lines(outcome.stdout + list(outcome.stderr_tail)))
        problems = [m.get("message", "") for m in messages if m.get("message_type") in ("error", "exit_error")]
        problems += [line for line in outcome.stderr_tail if line.strip() and not line.startswith("{")]
        return CheckResult(
            ok=outcome.returncode == 0,
            level=level,
            problems=[p.strip() for p in problems if p.strip()] if outcome.returncode else [],
            duration_s=time.monotonic() - started,
        )

    def unlock_stale(self) -> None:
        """`restic unlock` removes only stale locks (dead process on this host, or not refreshed)."""
        self._run("unlock")
