"""What a policy file may say. Secrets are references (env:, file:, command:), never values."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from syncoxide import cron as crontab
from syncoxide.engines import compression
from syncoxide.errors import InvalidValue
from syncoxide.models import (
    SCHEDULE_AT_MOST,
    BackupOptions,
    Engine,
    Retention,
    parse_duration,
    parse_interval,
    parse_size,
    shown,
)
from syncoxide.providers.spec import OptionValue
from syncoxide.secrets import SecretRef
from syncoxide.secrets.in_locations import refuse_credentials
from syncoxide.sync import inputs
from syncoxide.sync.cadence import Cadence
from syncoxide.sync.models import ConflictLoser, ConflictPolicy, Mode, SyncOptions, backup_folder

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_REFERENCE = re.compile(r"^(env|file|command):.+")


def _reference(value: str) -> str:
    if not isinstance(value, str) or not _REFERENCE.match(value):
        raise ValueError("must be a reference (env:NAME, file:PATH or command:CMD); inline secrets are refused")
    return value


def _duration(value: str | None) -> str | None:
    if value is not None:
        parse_duration(value)
    return value


def _interval(value: str | None) -> str | None:
    if value is not None:
        parse_interval(value)
    return value


def _schedule_span(value: str | None) -> str | None:
    """A duration a Temporal Schedule keeps (jitter, catchup window) or one added to its interval (grace):
    at most 100y, as an interval is (``apply`` would otherwise stop at the schedule, half-way)."""
    if value is not None and parse_duration(value) > SCHEDULE_AT_MOST:
        raise InvalidValue(f"duration {value!r}: at most 100y for a schedule")
    return value


def _size(value: str | int | None) -> str | int | None:
    if value is not None:
        parse_size(str(value))
    return value


def _max_delete(value: str | int) -> str | int:
    inputs.parse_max_delete(value)
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)  # (a refused secret is not repeated)


class CheckCadence(Strict):
    every: str = Field(description="how often, e.g. 1d, 7d")
    subset: float | None = Field(None, gt=0, le=100, description="data checks: percent to read")

    _every = field_validator("every")(_interval)


class RepositorySpec(Strict):
    engine: Engine
    location: str
    passphrase: str
    encryption: str | None = None
    retention: Retention | None = None
    metadata_check: CheckCadence | None = None
    data_check: CheckCadence | None = None

    _passphrase = field_validator("passphrase")(_reference)

    @field_validator("location")
    @classmethod
    def _no_credentials(cls, value: str, info: ValidationInfo) -> str:
        engine = info.data.get("engine")
        return refuse_credentials(value, kind=engine.value if engine else None, field="")


class SourceSpec(Strict):
    paths: list[str] = Field(default_factory=list)
    excludes: list[str] = Field(default_factory=list)
    exclude_caches: bool = False
    exclude_if_present: list[str] = Field(default_factory=list)
    one_file_system: bool = False
    database: str | None = None
    database_url: str | None = None

    _url = field_validator("database_url")(lambda v: None if v is None else _reference(v))

    @field_validator("paths")
    @classmethod
    def _absolute(cls, paths: list[str]) -> list[str]:
        for path in paths:
            if not path.startswith("/"):
                raise ValueError(f"{path!r} is not an absolute path")
        return paths

    @model_validator(mode="after")
    def _one_kind(self) -> SourceSpec:
        if bool(self.paths) == bool(self.database):
            raise ValueError("a source has either paths or a database")
        if bool(self.database) != bool(self.database_url):
            raise ValueError("database and database_url go together")
        return self


class ScheduleSpec(Strict):
    cron: str | None = None
    every: str | None = None
    time_zone: str = "UTC"
    jitter: str | None = None

    _every = field_validator("every")(_interval)
    _jitter = field_validator("jitter")(_schedule_span)
    _cron = field_validator("cron")(crontab.valid_schedule_cron)
    _time_zone = field_validator("time_zone")(crontab.valid_zone)

    @model_validator(mode="after")
    def _one_way(self) -> ScheduleSpec:
        if bool(self.cron) == bool(self.every):
            raise ValueError("give either cron or every")
        return self


class HooksSpec(Strict):
    before: list[str] = Field(default_factory=list)
    after: list[str] = Field(default_factory=list)
    on_failure: list[str] = Field(default_factory=list)
    timeout: str = "5m"

    _timeout = field_validator("timeout")(_duration)


class NotifySpec(Strict):
    urls: list[str] = Field(default_factory=list, description="apprise URLs; may be references")
    events: list[Literal["failure", "recovery", "late", "success"]] = Field(
        default_factory=lambda: ["failure", "recovery", "late"]
    )


class PolicySpec(Strict):
    source: str
    repository: str
    schedule: ScheduleSpec
    overlap: Literal["skip", "buffer-one"] = "skip"
    catchup_window: str = "1d"
    pause_on_failure: bool = False
    grace: str = Field("1h", description="how late a run may be before the policy counts as late")
    compression: str = "auto"
    tags: list[str] = Field(default_factory=list)
    retention: Retention | None = Field(None, description="over this policy's own snapshots, after each backup")
    hooks: HooksSpec | None = None
    notify: NotifySpec | None = None
    paused: bool = False

    _durations = field_validator("catchup_window", "grace")(_schedule_span)

    @field_validator("compression")
    @classmethod
    def _compression(cls, value: str) -> str:
        compression.parse(value)
        return value


class SyncPairSpec(Strict):
    """A sync pair, said as `syncoxide sync start` takes it: continuously, `every` so long or on a `cron`, or once
    (neither)."""

    source: str = Field(description="a side: a path, sftp://, s3://, webdav:, rclone: or @spec.json")
    destination: str
    source_options: dict[str, OptionValue] = Field(default_factory=dict)
    source_secrets: dict[str, str] = Field(default_factory=dict, description="name: reference")
    destination_options: dict[str, OptionValue] = Field(default_factory=dict)
    destination_secrets: dict[str, str] = Field(default_factory=dict, description="name: reference")
    mode: Mode = Mode.copy
    every: str | None = Field(None, description="run again this long after each run, e.g. 15min")
    cron: str | None = Field(None, description='run at the times of this cron expression, e.g. "0 3 * * *"')
    time_zone: str = Field("UTC", description="the time zone of cron")
    paused: bool = False
    resync: bool = Field(False, description="bisync: allow the first run (no baseline yet) to make one")
    checksum: bool = False
    conflict: ConflictPolicy = ConflictPolicy.newer
    conflict_loser: ConflictLoser = Field(ConflictLoser.keep, description="bisync: keep the version that loses a "
                                          "conflict (a conflict copy, or in backup_dir) or discard it")
    max_delete: str | int = "50%"
    transfers: int = Field(4, ge=1, le=64)
    bwlimit: str | int | None = None
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    min_size: str | int | None = None
    max_size: str | int | None = None
    min_age: str | None = None
    max_age: str | None = None
    backup_dir: str | None = Field(None, description="what a run would delete or replace is moved to this folder "
                                   "of the side it changes, under the run's time (e.g. .versions)")
    backup_keep: str | None = Field(None, description="after each run, remove backup_dir's run folders older than "
                                    "this (e.g. 30d)")
    links: bool = Field(False, description="local sides: sync symlinks as symlinks (rclone --links)")
    copy_links: bool = Field(False, description="local sides: follow symlinks (rclone --copy-links)")
    metadata: bool = Field(False, description="also keep owners (as root), user.* extended attributes and folder "
                           "times (rclone --metadata)")

    _every = field_validator("every")(_interval)
    _durations = field_validator("min_age", "max_age")(_duration)
    _backup_dir = field_validator("backup_dir")(backup_folder)
    _max_delete = field_validator("max_delete")(_max_delete)
    _sizes = field_validator("bwlimit", "min_size", "max_size")(_size)

    @field_validator("backup_keep")
    @classmethod
    def _backup_keep(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            _duration(value)
            if info.data.get("backup_dir") is None and "backup_dir" in info.data:  # (not when it was wrong)
                raise ValueError("it prunes backup_dir's folder: give backup_dir too")
        return value

    @field_validator("source", "destination")
    @classmethod
    def _no_credentials(cls, side: str) -> str:
        """A side's location is checked here too, so that the file's other problems are told at the same time."""
        split = inputs.split_side(side) if isinstance(side, str) else None
        if split is not None:
            refuse_credentials(split[1], kind=split[0], field="")
        return side

    @field_validator("source_secrets", "destination_secrets")
    @classmethod
    def _references(cls, refs: dict[str, str]) -> dict[str, str]:
        for value in refs.values():
            _reference(value)
        return refs

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            if info.data.get("every"):
                raise ValueError("give every or cron, not both")
            crontab.parse(value)
        return value

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str, info: ValidationInfo) -> str:
        crontab.zone(value)
        if value != "UTC" and "cron" in info.data and info.data["cron"] is None:  # (not when cron itself was wrong)
            raise ValueError("it is the time zone of cron; give cron too")
        return value

    def cadence(self) -> Cadence:
        interval = parse_interval(self.every).total_seconds() if self.every else None
        return Cadence(interval_s=interval, cron=self.cron, time_zone=self.time_zone)

    def options(self) -> SyncOptions:
        return inputs.sync_options(
            checksum=self.checksum, resync=self.resync, conflict=self.conflict, conflict_loser=self.conflict_loser,
            max_delete=self.max_delete,
            transfers=self.transfers, bwlimit=self.bwlimit, include=self.include, exclude=self.exclude,
            min_size=self.min_size, max_size=self.max_size, min_age=self.min_age, max_age=self.max_age,
            backup_dir=self.backup_dir, backup_keep=self.backup_keep, links=self.links, copy_links=self.copy_links,
            metadata=self.metadata)


class PolicyFile(Strict):
    repositories: dict[str, RepositorySpec] = Field(default_factory=dict)
    sources: dict[str, SourceSpec] = Field(default_factory=dict)
    policies: dict[str, PolicySpec] = Field(default_factory=dict)
    sync: dict[str, SyncPairSpec] = Field(default_factory=dict)

    @field_validator("repositories", "sources", "policies", "sync")
    @classmethod
    def _names(cls, entries: dict) -> dict:
        for name in entries:
            if not _NAME.match(name):
                raise ValueError(f"name {shown(name)}: use lower-case letters, digits, - and _ (at most 63)")
        return entries


def backup_options(source: SourceSpec, policy: PolicySpec) -> BackupOptions:
    return BackupOptions(
        excludes=source.excludes,
        exclude_caches=source.exclude_caches,
        exclude_if_present=source.exclude_if_present,
        one_file_system=source.one_file_system,
        compression=policy.compression,
        tags=policy.tags,
    )


def secret(reference: str) -> SecretRef:
    return SecretRef.parse(reference)
