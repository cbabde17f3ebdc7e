"""borg 1.4 through its CLI: --log-json progress, --json results, modern exit codes."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from syncoxide.engines import excludes as exclude_patterns
from syncoxide.engines import process
from syncoxide.engines.base import BackupEngine, ProgressFn, _never_cancelled, _no_progress, json_lines
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
from syncoxide.models import BackupStats, FileRecord, FileType, Progress, Snapshot

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
    (1, {"r": 0o400}), (2, {"w": 0o200}), (3, {"x": 0o100, "s": 0o4100, "S": 0o4000}),
    (4, {"r": 0o040}), (5, {"w": 0o020}), (6, {"x": 0o010, "s": 0o2010, "S": 0o2000}),
    (7, {"r": 0o004}), (8, {"w": 0o002}), (9, {"x": 0o001, "t": 0o1001, "T": 0o1000}),
]


def mode_from_string(text: str) -> int:
    """'-rwsr-xr-t' -> 0o5755: the permission bits of borg's mode column."""
    mode = 0
    for index, bits in _MODE_BITS:
        mode |= bits.get(text[index], 0) if index < len(text) else 0
    return mode


def _archive_path(path: str) -> str:
    return path.lstrip("/")


class BorgEngine(BackupEngine):
    def _env(self) -> dict[str, str]:
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
        }

    def _fail(self, code: int, stderr: list[str]) -> SyncoxideError:
        messages = [m for m in json_lines(stderr) if m.get("type") == "log_message"]
        errors = [m for m in messages if m.get("levelname") in ("ERROR", "CRITICAL")] or messages
        detail = errors[-1].get("message", "").strip() if errors else (stderr[-1] if stderr else "")
        msgid = errors[-1].get("msgid", "") if errors else ""
        cls = _ERRORS_BY_MSGID.get(msgid) or _ERRORS_BY_CODE.get(code) or EngineFailed
        first_line = detail.splitlines()[0] if detail else f"borg exited with {code}"
        return cls(f"borg repository {self.location}: {first_line}")

    def _run(self, args: list[str], **kwargs) -> process.Outcome:
        outcome = process.run([self.binary, "--log-json", *args], env=self._env(), **kwargs)
        if outcome.returncode != 0 and outcome.returncode not in _WARNING_CODES:
            raise self._fail(outcome.returncode, list(outcome.stderr_tail))
        return outcome

    def init(self) -> None:
        self._run(["init", "--encryption=repokey-blake2", "--make-parent-dirs", self.location])

    def backup(
        self,
        sources: list[str],
        *,
        snapshot_name: str,
        excludes: list[str] = (),  # type: ignore[assignment]
        tags: list[str] = (),  # type: ignore[assignment]
        progress: ProgressFn = _no_progress,
        cancelled: CancelFn = _never_cancelled,
    ) -> tuple[str, BackupStats]:
        state = Progress(phase="backup")
        started = time.monotonic()

        def count_totals() -> None:
            state.files_total, state.bytes_total = exclude_patterns.estimate_totals(sources, list(excludes))

        counter = threading.Thread(target=count_totals, daemon=True)
        counter.start()

        def on_stderr(line: str) -> None:
            if not line.startswith('{"original_size"') and '"archive_progress"' not in line:
                return
            message = json.loads(line)
            if message.get("type") != "archive_progress" or message.get("finished"):
                return
            state.files_done = message.get("nfiles", 0)
            state.bytes_done = message.get("original_size", 0)
            state.current_path = "/" + message["path"] if message.get("path") else state.current_path
            progress(state.model_copy())

        args = ["create", "--progress", "--json", "--compression", "auto,zstd,3"]
        args += exclude_patterns.borg_args(excludes)
        if tags:
            args += ["--comment", "tags: " + ",".join(tags)]
        args += [f"{self.location}::{snapshot_name}", *sources]
        outcome = process.run(
            [self.binary, "--log-json", *args], env=self._env(), on_stderr=on_stderr, cancelled=cancelled
        )
        code = outcome.returncode
        if code == ARCHIVE_EXISTS_CODE:
            return snapshot_name, self._stats(snapshot_name, started)
        if code != 0 and code not in _WARNING_CODES:
            raise self._fail(code, list(outcome.stderr_tail))
        archive = json.loads("\n".join(outcome.stdout))["archive"]
        return archive["name"], self._archive_stats(archive, started)

    @staticmethod
    def _archive_stats(archive: dict, started: float) -> BackupStats:
        stats = archive["stats"]
        return BackupStats(
            files=stats["nfiles"],
            bytes=stats["original_size"],
            added_bytes=stats["deduplicated_size"],
            duration_s=time.monotonic() - started,
        )

    def _stats(self, name: str, started: float) -> BackupStats:
        info = json.loads("\n".join(self._run(["info", "--json", f"{self.location}::{name}"]).stdout))
        return self._archive_stats(info["archives"][0], started)

    def find_snapshot(self, snapshot_name: str) -> str | None:
        names = {s.id for s in self.snapshots()}
        return snapshot_name if snapshot_name in names else None

    def snapshots(self) -> list[Snapshot]:
        listing = json.loads("\n".join(self._run(["list", "--json", self.location]).stdout))
        return [
            Snapshot(id=a["name"], time=datetime.fromisoformat(a["time"]).replace(tzinfo=UTC))
            for a in listing["archives"]
        ]

    def list_files(self, snapshot_id: str, paths: list[str] = ()) -> Iterator[FileRecord]:  # type: ignore[assignment]
        argv = [self.binary, "--log-json", "list", "--json-lines", f"{self.location}::{snapshot_id}"]
        argv += [_archive_path(p) for p in paths]

        def on_exit(code: int, stderr: list[str]) -> None:
            if code != 0 and code not in _WARNING_CODES:
                raise self._fail(code, stderr)

        for line in process.stream_stdout(argv, env=self._env(), on_exit=on_exit):
            item = json.loads(line)
            mtime = datetime.fromisoformat(item["mtime"]).replace(tzinfo=UTC)
            mtime_us = (mtime - _EPOCH) // timedelta(microseconds=1)
            yield FileRecord(
                path="/" + item["path"],
                type=_TYPES.get(item["type"], FileType.other),
                size=item.get("size", 0),
                mtime_ns=mtime_us * 1000,
                mode=mode_from_string(item["mode"]),
                link_target=item.get("linktarget") or None,
            )

    def restore(
        self,
        snapshot_id: str,
        target: Path,
        *,
        paths: list[str] = (),  # type: ignore[assignment]
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
        args = ["extract", "--progress", f"{self.location}::{snapshot_id}", *[_archive_path(p) for p in paths]]
        self._run(args, cwd=str(target), on_stderr=on_stderr, cancelled=cancelled)
