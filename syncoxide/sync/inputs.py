"""What a user writes for a sync, turned into a SyncRequest: rclone-like sides, sizes, ages, the guard.

The CLI (``syncoxide sync ...``) and policy files (a ``sync:`` section) both go through here, so a
side or an option means the same thing in both. Every failure is an InvalidInput with one line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from syncoxide import cron as crontab
from syncoxide.errors import InvalidInput
from syncoxide.models import parse_duration, parse_interval, parse_size
from syncoxide.providers.spec import OptionValue, ProviderSpec
from syncoxide.secrets.in_locations import redacted
from syncoxide.sync.cadence import Cadence
from syncoxide.sync.models import (
    ConflictLoser,
    ConflictPolicy,
    Filters,
    MaxDelete,
    Mode,
    SyncOptions,
    SyncRequest,
    backup_folder,
)

KINDS = ("local", "sftp", "s3", "webdav", "rclone")


def first_error(exc: ValueError) -> str:
    """A pydantic error's first message with where it is, else the exception's first line."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = first["msg"].removeprefix("Value error, ")
        return f"{where}: {message}" if where else message
    return str(exc).splitlines()[0]


def _local(text: str, base: Path | None) -> str:
    path = Path(text).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    return str(path.resolve())


def split_side(text: str) -> tuple[str, str] | None:
    """A side's kind and location as written (a local path not yet made absolute); None when the kind is not
    known (and for ``@spec.json``)."""
    if text.startswith("@"):
        return None
    kind, sep, rest = text.partition(":")
    if text.startswith(("sftp://", "s3://")):
        return kind, text
    if text.startswith(("http://", "https://")):
        return "webdav", text
    if sep and kind in KINDS:
        return kind, rest
    if text.startswith(("/", ".", "~")) or not sep:
        return "local", text
    return None


def parse_side(
    text: str,
    options: Mapping[str, OptionValue] | None = None,
    secrets: Mapping[str, str] | None = None,
    *,
    base: Path | None = None,
) -> ProviderSpec:
    """``kind:location`` (rclone-like), a URL whose scheme says the kind, a path, or ``@spec.json``.

    Relative paths (a local side, a spec file) are taken from ``base`` (default: the working directory).
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("a side needs a location (a path, sftp://, s3://, webdav:, rclone: or @spec.json)")
    if text.startswith("@"):
        spec_file = _local(text[1:], base)
        try:
            return ProviderSpec.model_validate_json(Path(spec_file).read_text())
        except OSError as exc:
            raise InvalidInput(f"cannot read provider spec {text[1:]}: {exc.strerror}") from None
        except ValueError as exc:
            raise InvalidInput(f"provider spec {text[1:]}: {first_error(exc)}") from None
    split = split_side(text)
    if split is None:
        raise InvalidInput(f"side {redacted(text)!r}: say which kind it is (local:, sftp://, s3://, webdav:, rclone:)")
    kind, location = split
    if kind == "local":
        location = _local(location, base)
    try:
        return ProviderSpec(kind=kind, location=location, options=dict(options or {}), secrets=dict(secrets or {}))
    except ValueError as exc:
        raise InvalidInput(f"side {redacted(text)!r}: {first_error(exc)}") from None


def parse_max_delete(value: str | int) -> MaxDelete | None:
    """``50%``, ``100`` or ``none`` (no guard)."""
    text = str(value)
    return None if text.strip().lower() == "none" else MaxDelete.parse(text)


def patterns_from(option: str, path: str | Path) -> list[str]:
    """Globs from a file, one per line (blank lines and ``#`` comments skipped), as rsync's and rclone's
    ``--exclude-from`` read them."""
    try:
        text = Path(path).expanduser().read_text()
    except FileNotFoundError:
        raise InvalidInput(f"{option} {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{option} {path}: cannot read it ({exc})") from None
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def sync_options(
    *,
    dry_run: bool = False,
    checksum: bool = False,
    resync: bool = False,
    conflict: ConflictPolicy = ConflictPolicy.newer,
    conflict_loser: ConflictLoser = ConflictLoser.keep,
    max_delete: str | int = "50%",
    transfers: int = 4,
    bwlimit: str | int | None = None,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    min_size: str | int | None = None,
    max_size: str | int | None = None,
    min_age: str | None = None,
    max_age: str | None = None,
    backup_dir: str | None = None,
    backup_keep: str | None = None,
    links: bool = False,
    copy_links: bool = False,
    metadata: bool = False,
) -> SyncOptions:
    """Options as the user writes them (sizes like 10M, ages like 30d) into SyncOptions."""
    _given("--backup-dir", backup_dir, backup_folder)
    if backup_keep and not backup_dir:
        raise InvalidInput("--backup-keep prunes the --backup-dir folder: give --backup-dir too")
    keep = _given("--backup-keep", backup_keep, parse_duration)
    try:
        filters = Filters(
            include=list(include or ()),
            exclude=list(exclude or ()),
            min_size=parse_size(min_size) if min_size is not None else None,
            max_size=parse_size(max_size) if max_size is not None else None,
            min_age_s=parse_duration(min_age).total_seconds() if min_age else None,
            max_age_s=parse_duration(max_age).total_seconds() if max_age else None,
        )
        return SyncOptions(
            dry_run=dry_run,
            checksum=checksum,
            resync=resync,
            conflict=conflict,
            conflict_loser=conflict_loser,
            max_delete=parse_max_delete(max_delete),
            transfers=transfers,
            bwlimit=parse_size(bwlimit) if bwlimit is not None else None,
            filters=filters,
            backup_dir=backup_dir,
            links=links,
            copy_links=copy_links,
            metadata=metadata,
            backup_keep_s=keep.total_seconds() if keep else None,
        )
    except InvalidInput:
        raise
    except ValueError as exc:
        raise InvalidInput(first_error(exc)) from None


def build_request(
    source: ProviderSpec, destination: ProviderSpec, mode: Mode, pair: str | None, options: SyncOptions
) -> SyncRequest:
    try:
        return SyncRequest(source=source, destination=destination, mode=mode, pair=pair, options=options)
    except ValueError as exc:
        raise InvalidInput(first_error(exc)) from None


def _given(option: str, value: str | None, parse: Callable[[str], Any]) -> Any:
    try:
        return None if value is None else parse(value)
    except InvalidInput as exc:
        raise InvalidInput(f"{option} {exc}") from None


def cadence(every: str | None, cron: str | None, time_zone: str | None) -> Cadence:
    """``--every`` / ``--cron`` / ``--time-zone`` as a Cadence (neither: one pass); one line naming the option."""
    if every and cron:
        raise InvalidInput("--every and --cron: give one of them, not both")
    if time_zone and not cron:
        raise InvalidInput("--time-zone: it is the time zone of --cron; give --cron too")
    interval = _given("--every", every, parse_interval)
    _given("--cron", cron, crontab.parse)
    _given("--time-zone", time_zone, crontab.zone)
    return Cadence(interval_s=interval.total_seconds() if interval else None, cron=cron, time_zone=time_zone or "UTC")
