"""What a policy file may say. Secrets are references (env:, file:, command:), never values."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic.json_schema import JsonDict

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
from syncoxide.providers.spec import KINDS, OptionValue
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


_INTERVAL = (
    "an interval from 1s to 100y in s, min, h, d, w or y (a bare m, months, is refused here: write min "
    "for minutes or d for days)"
)
_DURATION = "a duration in y, m (months, 30 days), w, d, h, min, s, e.g. 1d, 12h, 1m2w"
_SIZE = "a size in binary units (K, M, G, T, e.g. 100M, 1.5G) or a number of bytes"
_A_REFERENCE = "a secret reference (env:NAME, file:PATH or command:CMD); an inline secret is refused"
_REFERENCE_SCHEMA: JsonDict = {"pattern": _REFERENCE.pattern}  # (the editor's schema says what the validator checks)
_OPTIONS_BY_KIND = "; ".join(f"{kind}: {', '.join(sorted(options))}" for kind, (_, options, _) in KINDS.items())
_SECRETS_BY_KIND = (
    "; ".join(f"{kind}: {', '.join(sorted(names))}" for kind, (_, _, names) in KINDS.items() if names)
    + "; rclone: any name, passed as RCLONE_CONFIG_<REMOTE>_<NAME>"
)


class CheckCadence(Strict):
    """How often a scheduled check (`check-<repository>-metadata|data`) runs on the repository."""

    every: str = Field(description=f"how often, e.g. 1d, 7d: {_INTERVAL}", examples=["1d", "7d"])
    subset: float | None = Field(
        None,
        gt=0,
        le=100,
        description="data checks: percent to read: restic reads that "
        "share of the data (--read-data-subset), borg verifies that share of the newest "
        "archives (--verify-data --last N); unset reads all of it. A metadata check "
        "ignores it",
        examples=[10],
    )

    _every = field_validator("every")(_interval)


class RepositorySpec(Strict):
    """A backup repository. Apply initializes it when its location is empty (or registers the one it finds
    there) and schedules its checks; a registered repository cannot move (declare a new one)."""

    engine: Engine = Field(
        description="the backup program that keeps the repository: borg or restic", examples=["restic", "borg"]
    )
    location: str = Field(
        description="where the repository is: a local path (made absolute), or over SSH "
        "(borg ssh://user@host/path, restic sftp:user@host:/path); a password or another "
        "credential in it is refused",
        examples=["/srv/backups/home", "ssh://backup@nas/srv/borg/laptop"],
    )
    passphrase: str = Field(
        description=f"the repository's passphrase as {_A_REFERENCE}",
        examples=["command:pass show backup/nas", "file:~/.restic-pass", "env:NAS_PASSPHRASE"],
        json_schema_extra=_REFERENCE_SCHEMA,
    )
    encryption: str | None = Field(
        None,
        description="the encryption mode when apply creates the repository "
        "(unused for one that exists): borg takes repokey-blake2 (its default), "
        "keyfile-blake2, authenticated-blake2, repokey, keyfile or authenticated; restic "
        "only restic; unset: the engine's default",
        examples=["repokey-blake2"],
    )
    retention: Retention | None = Field(
        None,
        description="which snapshots to keep, over all of the repository's "
        "snapshots, applied after each backup into it; unset keeps everything. A "
        "policy backing up into it may then not set a retention of its own",
        examples=[{"keep_daily": 7, "keep_weekly": 4, "keep_monthly": 12}],
    )
    metadata_check: CheckCadence | None = Field(
        None,
        description="how often to check the repository's structure "
        "(borg check, restic check, without reading the data); unset: no "
        "scheduled metadata check",
        examples=[{"every": "1d"}],
    )
    data_check: CheckCadence | None = Field(
        None,
        description="how often to check the repository's data too (borg "
        "check --verify-data, restic check --read-data), all of it or a subset; "
        "unset: no scheduled data check",
        examples=[{"every": "7d", "subset": 10}],
    )

    _passphrase = field_validator("passphrase")(_reference)

    @field_validator("location")
    @classmethod
    def _no_credentials(cls, value: str, info: ValidationInfo) -> str:
        engine = info.data.get("engine")
        return refuse_credentials(value, kind=engine.value if engine else None, field="")


class SourceSpec(Strict):
    """What a policy backs up: files and folders (paths), or one PostgreSQL database (database with database_url),
    not both."""

    paths: list[str] = Field(
        default_factory=list,
        description="absolute paths of the folders and files to back up (not with database)",
        examples=[["/home/me", "/etc"]],
        json_schema_extra={"items": {"type": "string", "pattern": "^/"}},
    )
    excludes: list[str] = Field(
        default_factory=list,
        description="shell globs (*, ?, [...], **) of what to leave "
        "out, the same for both engines: one starting with / is anchored at the filesystem "
        "root, any other matches at any depth; an excluded folder is not entered",
        examples=[["*.tmp", "node_modules", "/home/me/.cache"]],
    )
    exclude_caches: bool = Field(False, description="skip folders holding a CACHEDIR.TAG", examples=[True])
    exclude_if_present: list[str] = Field(
        default_factory=list, description="skip folders holding a file of one of these names", examples=[[".nobackup"]]
    )
    one_file_system: bool = Field(
        False,
        description="stay on the file systems the paths are on: other file "
        "systems mounted below them are not backed up",
        examples=[True],
    )
    database: str | None = Field(
        None,
        description="the name of a PostgreSQL database to back up instead of "
        "paths (dumped with pg_dump --format=custom, kept as one file in the snapshot); "
        "goes with database_url",
        examples=["shop"],
    )
    database_url: str | None = Field(
        None,
        description="the URL of the database's server (postgresql://user@host"
        f":5432, which may hold a password) as {_A_REFERENCE}; goes with database",
        examples=["env:SHOP_DB_URL"],
        json_schema_extra=_REFERENCE_SCHEMA,
    )

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
    """When a policy's backups run, by its Temporal Schedule: give either cron or every."""

    cron: str | None = Field(
        None,
        description="a five-field cron expression (minute hour day-of-month month "
        "day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly, in time_zone; when both "
        "day fields are restricted a day must match both (Temporal's rule); L, W, # and ? are "
        "refused (they are for sync pairs)",
        examples=["30 2 * * *", "@daily"],
    )
    every: str | None = Field(None, description=f"run this often: {_INTERVAL}", examples=["1h", "6h"])
    time_zone: str = Field("UTC", description="the IANA time zone of cron's times", examples=["Europe/Berlin"])
    jitter: str | None = Field(
        None,
        description=f"start each run up to this much later, at random ({_DURATION}; at most 100y); unset: on time",
        examples=["10min"],
    )

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
    """Shell commands around a policy's backups, each run with sh -c on the worker (the engines' secret variables
    left out of its environment, SYNCOXIDE_RUN_ID added); each stage is recorded as a hook run."""

    before: list[str] = Field(
        default_factory=list,
        description="commands run in order before the backup; one that "
        "fails or times out fails the run (and the backup is not made)",
        examples=[["systemctl stop myapp"]],
    )
    after: list[str] = Field(
        default_factory=list,
        description="commands run in order after the backup is made; one that fails or times out fails the run",
        examples=[["systemctl start myapp"]],
    )
    on_failure: list[str] = Field(
        default_factory=list,
        description="commands run in order after the run failed (their own failure is only logged)",
        examples=[["systemctl start myapp"]],
    )
    timeout: str = Field(
        "5min",
        description=f"how long each command may run ({_DURATION}); m is months in a duration: write min for minutes",
        examples=["5min"],
    )

    _timeout = field_validator("timeout")(_duration)


