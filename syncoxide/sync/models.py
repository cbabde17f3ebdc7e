"""The nouns of syncing: what to sync (SyncRequest), what it will do (Plan of Actions), what it did (SyncResult).

All are pydantic models, so a plan is JSON-able (dry run, --json, workflow payloads).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from syncoxide.errors import InvalidInput, InvalidValue
from syncoxide.providers import paths
from syncoxide.providers.base import is_temp
from syncoxide.providers.overlap import overlap
from syncoxide.providers.spec import KINDS, ProviderSpec


class Mode(StrEnum):
    copy = "copy"
    """Source to destination; never deletes."""
    sync = "sync"
    """Make the destination identical to the source (deletes extraneous files, guarded)."""
    move = "move"
    """Copy, verify, then delete the source."""
    bisync = "bisync"
    """Two-way, against the baseline of the last successful run."""


class ConflictPolicy(StrEnum):
    newer = "newer"
    larger = "larger"
    path1 = "path1"
    """prefer the first side (the source)"""
    path2 = "path2"
    """prefer the second side (the destination)"""
    keep_both = "keep-both"
    """the newer one keeps the name; the other is renamed with a conflict suffix and a timestamp"""


class ConflictLoser(StrEnum):
    """What happens to the version that loses a bisync conflict."""

    keep = "keep"
    """kept: in the backup folder when ``backup_dir`` is set, else as a conflict copy on both sides"""
    discard = "discard"
    """replaced by the winner and gone (only when asked for)"""


class Filters(BaseModel, frozen=True):
    include: list[str] = Field(default_factory=list, description="globs; when given, only matching files")
    exclude: list[str] = Field(default_factory=list, description="globs; matching files and directories are skipped")
    min_size: int | None = Field(default=None, ge=0)
    max_size: int | None = Field(default=None, ge=0)
    min_age_s: float | None = Field(default=None, ge=0, description="only files modified at least this long ago")
    max_age_s: float | None = Field(default=None, ge=0, description="only files modified at most this long ago")


def backup_folder(value: str | None) -> str | None:
    """A ``backup_dir`` in its clean form: one folder name at the side's root; InvalidValue (a ValueError)
    for anything else."""
    if value is None:
        return None
    try:
        clean = paths.clean(value)
    except InvalidInput:
        raise InvalidValue(f"{value!r} must stay inside the side it changes (no '..')") from None
    if not clean or value.startswith(("/", "~")) or "/" in clean:
        # a nested one would keep its parent folder from ever being removed (it is never empty)
        raise InvalidValue(f"{value!r}: give a folder name at the root of the side it changes, e.g. .versions")
    if is_temp(clean):
        raise InvalidValue(f"{value!r} is a temporary name")
    return clean


class MaxDelete(BaseModel, frozen=True):
    """A guard: a run that would delete more than this stops before changing anything."""

    count: int | None = Field(default=None, ge=0)
    percent: float | None = Field(default=None, ge=0, le=100)

    @classmethod
    def parse(cls, text: str) -> MaxDelete:
        value = text.strip()
        try:
            if value.endswith("%"):
                return cls(percent=float(value[:-1]))
            return cls(count=int(value))
        except ValueError:
            raise InvalidValue(f"max-delete {text!r} must be a count (50) or a percentage (10%)") from None

    def describe(self) -> str:
        return f"{self.percent:g}%" if self.percent is not None else str(self.count)


class SyncOptions(BaseModel, frozen=True):
    checksum: bool = Field(default=False, description="compare by hash instead of size + modification time")
    dry_run: bool = False
    resync: bool = Field(default=False, description="bisync: build the baseline from both sides (first run)")
    conflict: ConflictPolicy = ConflictPolicy.newer
    conflict_loser: ConflictLoser = Field(
        default=ConflictLoser.keep, description="bisync: keep the version that loses a conflict (default) or discard it"
    )
    max_delete: MaxDelete | None = Field(default_factory=lambda: MaxDelete(percent=50))
    transfers: int = Field(default=4, ge=1, le=64, description="files transferred at once")
    bwlimit: int | None = Field(default=None, gt=0, description="bytes per second for all transfers together")
    chunk_size: int = Field(default=16 * 1024 * 1024, ge=5 * 1024 * 1024, description="large-file chunk")
    large_file: int = Field(default=64 * 1024 * 1024, ge=0, description="files from this size are chunked")
    filters: Filters = Field(default_factory=Filters)
    links: bool = Field(
        default=False,
        description="local sides: a symlink is synced as itself (as NAME.rclonelink "
        "holding its target on a side without symlinks, as rclone --links does)",
    )
    copy_links: bool = Field(
        default=False,
        description="local sides: a symlink is read as what it points to "
        "(rclone --copy-links); writing never follows one",
    )
    backup_dir: str | None = Field(
        default=None,
        description="a folder at the root of the side that changes: what "
        "a run would delete or replace is moved there, under the run's time",
    )
    backup_keep_s: float | None = Field(
        default=None, gt=0, description="after a run, remove the backup folder's run folders older than this"
    )
    metadata: bool = Field(
        default=False,
        description="also keep owners (as root), user.* extended attributes and "
        "directory times, where the destination can hold them (rclone --metadata)",
    )
    _backup_dir = field_validator("backup_dir")(backup_folder)

    @model_validator(mode="after")
    def _keep_needs_a_folder(self) -> SyncOptions:
        if self.backup_keep_s is not None and self.backup_dir is None:
            raise InvalidValue("backup-keep prunes the backup folder: give backup-dir too")
        if self.links and self.copy_links:
            raise InvalidValue("links and copy-links: a symlink is either synced as itself or followed, not both")
        return self

    def side(self, spec: ProviderSpec) -> ProviderSpec:
        """``spec`` as this run opens it: a kind that takes ``links`` / ``copy_links`` reads symlinks as they say."""
        if not {"links", "copy_links"} <= KINDS[spec.kind][1] or not (self.links or self.copy_links):
            return spec
        return spec.model_copy(update={"options": {**spec.options, "links": self.links, "copy_links": self.copy_links}})


class SyncRequest(BaseModel):
    # (its sides' locations are not repeated in errors)
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    source: ProviderSpec
    destination: ProviderSpec
    mode: Mode = Mode.copy
    pair: str | None = Field(default=None, description="a name for this pair; default: derived from both specs")
    options: SyncOptions = Field(default_factory=SyncOptions)

    @model_validator(mode="after")
    def _not_same(self) -> SyncRequest:
        if self.source == self.destination:
            raise ValueError("source and destination are the same place")
        self.check_apart(resolve=False)
        return self

    def check_apart(self, *, resolve: bool = True) -> None:
        """InvalidValue when one side holds the other (``resolve``: local paths through their symlinks)."""
        if overlap(self.source, self.destination, resolve=resolve):
            raise InvalidValue(
                f"{self.source.location} and {self.destination.location} overlap (one holds the "
                "other): a sync between them would feed on itself; choose two places apart"
            )


class ActionKind(StrEnum):
    mkdir = "mkdir"
    copy = "copy"
    """new file at the target side"""
    update = "update"
    """replace a changed file at the target side"""
    delete = "delete"
    rmdir = "rmdir"
    rename = "rename"
    """a rename within the target side (bisync: propagate a rename detected by hash; keep-both: the loser)"""
    delete_source = "delete-source"
    """move: remove the source file once the destination copy is verified"""
    set_mtime = "set-mtime"
    """same content, only the modification time differs"""
    set_mode = "set-mode"
    """same content, only the permission bits differ (one-way: the source's bits)"""


class Side(StrEnum):
    path1 = "path1"
    path2 = "path2"


class Action(BaseModel):
    kind: ActionKind
    path: str
    side: Side = Side.path2
    """where the action changes something (copies go from the other side to this one)"""
    target: str | None = None
    """rename: the new path; copy/update: the path written (defaults to ``path``)"""
    size: int = 0
    mtime: datetime | None = None
    """the source file's modification time as planned (a transfer checks it did not change)"""
    reason: str = ""


class Plan(BaseModel):
    pair: str
    mode: Mode
    source: str
    destination: str
    actions: list[Action] = Field(default_factory=list)
    conflicts: list[str] = Field(default_factory=list)
    """one line per conflict and how it is resolved"""
    skipped: list[str] = Field(default_factory=list)
    """one line per symlink or special file left alone (never opened, never written through)"""
    unchanged: int = 0
    source_files: int = 0
    destination_files: int = 0

    def count(self, *kinds: ActionKind) -> int:
        return sum(1 for a in self.actions if a.kind in kinds)

    @property
    def transfer_bytes(self) -> int:
        return sum(a.size for a in self.actions if a.kind in (ActionKind.copy, ActionKind.update))

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for action in self.actions:
            counts[action.kind.value] = counts.get(action.kind.value, 0) + 1
        return counts


class RunOutcome(BaseModel):
    """What a run did, as counts: shared by the full result and the summary a workflow carries."""

    run_id: str
    pair: str
    mode: Mode
    dry_run: bool = False
    done: int = 0
    failed: int = 0
    transferred_files: int = 0
    transferred_bytes: int = 0
    resumed_bytes: int = 0
    """bytes not sent again because a transfer resumed from a journal checkpoint"""
    deleted: int = 0
    backed_up: int = 0
    """files deleted or replaced that were moved to the backup folder (``backup_dir``) instead"""
    backups_pruned: int = 0
    """run folders of the backup folder removed for being older than ``backup_keep``"""
    errors: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    """what was done but not quite as asked (permission bits a filesystem refused, metadata not kept)"""
    seconds: float = 0.0


class SyncResult(RunOutcome):
    plan: Plan
    reconciled: int = 0
    """unfinished actions of an interrupted run found in the journal"""
    resumes: int = 0
    """earlier runs of the pair that died unfinished (their process was killed): this one takes over"""
