"""The nouns every layer shares. Workflow payloads are these models: small, typed, no secrets."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from syncoxide.errors import InvalidValue
from syncoxide.secrets import SecretRef
from syncoxide.units import human_size, parse_size  # noqa: F401 - re-exported: the rest of syncoxide imports them from here


class Engine(StrEnum):
    borg = "borg"
    restic = "restic"


class RunKind(StrEnum):
    backup = "backup"
    restore = "restore"
    retention = "retention"
    check = "check"
    hook = "hook"
    scan = "scan"
    catalog = "catalog"
    cleanup = "cleanup"


class RunStatus(StrEnum):
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


class FileType(StrEnum):
    file = "file"
    dir = "dir"
    symlink = "symlink"
    other = "other"


_DURATION_PART = re.compile(r"(\d+)(y|min|m|w|d|h|s)")
_DURATION_UNITS = {
    "y": timedelta(days=365),
    "m": timedelta(days=30),
    "w": timedelta(weeks=1),
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "min": timedelta(minutes=1),
    "s": timedelta(seconds=1),
}


_DIGITS_AT_MOST = 15
"""more digits than any duration a timedelta holds (about 2.7 million years in seconds)"""
INTERVAL_AT_LEAST = timedelta(seconds=1)
"""Temporal refuses a schedule interval below a second"""
SCHEDULE_AT_MOST = timedelta(days=100 * 365)
"""Temporal does not fire an interval much longer (its times are Go durations, ~292 years, counted from 1970)"""


def shown(text: object, limit: int = 40) -> str:
    """``text`` for a message: its repr, cut short when it is long (a 5000-digit number is not repeated)."""
    if isinstance(text, str) and len(text) > limit:
        return f"{text[:limit]!r}... ({len(text)} characters)"
    return repr(text)


def parse_duration(text: str) -> timedelta:
    """'1y2m3w4d5h' or '15min', '30s' (m is months, as in restic; years are 365 days, months 30)."""
    compact = text.strip() if isinstance(text, str) else ""
    parts = _DURATION_PART.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise InvalidValue(f"duration {shown(text)}: use numbers with y, m, w, d, h, min, s (e.g. 7d, 1m2w, 15min)")
    try:
        if any(len(n) > _DIGITS_AT_MOST for n, _ in parts):
            raise OverflowError
        return sum((int(n) * _DURATION_UNITS[u] for n, u in parts), timedelta())
    except OverflowError:
        raise InvalidValue(f"duration {shown(text)}: too long to be a duration") from None


def parse_interval(text: str) -> timedelta:
    """How often something runs (``every``): a duration from 1s to 100y (what Temporal's schedules and
    timers take), but a bare ``m`` is refused, since whoever writes ``every: 15m`` means minutes, and months
    are what restic's ``m`` says."""
    months = [n for n, unit in _DURATION_PART.findall(text.strip() if isinstance(text, str) else "") if unit == "m"]
    if months and len(months[0]) <= _DIGITS_AT_MOST:
        n = months[0]
        raise InvalidValue(
            f"interval {text!r}: 'm' would mean months here; write {n}min for minutes or {int(n) * 30}d for months"
        )
    interval = parse_duration(text)
    if interval < INTERVAL_AT_LEAST:
        raise InvalidValue(f"interval {shown(text)}: must be at least 1s (Temporal refuses a shorter one)")
    if interval > SCHEDULE_AT_MOST:
        raise InvalidValue(f"interval {shown(text)}: at most 100y (Temporal never fires a longer one)")
    return interval