def _default_events() -> list[Literal["failure", "recovery", "late", "success"]]:
    return ["failure", "recovery", "late"]


class NotifySpec(Strict):
    """Notifications about a policy's runs, sent through apprise (email, Slack, ntfy, Matrix, webhooks, ...)."""

    urls: list[str] = Field(
        default_factory=list,
        description="apprise URLs; may be references (env:NAME, file:PATH "
        "or command:CMD, resolved only where the notification is sent), for URLs that hold a "
        "token",
        examples=[["env:NTFY_URL", "ntfy://ntfy.sh/my-backups"]],
    )
    events: list[Literal["failure", "recovery", "late", "success"]] = Field(
        default_factory=_default_events,
        description="what to notify: failure (a run failed), recovery (a run succeeded after a failed one), late "
        "(no success within the schedule's interval plus grace; told once per late spell) and success "
        "(every run that succeeded)",
        examples=[["failure", "recovery"]],
    )


class PolicySpec(Strict):
    """A backup policy: one source into one repository on a schedule, as the Temporal Schedule policy-<name>."""

    source: str = Field(
        description="the name of the source to back up (an entry of sources:, in any of the files applied together)",
        examples=["home"],
    )
    repository: str = Field(
        description="the name of the repository to back up into (an entry of repositories:)", examples=["nas"]
    )
    schedule: ScheduleSpec = Field(
        description="when the backups run: on a cron or every so long",
        examples=[{"cron": "30 2 * * *", "time_zone": "Europe/Berlin", "jitter": "10min"}, {"every": "1h"}],
    )
    overlap: Literal["skip", "buffer-one"] = Field(
        "skip",
        description="a backup that comes due while the previous "
        "one still runs: skip it, or buffer-one (start it when the "
        "running one ends; further ones are skipped)",
        examples=["buffer-one"],
    )
    catchup_window: str = Field(
        "1d",
        description="after Temporal was down, a backup missed within this long is "
        f"still run ({_DURATION}; at most 100y)",
        examples=["1d", "6h"],
    )
    pause_on_failure: bool = Field(
        False,
        description="pause the schedule when a backup fails, until it is resumed (syncoxide policy resume)",
        examples=[True],
    )
    grace: str = Field(
        "1h",
        description="how late a run may be before the policy counts as late: late when nothing "
        f"succeeded within the schedule's interval plus this ({_DURATION}; at most 100y)",
        examples=["2h"],
    )
    compression: str = Field(
        "auto",
        description="auto, none, max, zstd, zstd,N (1-22) or lz4 (borg); restic maps "
        "zstd levels onto its auto (up to 9) and max",
        examples=["zstd,6", "auto"],
    )
    tags: list[str] = Field(
        default_factory=list,
        description="tags given to every snapshot of this policy (which a retention's keep_tags can keep)",
        examples=[["nightly"]],
    )
    retention: Retention | None = Field(
        None,
        description="over this policy's own snapshots, after each backup; not "
        "with a retention on the repository too; unset: none of its own",
        examples=[{"keep_daily": 7, "keep_weekly": 4}],
    )
    hooks: HooksSpec | None = Field(
        None,
        description="commands run before and after each backup, and after a failed one; unset: none",
        examples=[{"before": ["systemctl stop myapp"], "after": ["systemctl start myapp"], "timeout": "5min"}],
    )
    notify: NotifySpec | None = Field(
        None,
        description="whom to tell about this policy's runs, and when; unset: nobody",
        examples=[{"urls": ["env:NTFY_URL"], "events": ["failure", "recovery"]}],
    )
    paused: bool = Field(
        False,
        description="make the schedule paused when it is applied: no backups run until it is resumed",
        examples=[True],
    )

    _durations = field_validator("catchup_window", "grace")(_schedule_span)

    @field_validator("compression")
    @classmethod
    def _compression(cls, value: str) -> str:
        compression.parse(value)
        return value


