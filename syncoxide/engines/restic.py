"""restic 0.18 through its CLI: --json status stream, documented exit codes (10, 11, 12, 130)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from syncoxide.engines import excludes as exclude_patterns
from syncoxide.engines import process
from syncoxide.engines.base import BackupEngine, ProgressFn, _never_cancelled, _no_progress, json_lines
from syncoxide.engines.process import CancelFn
from syncoxide.errors import (
    EngineFailed,
    RepositoryExists,
    RepositoryLocked,
    RepositoryNotFound,
    SyncoxideError,
    WrongPassphrase,
)
from syncoxide.models import BackupStats, FileRecord, FileType, Progress, Snapshot

_ERRORS_BY_CODE: dict[int, type[SyncoxideError]] = {
    10: RepositoryNotFound,
    11: RepositoryLocked,
    12: WrongPassphrase,
}
PARTIAL_BACKUP_CODE = 3
RUN_TAG_PREFIX = "syncoxide-run:"
_TYPES = {"file": FileType.file, "dir": FileType.dir, "symlink": FileType.symlink}
_GO_SETUID, _GO_SETGID, _GO_STICKY = 1 << 23, 1 << 22, 1 << 20
_FRACTION = re.compile(r"\.(\d+)")


def mode_from_go(mode: int) -> int:
    """Go's os.FileMode keeps setuid/setgid/sticky in high bits; return POSIX permission bits."""
    bits = mode & 0o777
    bits |= 0o4000 if mode & _GO_SETUID else 0
    bits |= 0o2000 if mode & _GO_SETGID else 0
    bits |= 0o1000 if mode & _GO_STICKY else 0
    return bits


def parse_time_ns(text: str) -> int:
    """RFC 3339 with up to nanoseconds -> integer nanoseconds since the epoch, exactly."""
    match = _FRACTION.search(text)
    fraction = match.group(1) if match else ""
    seconds = datetime.fromisoformat(_FRACTION.sub("", text, count=1).replace("Z", "+00:00"))
    return int(seconds.timestamp()) * 1_000_000_000 + int((fraction + "000000000")[:9])


class ResticEngine(BackupEngine):
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

    def _fail(self, code: int, stderr: list[str]) -> SyncoxideError:
        errors = [m for m in json_lines(stderr) if m.get("message_type") == "exit_error"]
        detail = errors[-1]["message"] if errors else next((s for s in reversed(stderr) if s.strip()), "")
        detail = detail.strip().splitlines()[0] if detail.strip() else f"restic exited with {code}"
        cls = _ERRORS_BY_CODE.get(code)
        if cls is None and "config file already exists" in detail:
            cls = RepositoryExists
        return (cls or EngineFailed)(f"restic repository {self.location}: {detail.removeprefix('Fatal: ')}")

    def _run(self, args: list[str], **kwargs) -> process.Outcome:
        outcome = process.run([self.binary, "--json", *args], env=self._env(), **kwargs)
        if outcome.returncode != 0:
            raise self._fail(outcome.returncode, list(outcome.stderr_tail))
        return outcome

    def init(self) -> None:
        self._run(["init"])

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
        existing = self.find_snapshot(snapshot_name)
        if existing:
            return existing, self._stats(existing)
        summary: dict = {}

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

        args = ["backup", "--tag", RUN_TAG_PREFIX + snapshot_name, *exclude_patterns.restic_args(excludes)]
        for tag in tags:
            args += ["--tag", tag]
        outcome = process.run(
            [self.binary, "--json", *args, "--", *sources],
            env=self._env(),
            on_stdout=on_stdout,
            cancelled=cancelled,
            keep_stdout=False,
        )
        if outcome.returncode not in (0, PARTIAL_BACKUP_CODE) or not summary.get("snapshot_id"):
            raise self._fail(outcome.returncode, list(outcome.stderr_tail))
        return summary["snapshot_id"], self._summary_stats(summary)

    @staticmethod
    def _summary_stats(summary: dict) -> BackupStats:
        return BackupStats(
            files=summary.get("total_files_processed", 0),
            bytes=summary.get("total_bytes_processed", 0),
            added_bytes=summary.get("data_added_packed", summary.get("data_added", 0)),
            duration_s=summary.get("total_duration", 0.0),
        )

    def _snapshots_json(self, *args: str) -> list[dict]:
        return json.loads("\n".join(self._run(["snapshots", *args]).stdout) or "[]")

    def _stats(self, snapshot_id: str) -> BackupStats:
        found = [s for s in self._snapshots_json() if s["id"] == snapshot_id]
        return self._summary_stats(found[0].get("summary", {})) if found else BackupStats()

    def find_snapshot(self, snapshot_name: str) -> str | None:
        found = self._snapshots_json("--tag", RUN_TAG_PREFIX + snapshot_name)
        return found[-1]["id"] if found else None

    def snapshots(self) -> list[Snapshot]:
        return [
            Snapshot(
                id=s["id"],
                time=datetime.fromisoformat(_FRACTION.sub("", s["time"], count=1).replace("Z", "+00:00")),
                hostname=s.get("hostname"),
                paths=s.get("paths", []),
                tags=[t for t in s.get("tags") or [] if not t.startswith(RUN_TAG_PREFIX)],
            )
            for s in self._snapshots_json()
        ]

    def list_files(self, snapshot_id: str, paths: list[str] = ()) -> Iterator[FileRecord]:  # type: ignore[assignment]
        argv = [self.binary, "--json", "ls", snapshot_id, *paths]

        def on_exit(code: int, stderr: list[str]) -> None:
            if code != 0:
                raise self._fail(code, stderr)

        for line in process.stream_stdout(argv, env=self._env(), on_exit=on_exit):
            item = json.loads(line)
            if item.get("struct_type") != "node":
                continue
            yield FileRecord(
                path=item["path"],
                type=_TYPES.get(item["type"], FileType.other),
                size=item.get("size", 0),
                mtime_ns=parse_time_ns(item["mtime"]),
                mode=mode_from_go(item.get("mode", 0)),
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
        self._run(args, on_stdout=on_stdout, cancelled=cancelled, keep_stdout=False)