class Retention(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt rule would otherwise keep every snapshot

    keep_last: int = Field(
        0,
        ge=0,
        description="keep the N newest snapshots (a snapshot is kept if any rule keeps "
        "it; with no rule at all, every snapshot is kept)",
        examples=[10],
    )
    keep_hourly: int = Field(
        0, ge=0, description="keep the newest snapshot of each of the N newest hours that have one", examples=[24]
    )
    keep_daily: int = Field(
        0, ge=0, description="keep the newest snapshot of each of the N newest days that have one", examples=[7]
    )
    keep_weekly: int = Field(
        0, ge=0, description="keep the newest snapshot of each of the N newest (ISO) weeks that have one", examples=[4]
    )
    keep_monthly: int = Field(
        0, ge=0, description="keep the newest snapshot of each of the N newest months that have one", examples=[12]
    )
    keep_yearly: int = Field(
        0, ge=0, description="keep the newest snapshot of each of the N newest years that have one", examples=[5]
    )
    keep_within: str | None = Field(
        None,
        description="keep every snapshot made within this long before the newest "
        "one: a duration in y, m (months), w, d, h, min, s; unset: no such rule",
        examples=["30d", "1y2m"],
    )
    keep_tags: list[str] = Field(
        default_factory=list,
        description="keep every snapshot that has any of these tags",
        examples=[["keep", "release"]],
    )

    @field_validator("keep_within")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @property
    def empty(self) -> bool:
        counts = (self.keep_last, self.keep_hourly, self.keep_daily, self.keep_weekly, self.keep_monthly)
        return not any(counts) and not self.keep_yearly and not self.keep_within and not self.keep_tags


class Repository(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)  # (a location is not repeated in errors)

    id: str
    name: str
    engine: Engine
    location: str
    passphrase: SecretRef
    retention: Retention | None = Field(None, description="applied after every backup when set")
    created_at: datetime | None = None


class Overwrite(StrEnum):
    never = "never"
    if_newer = "if-newer"
    always = "always"


class BackupOptions(BaseModel):
    """How to back up, the same for every engine."""

    excludes: list[str] = Field(default_factory=list)
    exclude_caches: bool = Field(False, description="skip folders holding a CACHEDIR.TAG")
    exclude_if_present: list[str] = Field(default_factory=list, description="skip folders holding such a file")
    one_file_system: bool = False
    compression: str = Field("auto", description="auto, none, max, zstd, zstd,N (1-22) or lz4 (borg)")
    tags: list[str] = Field(default_factory=list)
    hostname: str | None = None
    policy: str | None = Field(None, description="the policy a snapshot belongs to (set by syncoxide)")


class StreamSource(BaseModel):
    """A source read from a command's standard output, stored as one file in the snapshot."""

    name: str = Field(description="file name in the snapshot, e.g. postgres/app.pgdump")
    command: list[str]
    env: dict[str, str] = Field(default_factory=dict, exclude=True, description="never serialized: may hold secrets")


class DatabaseSource(BaseModel):
    """A PostgreSQL database; the URL is a secret reference (it may hold a password)."""

    dbname: str
    url: SecretRef


class Hooks(BaseModel):
    """Shell commands around a backup; a failing before/after hook fails the run."""

    before: list[str] = Field(default_factory=list)
    after: list[str] = Field(default_factory=list)
    on_failure: list[str] = Field(default_factory=list)
    timeout_s: float = 300


class Notify(BaseModel):
    """Where to tell about a policy's runs: apprise URLs, each plain or a secret reference."""

    urls: list[str] = Field(default_factory=list)
    events: list[str] = Field(default_factory=lambda: ["failure", "recovery", "late"])


class FileRecord(BaseModel):
    """One entry of a snapshot's listing, paths absolute as they were backed up."""

    path: str
    type: FileType
    size: int = 0
    mtime_ns: int = 0
    mode: int = 0
    link_target: str | None = None
    uid: int | None = None
    gid: int | None = None


class Snapshot(BaseModel):
    id: str
    time: datetime
    hostname: str | None = None
    paths: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    policy: str | None = None
    files: int | None = None
    bytes: int | None = Field(None, description="original size of the snapshot's contents")
    compressed_bytes: int | None = Field(None, description="its size compressed (borg; restic does not report it)")
    added_bytes: int | None = Field(None, description="data the snapshot added to the repository when made")


class DiffEntry(BaseModel):
    path: str
    change: str = Field(description="added, removed or modified")


class Run(BaseModel):
    id: str
    kind: RunKind
    status: RunStatus
    repository_id: str | None
    policy_id: str | None = None
    started_at: datetime
    finished_at: datetime | None = None
    files: int | None = None
    bytes: int | None = None
    added_bytes: int | None = None
    snapshot_id: str | None = None
    error: str | None = None
    workflow_id: str | None = None
    warnings: list[str] = Field(default_factory=list, description="what a succeeded run could not do exactly")


class Source(BaseModel):
    """A directory tree the catalog scans (a backup source, a disk, a share mounted here)."""

    id: str
    name: str
    root: str
    excludes: list[str] = Field(default_factory=list)
    hashes: list[str] = Field(default_factory=list, description="content hashes to compute: xxh3, blake3, md5, sha1")
    created_at: datetime | None = None