class SyncPairSpec(Strict):
    """A sync pair, said as `syncoxide sync start` takes it: continuously, `every` so long or on a `cron`, or once
    (neither)."""

    source: str = Field(
        description="a side: a path, sftp://, s3://, webdav:, rclone: or @spec.json (a path: /data, "
        "~/x or local:/data, relative ones from the policy file's folder; sftp://user@host:port/path; "
        "s3://bucket/prefix; webdav:https://host/path or any http(s):// URL; rclone:remote:path; "
        "@spec.json, a provider spec as JSON)",
        examples=["/home/me/Pictures", "~/notes"],
    )
    destination: str = Field(
        description="the other side, written as source is; created when it does not exist (an S3 bucket too)",
        examples=["sftp://me@nas:22/srv/notes", "s3://photos/laptop"],
    )
    source_options: dict[str, OptionValue] = Field(
        default_factory=dict,
        description="the source provider's options (YAML types kept), by kind: " + _OPTIONS_BY_KIND,
        examples=[{"endpoint_url": "https://s3.example.net", "region": "eu-central-1"}],
    )
    source_secrets: dict[str, str] = Field(
        default_factory=dict,
        description="name: reference; the source "
        f"provider's secrets, each {_A_REFERENCE}; names by kind: " + _SECRETS_BY_KIND,
        examples=[{"access_key_id": "env:S3_KEY", "secret_access_key": "file:~/.s3-secret"}],
        json_schema_extra={"additionalProperties": {"type": "string", **_REFERENCE_SCHEMA}},
    )
    destination_options: dict[str, OptionValue] = Field(
        default_factory=dict,
        description="the destination provider's options, as source_options",
        examples=[{"key_file": "~/.ssh/id_ed25519", "known_hosts": "~/.ssh/known_hosts"}],
    )
    destination_secrets: dict[str, str] = Field(
        default_factory=dict,
        description="name: reference; the destination provider's secrets, as source_secrets",
        examples=[{"key_passphrase": "env:NAS_KEY_PASS"}],
        json_schema_extra={"additionalProperties": {"type": "string", **_REFERENCE_SCHEMA}},
    )
    mode: Mode = Field(
        Mode.copy,
        description="copy (new and changed files to the destination; never deletes), sync "
        "(make the destination identical: also deletes what the source lacks, guarded by "
        "max_delete), move (copy, verify, then delete each source file) or bisync (two-way, against "
        "the baseline of the last successful run)",
        examples=["bisync"],
    )
    every: str | None = Field(
        None,
        description="run again this long after each run, e.g. 15min: "
        f"{_INTERVAL}; not with cron; with neither, one pass when the pair is applied",
        examples=["15min", "1h"],
    )
    cron: str | None = Field(
        None,
        description='run at the times of this cron expression, e.g. "0 3 * * *": five '
        "fields or @daily and the like, with L, W, # and ? in the day fields; not with every; "
        "a new pair waits for its first time",
        examples=["0 3 * * *", "0 3 L * *"],
    )
    time_zone: str = Field(
        "UTC", description="the time zone of cron (an IANA name; only with cron)", examples=["Europe/Berlin"]
    )
    paused: bool = Field(
        False,
        description="start the pair's workflow paused (whenever the pair is started or restarted)",
        examples=[True],
    )
    resync: bool = Field(
        False,
        description="bisync: allow the first run (no baseline yet) to make one; a bisync "
        "pair without a baseline is refused without it; once the baseline exists it does nothing",
        examples=[True],
    )
    checksum: bool = Field(
        False, description="compare files by MD5 hash instead of size and modification time", examples=[True]
    )
    conflict: ConflictPolicy = Field(
        ConflictPolicy.newer,
        description="bisync: which version of a file changed on "
        "both sides keeps the name: newer (ties go to path1), larger, path1 (the "
        "source), path2 (the destination), or keep-both (the newer; the other is "
        "renamed with a conflict suffix)",
        examples=["keep-both"],
    )
    conflict_loser: ConflictLoser = Field(
        ConflictLoser.keep,
        description="bisync: keep the version that loses a conflict (a conflict copy, or in backup_dir) or discard it",
        examples=["discard"],
    )
    max_delete: str | int = Field(
        "50%",
        description="a guard: a run that would delete more than this many of a "
        "side's files stops before changing anything: a count (100), a percentage (10%) "
        "or none (no guard)",
        examples=["10%", 100, "none"],
    )
    transfers: int = Field(4, ge=1, le=64, description="files transferred at once", examples=[8])
    bwlimit: str | int | None = Field(
        None, description=f"bytes per second for all transfers together: {_SIZE}; unset: no limit", examples=["10M"]
    )
    include: list[str] = Field(
        default_factory=list,
        description="globs; when given, only matching files are "
        "synced (a glob without / matches a name at any depth, one with / the whole relative "
        "path)",
        examples=[["*.jpg", "*.png"]],
    )
    exclude: list[str] = Field(
        default_factory=list,
        description="globs; matching files and directories are skipped (and never deleted by a sync)",
        examples=[["*.tmp", ".cache"]],
    )
    min_size: str | int | None = Field(None, description=f"only files at least this big: {_SIZE}", examples=["1K"])
    max_size: str | int | None = Field(None, description=f"only files at most this big: {_SIZE}", examples=["4G"])
    min_age: str | None = Field(
        None, description=f"only files modified at least this long ago ({_DURATION})", examples=["1h"]
    )
    max_age: str | None = Field(
        None, description=f"only files modified at most this long ago ({_DURATION})", examples=["30d"]
    )
    backup_dir: str | None = Field(
        None,
        description="what a run would delete or replace is moved to this folder "
        "of the side it changes, under the run's time (e.g. .versions)",
        examples=[".versions"],
    )
    backup_keep: str | None = Field(
        None, description="after each run, remove backup_dir's run folders older than this (e.g. 30d)", examples=["30d"]
    )
    links: bool = Field(False, description="local sides: sync symlinks as symlinks (rclone --links)", examples=[True])
    copy_links: bool = Field(False, description="local sides: follow symlinks (rclone --copy-links)", examples=[True])
    metadata: bool = Field(
        False,
        description="also keep owners (as root), user.* extended attributes and folder times (rclone --metadata)",
        examples=[True],
    )

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
            checksum=self.checksum,
            resync=self.resync,
            conflict=self.conflict,
            conflict_loser=self.conflict_loser,
            max_delete=self.max_delete,
            transfers=self.transfers,
            bwlimit=self.bwlimit,
            include=self.include,
            exclude=self.exclude,
            min_size=self.min_size,
            max_size=self.max_size,
            min_age=self.min_age,
            max_age=self.max_age,
            backup_dir=self.backup_dir,
            backup_keep=self.backup_keep,
            links=self.links,
            copy_links=self.copy_links,
            metadata=self.metadata,
        )


