"""borg 1.4 through its CLI: --log-json progress, --json results, modern exit codes."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, BinaryIO
from urllib.parse import quote, unquote

from syncoxide.contract.payloads import BackupStats, CheckResult, Progress
from syncoxide.engines import compression, process
from syncoxide.engines import excludes as exclude_patterns
from syncoxide.engines.base import (
    BackupEngine,
    ProgressFn,
    _never_cancelled,
    _no_progress,
    json_lines,
    stream_command,
)
from syncoxide.engines.process import CancelFn
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

_ERRORS_BY_MSGID: dict[str, type[SyncoxideError]] = {
    "PassphraseWrong": WrongPassphrase,
    "PasswordRetriesExceeded": WrongPassphrase,
    "Repository.DoesNotExist": RepositoryNotFound,
    "Repository.InvalidRepository": RepositoryNotFound,
    "Repository.ParentPathDoesNotExist": RepositoryNotFound,
    "Repository.AlreadyExists": RepositoryExists,
    "Repository.PathAlreadyExists": RepositoryExists,
    "LockTimeout": RepositoryLocked,
    "LockFailed": RepositoryLocked,
    "Archive.DoesNotExist": InvalidInput,
}
_ERRORS_BY_CODE: dict[int, type[SyncoxideError]] = {
    10: RepositoryExists,
    13: RepositoryNotFound,
    15: RepositoryNotFound,
    18: RepositoryNotFound,
    52: WrongPassphrase,
    53: WrongPassphrase,
    72: RepositoryLocked,
    73: RepositoryLocked,
}
ARCHIVE_EXISTS_CODE = 30
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_WARNING_CODES = {1} | set(range(100, 200))
_TYPES = {"-": FileType.file, "d": FileType.dir, "l": FileType.symlink}
_MODE_BITS = [
    (1, {"r": 0o400}),
    (2, {"w": 0o200}),
    (3, {"x": 0o100, "s": 0o4100, "S": 0o4000}),
    (4, {"r": 0o040}),
    (5, {"w": 0o020}),
    (6, {"x": 0o010, "s": 0o2010, "S": 0o2000}),
    (7, {"r": 0o004}),
    (8, {"w": 0o002}),
    (9, {"x": 0o001, "t": 0o1001, "T": 0o1000}),
]
_META_PREFIX = "syncoxide "
_CHECKPOINT = re.compile(r".+\.checkpoint(\.\d+)?")


BORG_MAX_MTIME_NS = (2**31 - 1 - 48 * 3600) * 10**9
"""borg 1.4 stores times clamped to 0 .. 2**31-1 seconds less 48 hours (its 32-bit platform support,
borg.helpers.time.MAX_S; measured with borg 1.4.5): a file modified after 2038-01-17T03:14:07Z is
archived, and restored, with that time; one modified before 1970 with 1970-01-01T00:00:00Z."""
MAX_NAMED = 20
_REMEMBERED_SIZES = 100_000
_PATHS_PER_CALL = 500


class ClampedMtimes:
    """Collects, during the walk beside a backup, the entries whose mtime borg cannot store."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def visit(self, path: str, info: os.stat_result) -> None:
        if not 0 <= info.st_mtime_ns <= BORG_MAX_MTIME_NS:
            self.paths.append(os.fsencode(path).decode("utf-8", "backslashreplace"))

    def warnings(self) -> list[str]:
        """One line per file (the first MAX_NAMED), saying what its restored mtime will be."""
        named = [
            f"{p}: modification time outside 1970-01-01..2038-01-17T03:14:07Z, which borg cannot"
            " store; the snapshot keeps the nearer end"
            for p in sorted(self.paths)[:MAX_NAMED]
        ]
        if len(self.paths) > MAX_NAMED:
            named.append(f"and {len(self.paths) - MAX_NAMED} more entries with such a modification time")
        return named


def mode_from_string(text: str) -> int:
    """'-rwsr-xr-t' -> 0o5755: the permission bits of borg's mode column."""
    mode = 0
    for index, bits in _MODE_BITS:
        mode |= bits.get(text[index], 0) if index < len(text) else 0
    return mode


def encode_meta(meta: dict) -> str:
    """Archive comment carrying what borg 1.4 has no field for (tags, host, paths).

    Percent-encoded, because borg expands {placeholders} in comments.
    """
    return _META_PREFIX + quote(json.dumps(meta, separators=(",", ":")), safe="")


def decode_meta(comment: str) -> dict:
    if not comment.startswith(_META_PREFIX):
        return {}
    try:
        return json.loads(unquote(comment[len(_META_PREFIX) :]))
    except json.JSONDecodeError:
        return {}


def _archive_path(path: str) -> str:
    return path.lstrip("/")


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class BorgEngine(BackupEngine):
    encryption_modes = (
        "repokey-blake2",
        "keyfile-blake2",
        "authenticated-blake2",
        "repokey",
        "keyfile",
        "authenticated",
    )
    default_encryption = "repokey-blake2"

    def _env(self, **extra: str) -> dict[str, str]:
        base = self.state_dir / "borg"
        base.mkdir(parents=True, exist_ok=True)
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", str(base)),
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            "BORG_PASSPHRASE": self._passphrase,
            "BORG_BASE_DIR": str(base),
            "BORG_EXIT_CODES": "modern",
            "BORG_RELOCATED_REPO_ACCESS_IS_OK": "yes",
            "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK": "no",
            "BORG_CHECK_I_KNOW_WHAT_I_AM_DOING": "NO",
            "BORG_DELETE_I_KNOW_WHAT_I_AM_DOING": "NO",
            **({"BORG_RSH": f"ssh {self.ssh_options}"} if self.ssh_options else {}),
            **extra,
        }

    def _argv(self, *args: str) -> list[str]:
        remote = ["--remote-path", self.remote_binary] if self.remote_binary else []
        return [self.binary, "--log-json", "--lock-wait", str(self.lock_wait_s), *remote, *args]

    def _fail(self, code: int, stderr: list[str]) -> SyncoxideError:
        messages = [m for m in json_lines(stderr) if m.get("type") == "log_message"]
        errors = [m for m in messages if m.get("levelname") in ("ERROR", "CRITICAL")] or messages
        detail = errors[-1].get("message", "").strip() if errors else (stderr[-1] if stderr else "")
        msgid = errors[-1].get("msgid", "") if errors else ""
        cls = _ERRORS_BY_MSGID.get(msgid) or _ERRORS_BY_CODE.get(code) or EngineFailed
        first_line = detail.splitlines()[0] if detail else f"borg exited with {code}"
        return cls(f"borg repository {self.location}: {first_line}")

    def _run(self, *args: str, env: dict[str, str] | None = None, **kwargs) -> process.ProcessResult:
        outcome = process.run(self._argv(*args), env=env or self._env(), **kwargs)
        if outcome.returncode != 0 and outcome.returncode not in _WARNING_CODES:
            raise self._fail(outcome.returncode, list(outcome.stderr_tail))
        return outcome

    def _json(self, *args: str) -> dict:
        return json.loads("\n".join(self._run(*args).stdout))

    # -- repository lifecycle ---------------------------------------------------------------

    def init(self, encryption: str | None = None) -> None:
        mode = self.check_encryption(encryption)
        self._run("init", f"--encryption={mode}", "--make-parent-dirs", self.location)

    def change_passphrase(self, new_passphrase: str) -> None:
        self._run("key", "change-passphrase", self.location, env=self._env(BORG_NEW_PASSPHRASE=new_passphrase))

    def export_key(self, destination: Path) -> None:
        self._run("key", "export", self.location, str(destination))

    def import_key(self, source: Path) -> None:
        self._run("key", "import", self.location, str(source))

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
        state = Progress(phase="backup")
        started = time.monotonic()
        clamped = ClampedMtimes()
        counter = None
        if stream is None:

            def count_totals() -> None:
                state.files_total, state.bytes_total = exclude_patterns.estimate_totals(
                    sources, options.excludes, clamped.visit
                )

            counter = threading.Thread(target=count_totals, daemon=True)
            counter.start()

        def on_stderr(line: str) -> None:
            if '"archive_progress"' not in line:
                return
            message = json.loads(line)
            if message.get("type") != "archive_progress" or message.get("finished"):
                return
            state.files_done = message.get("nfiles", 0)
            state.bytes_done = message.get("original_size", 0)
            state.current_path = "/" + message["path"] if message.get("path") else state.current_path
            progress(state.model_copy())

        meta = {
            "tags": options.tags,
            "host": options.hostname,
            "paths": [f"/{stream.name}"] if stream else sources,
            "policy": options.policy,
        }
        args = ["create", "--progress", "--json", "--compression", compression.borg_spec(options.compression)]
        args += ["--comment", encode_meta(meta)]
        args += ["--exclude-caches"] if options.exclude_caches else []
        for marker in options.exclude_if_present:
            args += ["--exclude-if-present", marker]
        if options.exclude_caches or options.exclude_if_present:
            args.append("--keep-exclude-tags")  # as restic does: the marker stays, the rest goes
        args += ["--one-file-system"] if options.one_file_system else []
        args += exclude_patterns.borg_args(options.excludes)
        target = f"{self.location}::{snapshot_name}"
        env = self._env()
        if stream:
            command, env = stream_command(stream, env)
            args += ["--content-from-command", "--stdin-name", stream.name.lstrip("/"), target, "--", *command]
        else:
            args += [target, *sources]
        outcome = process.run(self._argv(*args), env=env, on_stderr=on_stderr, cancelled=cancelled)
        code = outcome.returncode
        if code != 0 and code != ARCHIVE_EXISTS_CODE and code not in _WARNING_CODES:
            raise self._fail(code, list(outcome.stderr_tail))
        if counter is not None:
            counter.join()  # the walk beside borg's: it names what borg cannot keep
        if code == ARCHIVE_EXISTS_CODE:  # an earlier attempt finished it
            self._drop_checkpoints(snapshot_name)
            name, archive = snapshot_name, self._info(snapshot_name)
        else:
            archive = json.loads("\n".join(outcome.stdout))["archive"]
            name = archive["name"]
            if resumed:
                self._drop_checkpoints(snapshot_name)
        stats = self._archive_stats(archive, started)
        stats.warnings = clamped.warnings()
        return name, stats

    def _drop_checkpoints(self, name: str) -> None:
        """An interrupted attempt leaves NAME.checkpoint archives; the finished NAME supersedes them."""
        archives = self._json("list", "--json", self.location)["archives"]
        partial = [a["name"] for a in archives if _CHECKPOINT.fullmatch(a["name"]) and a["name"].startswith(name)]
        if partial:
            self._run("delete", self.location, *partial)

    @staticmethod
    def _archive_stats(archive: dict, started: float) -> BackupStats:
        stats = archive["stats"]
        return BackupStats(
            files=stats["nfiles"],
            bytes=stats["original_size"],
            added_bytes=stats["deduplicated_size"],
            duration_s=time.monotonic() - started,
        )

    def _info(self, name: str) -> dict:
        return self._json("info", "--json", f"{self.location}::{name}")["archives"][0]

    def find_snapshot(self, snapshot_name: str) -> str | None:
        names = self._json("list", "--json", self.location)["archives"]
        return snapshot_name if any(a["name"] == snapshot_name for a in names) else None

    # -- reading ----------------------------------------------------------------------------

    def snapshots(self) -> list[Snapshot]:
        found = []
        for archive in self._json("info", "--json", "--glob-archives", "*", self.location).get("archives", []):
            if _CHECKPOINT.fullmatch(archive["name"]):
                continue  # a partial archive of an interrupted run, not a snapshot
            meta = decode_meta(archive.get("comment", ""))
            stats = archive.get("stats", {})
            found.append(
                Snapshot(
                    id=archive["name"],
                    time=_utc(archive["start"]),
                    hostname=meta.get("host") or archive.get("hostname"),
                    paths=meta.get("paths", []),
                    tags=meta.get("tags", []),
                    policy=meta.get("policy"),
                    files=stats.get("nfiles"),
                    bytes=stats.get("original_size"),
                    compressed_bytes=stats.get("compressed_size"),
                    added_bytes=stats.get("deduplicated_size"),
                )
            )
        return sorted(found, key=lambda s: s.time)

    def _stream(self, *args: str) -> Iterator[str]:
        def on_exit(code: int, stderr: list[str]) -> None:
            if code != 0 and code not in _WARNING_CODES:
                raise self._fail(code, stderr)

        return process.stream_stdout(self._argv(*args), env=self._env(), on_exit=on_exit)

    def _records(self, snapshot_id: str, paths: list[str]) -> Iterator[tuple[FileRecord, str | None]]:
        """Each entry with, for a hard link, the snapshot path of the file it links to (borg lists it with size 0)."""
        lines = self._stream("list", "--json-lines", f"{self.location}::{snapshot_id}", *map(_archive_path, paths))
        for line in lines:
            item = json.loads(line)
            mtime_us = (_utc(item["mtime"]) - _EPOCH) // timedelta(microseconds=1)
            kind = _TYPES.get(item["type"], FileType.other)
            record = FileRecord(
                path="/" + item["path"],
                type=kind,
                size=item.get("size", 0),
                mtime_ns=mtime_us * 1000,
                mode=mode_from_string(item["mode"]),
                link_target=(item.get("linktarget") or None) if kind == FileType.symlink else None,
            )
            yield record, ("/" + item["source"] if kind != FileType.symlink and item.get("source") else None)

    def list_files(self, snapshot_id: str, paths: Sequence[str] = ()) -> Iterator[FileRecord]:
        """The snapshot's entries; a hard link gets the size of the file it links to.

        borg lists the second and later links of a file with size 0 and the first link's path. That
        file usually came shortly before, so recent sizes are remembered (a bounded number); links
        whose file is not among them are resolved at the end with one more listing of those files."""
        recent: dict[str, int] = {}
        pending: list[tuple[FileRecord, str]] = []
        for record, linked in self._records(snapshot_id, list(paths)):
            if linked is None:
                if record.type == FileType.file:
                    if len(recent) >= _REMEMBERED_SIZES:
                        recent.clear()
                    recent[record.path] = record.size
                yield record
            elif linked in recent:
                yield record.model_copy(update={"size": recent[linked]})
            else:
                pending.append((record, linked))
        if not pending:
            return
        wanted = sorted({linked for _, linked in pending})
        sizes: dict[str, int] = {}
        for start in range(0, len(wanted), _PATHS_PER_CALL):
            for record, _ in self._records(snapshot_id, wanted[start : start + _PATHS_PER_CALL]):
                sizes[record.path] = record.size
        for record, linked in pending:
            yield record.model_copy(update={"size": sizes.get(linked, 0)})

    def diff(self, older: str, newer: str) -> Iterator[DiffEntry]:
        for line in self._stream("diff", "--json-lines", f"{self.location}::{older}", newer):
            item = json.loads(line)
            kinds = {c.get("type") for c in item.get("changes", [])}
            change = "added" if "added" in kinds else "removed" if "removed" in kinds else "modified"
            yield DiffEntry(path="/" + item["path"], change=change)

    def restore(
        self,
        snapshot_id: str,
        target: Path,
        *,
        paths: Sequence[str] = (),
        progress: ProgressFn = _no_progress,
        cancelled: CancelFn = _never_cancelled,
    ) -> None:
        state = Progress(phase="restore")

        def on_stderr(line: str) -> None:
            if '"progress_percent"' not in line:
                return
            message = json.loads(line)
            if message.get("msgid") != "extract" or message.get("finished"):
                return
            state.bytes_done = message.get("current", 0)
            state.bytes_total = message.get("total")
            progress(state.model_copy())

        target.mkdir(parents=True, exist_ok=True)
        args = ["extract", "--progress", f"{self.location}::{snapshot_id}", *map(_archive_path, paths)]
        self._run(*args, cwd=str(target), on_stderr=on_stderr, cancelled=cancelled)

    def read_file(self, snapshot_id: str, path: str, out: IO[bytes]) -> None:
        argv = self._argv("extract", "--stdout", f"{self.location}::{snapshot_id}", _archive_path(path))
        code, stderr = process.pipe_stdout(argv, env=self._env(), out=out)
        if code != 0 and code not in _WARNING_CODES:
            raise self._fail(code, stderr)

    def export_tar(self, snapshot_id: str, out: BinaryIO, paths: Sequence[str] = ()) -> None:
        argv = self._argv("export-tar", f"{self.location}::{snapshot_id}", "-", *map(_archive_path, paths))
        code, stderr = process.pipe_stdout(argv, env=self._env(), out=out)
        if code != 0 and code not in _WARNING_CODES:
            raise self._fail(code, stderr)

    # -- maintenance ------------------------------------------------------------------------

    def delete_snapshots(self, snapshot_ids: list[str], *, cancelled: CancelFn = _never_cancelled) -> None:
        if snapshot_ids:
            self._run("delete", self.location, *snapshot_ids, cancelled=cancelled)

    def compact(self, *, cancelled: CancelFn = _never_cancelled) -> None:
        self._run("compact", self.location, cancelled=cancelled)

    def check(
        self, *, verify_data: bool = False, subset_percent: float | None = None, cancelled: CancelFn = _never_cancelled
    ) -> CheckResult:
        """borg verifies data per archive: a subset means the newest ``subset_percent`` of archives."""
        started = time.monotonic()
        args = ["check", self.location]
        level = "metadata"
        if verify_data:
            args.append("--verify-data")
            level = "data"
            if subset_percent is not None:
                count = len(self._json("list", "--json", self.location)["archives"])
                args += ["--last", str(max(1, round(count * subset_percent / 100)))]
                level = f"data {subset_percent:g}%"
        outcome = process.run(self._argv(*args), env=self._env(), cancelled=cancelled)
        messages = [m for m in json_lines(list(outcome.stderr_tail)) if m.get("type") == "log_message"]
        problems = [m["message"] for m in messages if m.get("levelname") in ("ERROR", "CRITICAL", "WARNING")]
        if outcome.returncode not in (0, 1) and not problems:
            raise self._fail(outcome.returncode, list(outcome.stderr_tail))
        if outcome.returncode in _ERRORS_BY_CODE or any(m.get("msgid") in _ERRORS_BY_MSGID for m in messages):
            raise self._fail(outcome.returncode, list(outcome.stderr_tail))
        return CheckResult(
            ok=outcome.returncode == 0 and not problems,
            level=level,
            problems=problems or ([f"borg check exited with {outcome.returncode}"] if outcome.returncode else []),
            duration_s=time.monotonic() - started,
        )

    def unlock_stale(self) -> None:
        """borg removes locks of dead processes on this host when it takes the lock; take it once."""
        self._run("with-lock", self.location, "true")