_NAMES = "by name (lower-case letters, digits, - and _, starting with a letter or digit, at most 63)"
_NAMES_SCHEMA: JsonDict = {"propertyNames": {"pattern": _NAME.pattern}}


class PolicyFile(Strict):
    """A policy file: repositories, sources, backup policies and sync pairs, each section a mapping of names to
    entries. Several files may be applied together; each name is defined once across them."""

    repositories: dict[str, RepositorySpec] = Field(
        default_factory=dict,
        description=f"backup repositories {_NAMES}",
        examples=[
            {
                "nas": {
                    "engine": "borg",
                    "location": "ssh://backup@nas/srv/borg/laptop",
                    "passphrase": "command:pass show backup/nas",
                    "retention": {"keep_daily": 7, "keep_weekly": 4},
                    "metadata_check": {"every": "1d"},
                }
            }
        ],
        json_schema_extra=_NAMES_SCHEMA,
    )
    sources: dict[str, SourceSpec] = Field(
        default_factory=dict,
        description=f"what to back up, {_NAMES}",
        examples=[
            {
                "home": {"paths": ["/home/me"], "excludes": ["*.tmp"]},
                "shop-db": {"database": "shop", "database_url": "env:SHOP_DB_URL"},
            }
        ],
        json_schema_extra=_NAMES_SCHEMA,
    )
    policies: dict[str, PolicySpec] = Field(
        default_factory=dict,
        description=f"backup policies {_NAMES}: each backs up a source into a repository on a schedule",
        examples=[
            {
                "home-nightly": {
                    "source": "home",
                    "repository": "nas",
                    "schedule": {"cron": "30 2 * * *", "time_zone": "Europe/Berlin"},
                    "notify": {"urls": ["env:NTFY_URL"]},
                }
            }
        ],
        json_schema_extra=_NAMES_SCHEMA,
    )
    sync: dict[str, SyncPairSpec] = Field(
        default_factory=dict,
        description=f"sync pairs {_NAMES}: each is the SyncWorkflow sync-<name>",
        examples=[
            {
                "notes": {
                    "source": "/home/me/notes",
                    "destination": "sftp://me@nas:22/srv/notes",
                    "mode": "bisync",
                    "resync": True,
                    "every": "15min",
                }
            }
        ],
        json_schema_extra=_NAMES_SCHEMA,
    )

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
