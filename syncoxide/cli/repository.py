"""Repositories: the `syncoxide repo ...` group (register, list, retention, passphrase, keys) and the top-level
commands that read or maintain one (snapshots, ls, diff, export, forget, check, unlock, db-list, db-restore)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from syncoxide.cli.common import (
    EngineOpt,
    JsonOpt,
    NameOpt,
    PassCmd,
    PassEnv,
    PassFile,
    RepoOpt,
    emit_json,
    find_repository,
    human_size,
    open_engine_for,
    out,
    run_workflow,
    settings,
)
from syncoxide.contract.payloads import MaintenanceRequest
from syncoxide.engines import parse_engine
from syncoxide.errors import InvalidInput
from syncoxide.models import DatabaseSource, Retention
from syncoxide.secrets import SecretRef, ref_from_options
from syncoxide.store import open_store, repositories

KeepLast = Annotated[int, typer.Option(help="Keep the N newest snapshots.")]
KeepHourly = Annotated[int, typer.Option(help="Keep the newest snapshot of each of the last N hours.")]
KeepDaily = Annotated[int, typer.Option(help="... of each of the last N days.")]
KeepWeekly = Annotated[int, typer.Option(help="... of each of the last N weeks.")]
KeepMonthly = Annotated[int, typer.Option(help="... of each of the last N months.")]
KeepYearly = Annotated[int, typer.Option(help="... of each of the last N years.")]
KeepWithin = Annotated[str | None, typer.Option(help="Keep all snapshots within this of the newest (7d, 1m2w).")]
KeepTag = Annotated[list[str] | None, typer.Option(help="Keep every snapshot with this tag (repeatable).")]
SnapshotOpt = Annotated[str, typer.Option("--snapshot", help="Snapshot id (borg: archive name).")]

app = typer.Typer(help="Create and list repositories.")
commands = typer.Typer()


def _retention(last, hourly, daily, weekly, monthly, yearly, within, tags) -> Retention:
    try:
        return Retention(
            keep_last=last,
            keep_hourly=hourly,
            keep_daily=daily,
            keep_weekly=weekly,
            keep_monthly=monthly,
            keep_yearly=yearly,
            keep_within=within,
            keep_tags=tags or [],
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]).replace("_", "-")
        raise InvalidInput(f"--{field}: {first['msg']}") from None


@commands.command()
def snapshots(
    repo: RepoOpt,
    passphrase_env: PassEnv = None,
    passphrase_file: PassFile = None,
    passphrase_command: PassCmd = None,
    as_json: JsonOpt = False,
) -> None:
    """List a repository's snapshots with their stats, oldest first."""
    found = open_engine_for(settings(), repo, passphrase_env, passphrase_file, passphrase_command).snapshots()
    if as_json:
        emit_json([s.model_dump(mode="json") for s in found])
        return
    table = Table("snapshot", "time", "host", "tags", "files", "size", "added")
    for s in found:
        table.add_row(
            s.id,
            f"{s.time:%Y-%m-%d %H:%M:%S}",
            s.hostname or "",
            ",".join(s.tags),
            str(s.files or ""),
            human_size(s.bytes),
            human_size(s.added_bytes),
        )
    out.print(table)


@commands.command("ls")
def list_snapshot(
    repo: RepoOpt,
    snapshot: SnapshotOpt,
    path: Annotated[list[str] | None, typer.Option(help="Only under this path (repeatable).")] = None,
    passphrase_env: PassEnv = None,
    passphrase_file: PassFile = None,
    passphrase_command: PassCmd = None,
    as_json: JsonOpt = False,
) -> None:
    """List a snapshot's contents (streamed; --json prints one JSON object per line)."""
    engine = open_engine_for(settings(), repo, passphrase_env, passphrase_file, passphrase_command)
    for record in engine.list_files(snapshot, path or []):
        if as_json:
            sys.stdout.write(record.model_dump_json() + "\n")
        else:
            sys.stdout.write(f"{record.type.value[0]} {record.mode:04o} {record.size:>12} {record.path}\n")


@commands.command()
def diff(
    repo: RepoOpt,
    older: Annotated[str, typer.Argument(help="The older snapshot.")],
    newer: Annotated[str, typer.Argument(help="The newer snapshot.")],
    passphrase_env: PassEnv = None,
    passphrase_file: PassFile = None,
    passphrase_command: PassCmd = None,
    as_json: JsonOpt = False,
) -> None:
    """What was added, removed or modified between two snapshots."""
    engine = open_engine_for(settings(), repo, passphrase_env, passphrase_file, passphrase_command)
    entries = list(engine.diff(older, newer))
    if as_json:
        emit_json([e.model_dump() for e in entries])
        return
    marks = {"added": "+", "removed": "-", "modified": "M"}
    for entry in entries:
        out.print(f"{marks[entry.change]} {entry.path}", markup=False, highlight=False)


@commands.command("export")
def export_tar(
    repo: RepoOpt,
    snapshot: SnapshotOpt,
    output: Annotated[str, typer.Option(help="Tar file to write, or - for standard output.")],
    path: Annotated[list[str] | None, typer.Option(help="Only this path (repeatable; restic: one).")] = None,
    passphrase_env: PassEnv = None,
    passphrase_file: PassFile = None,
    passphrase_command: PassCmd = None,
) -> None:
    """Export a snapshot, or paths of it, as a tar stream."""
    engine = open_engine_for(settings(), repo, passphrase_env, passphrase_file, passphrase_command)
    if output == "-":
        engine.export_tar(snapshot, sys.stdout.buffer, path or [])
        return
    final = Path(output).expanduser().resolve()
    if final.exists():
        raise InvalidInput(f"output {final}: exists already")
    partial = final.with_name(f".{final.name}.partial")
    partial.unlink(missing_ok=True)  # a leftover (or a planted symlink) is removed, never written through
    try:
        with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600), "wb") as tar:
            engine.export_tar(snapshot, tar, path or [])
        os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    out.print(f"wrote {final} ({human_size(final.stat().st_size)})")


@commands.command()
def forget(
    repo: RepoOpt,
    keep_last: KeepLast = 0,
    keep_hourly: KeepHourly = 0,
    keep_daily: KeepDaily = 0,
    keep_weekly: KeepWeekly = 0,
    keep_monthly: KeepMonthly = 0,
    keep_yearly: KeepYearly = 0,
    keep_within: KeepWithin = None,
    keep_tag: KeepTag = None,
    dry_run: Annotated[bool, typer.Option(help="Only show what would be deleted.")] = False,
    compact: Annotated[bool, typer.Option(help="Free the space afterwards (borg compact, restic prune).")] = True,
    passphrase_env: PassEnv = None,
    passphrase_file: PassFile = None,
    passphrase_command: PassCmd = None,
    as_json: JsonOpt = False,
) -> None:
    """Apply a retention policy (given here, or the repository's own) through MaintenanceWorkflow."""
    from syncoxide.backups import operations

    cfg = settings()
    repository = find_repository(cfg, repo)
    policy = _retention(
        keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly, keep_within, keep_tag
    )
    if policy.empty:
        policy = repository.retention or policy
    if policy.empty:
        raise InvalidInput("no retention rule: give --keep-* options or set one with `repo retention`")
    passphrase = ref_from_options(passphrase_env, passphrase_file, passphrase_command)
    if dry_run:
        decisions = operations.plan_retention(operations.open_repository(cfg, repository, passphrase), policy)
        if as_json:
            emit_json([d.model_dump(mode="json") for d in decisions])
            return
        for d in decisions:
            verdict = "keep  " if d.keep else "delete"
            out.print(f"{verdict} {d.snapshot.id} {d.snapshot.time:%Y-%m-%d %H:%M} {', '.join(d.reasons)}")
        return
    request = MaintenanceRequest(repository_id=repository.id, retention=policy, compact=compact, passphrase=passphrase)
    result = run_workflow(cfg, repository, request, "maintenance", as_json)
    if as_json:
        emit_json(result.model_dump(mode="json"))
        return
    kept, deleted = len(result.retention.kept), len(result.retention.deleted)
    out.print(f"kept {kept} snapshots, deleted {deleted}" + (" and compacted" if compact and deleted else ""))


@commands.command()
def check(
    repo: RepoOpt,
    verify_data: Annotated[bool, typer.Option(help="Read the data back, not only the metadata.")] = False,
    subset: Annotated[float | None, typer.Option(help="With --verify-data: percent to read.")] = None,
    passphrase_env: PassEnv = None,
    passphrase_file: PassFile = None,
    passphrase_command: PassCmd = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a repository's integrity through MaintenanceWorkflow; exit 1 if problems are found."""
    if subset is not None and not verify_data:
        raise InvalidInput("--subset goes with --verify-data")
    if subset is not None and not 0 < subset <= 100:
        raise InvalidInput("subset: must be a percentage above 0 and at most 100")
    cfg = settings()
    repository = find_repository(cfg, repo)
    request = MaintenanceRequest(
        repository_id=repository.id,
        apply_retention=False,
        check="data" if verify_data else "metadata",
        subset_percent=subset,
        passphrase=ref_from_options(passphrase_env, passphrase_file, passphrase_command),
    )
    result = run_workflow(cfg, repository, request, "maintenance", as_json)
    if as_json:
        emit_json(result.check.model_dump(mode="json"))
        return
    out.print(f"check ({result.check.level}) of {repository.name}: ok ({result.check.duration_s:.1f}s)")


@commands.command()
def unlock(
    repo: RepoOpt,
    passphrase_env: PassEnv = None,
    passphrase_file: PassFile = None,
    passphrase_command: PassCmd = None,
) -> None:
    """Remove locks left by dead processes; a lock a live process holds is never broken."""
    open_engine_for(settings(), repo, passphrase_env, passphrase_file, passphrase_command).unlock_stale()
    out.print("no stale locks left")


@commands.command("db-list")
def db_list(
    database_url: Annotated[str, typer.Option(help="env:VAR, file:PATH or command:CMD giving a PostgreSQL URL.")],
    as_json: JsonOpt = False,
) -> None:
    """List the databases a server has that can be backed up."""
    from syncoxide.backups import databases

    found = databases.discover(SecretRef.parse(database_url).resolve())
    if as_json:
        emit_json(found)
    else:
        for name in found:
            out.print(name)


@commands.command("db-restore")
def db_restore(
    repo: RepoOpt,
    snapshot: SnapshotOpt,
    database: Annotated[str, typer.Option(help="The database that was backed up.")],
    into: Annotated[str, typer.Option(help="New database to restore into (must not exist).")],
    database_url: Annotated[str, typer.Option(help="env:VAR, file:PATH or command:CMD giving a PostgreSQL URL.")],
    passphrase_env: PassEnv = None,
    passphrase_file: PassFile = None,
    passphrase_command: PassCmd = None,
) -> None:
    """Restore a database dump from a snapshot into a new database (pg_restore, streamed)."""
    from syncoxide.backups import databases

    engine = open_engine_for(settings(), repo, passphrase_env, passphrase_file, passphrase_command)
    source = DatabaseSource(dbname=database, url=SecretRef.parse(database_url))
    databases.restore(engine, snapshot, source, into)
    out.print(f"restored database {database} from {snapshot} into {into}")


@app.command("init")
def repo_init(
    engine: EngineOpt,
    repo: Annotated[str, typer.Option(help="Where the repository goes (a local path).")],
    name: NameOpt = None,
    passphrase_env: PassEnv = None,
    passphrase_file: PassFile = None,
    passphrase_command: PassCmd = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an encrypted repository (borg: repokey-blake2) and register it."""
    _register(engine, repo, name, passphrase_env, passphrase_file, passphrase_command, as_json, create=True)


@app.command("add")
def repo_add(
    engine: EngineOpt,
    repo: Annotated[str, typer.Option(help="Location of the existing repository.")],
    name: NameOpt = None,
    passphrase_env: PassEnv = None,
    passphrase_file: PassFile = None,
    passphrase_command: PassCmd = None,
    as_json: JsonOpt = False,
) -> None:
    """Register an existing repository after checking the passphrase opens it."""
    _register(engine, repo, name, passphrase_env, passphrase_file, passphrase_command, as_json, create=False)


def _register(
    engine_name: str,
    location: str,
    name: str | None,
    env: str | None,
    file: str | None,
    command: str | None,
    as_json: bool,
    *,
    create: bool,
) -> None:
    from syncoxide.backups.registration import register_repository

    engine = parse_engine(engine_name)
    passphrase = ref_from_options(env, file, command)
    if passphrase is None:
        raise InvalidInput("a passphrase reference is required: --passphrase-env, -file or -command")
    repository = register_repository(settings(), engine, location, name, passphrase, create=create)
    location = repository.location
    if as_json:
        emit_json(repository.model_dump(mode="json"))
    else:
        verb = "created" if create else "registered"
        out.print(f"{verb} {engine.value} repository [bold]{repository.name}[/bold] at {location}")


@app.command("list")
def repo_list(as_json: JsonOpt = False) -> None:
    """List registered repositories."""
    with open_store(settings()) as conn:
        found = repositories.list_all(conn)
    if as_json:
        emit_json([r.model_dump(mode="json") for r in found])
        return
    table = Table("name", "engine", "location", "passphrase", "id")
    for r in found:
        table.add_row(r.name, r.engine.value, r.location, str(r.passphrase), r.id)
    out.print(table)


@app.command("retention")
def repo_retention(
    repo: RepoOpt,
    keep_last: KeepLast = 0,
    keep_hourly: KeepHourly = 0,
    keep_daily: KeepDaily = 0,
    keep_weekly: KeepWeekly = 0,
    keep_monthly: KeepMonthly = 0,
    keep_yearly: KeepYearly = 0,
    keep_within: KeepWithin = None,
    keep_tag: KeepTag = None,
    clear: Annotated[bool, typer.Option(help="Remove the repository's retention policy.")] = False,
) -> None:
    """Set the retention policy applied after every backup into this repository."""
    cfg = settings()
    repository = find_repository(cfg, repo)
    policy = _retention(
        keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly, keep_within, keep_tag
    )
    if policy.empty and not clear:
        raise InvalidInput("give --keep-* options, or --clear to remove the policy")
    with open_store(cfg) as conn:
        repositories.set_retention(conn, repository.id, None if clear else policy)
    shown = "none" if clear else policy.model_dump_json(exclude_defaults=True)
    out.print(f"retention of {repository.name}: {shown}")


@app.command("passphrase")
def repo_passphrase(
    repo: RepoOpt,
    new_passphrase_env: Annotated[str | None, typer.Option(help="Variable holding the new one.")] = None,
    new_passphrase_file: Annotated[str | None, typer.Option(help="File holding the new one.")] = None,
    new_passphrase_command: Annotated[str | None, typer.Option(help="Command printing the new one.")] = None,
) -> None:
    """Change the repository's passphrase and remember the new reference."""
    from syncoxide.backups import operations

    cfg = settings()
    repository = find_repository(cfg, repo)
    new_ref = ref_from_options(new_passphrase_env, new_passphrase_file, new_passphrase_command)
    if new_ref is None:
        raise InvalidInput("give --new-passphrase-env, --new-passphrase-file or --new-passphrase-command")
    new_secret = new_ref.resolve()
    operations.open_repository(cfg, repository).change_passphrase(new_secret)
    with open_store(cfg) as conn:
        repositories.set_passphrase(conn, repository.id, new_ref)
    out.print(f"passphrase of {repository.name} changed; it is now read from {new_ref}")


@app.command("key-export")
def repo_key_export(
    repo: RepoOpt,
    output: Annotated[Path, typer.Option(help="File to write the key to.")],
) -> None:
    """Export the repository key (still protected by the passphrase); keep it apart from the repository."""
    from syncoxide.backups import operations

    if output.exists():
        raise InvalidInput(f"output {output}: exists already")
    cfg = settings()
    operations.open_repository(cfg, find_repository(cfg, repo)).export_key(output.resolve())
    out.print(f"wrote the key of {repo} to {output}")


@app.command("key-import")
def repo_key_import(
    repo: RepoOpt,
    input_file: Annotated[Path, typer.Option("--input", help="A key exported earlier.")],
) -> None:
    """Put an exported key back, e.g. after the key file was lost."""
    from syncoxide.backups import operations

    if not input_file.is_file():
        raise InvalidInput(f"input {input_file}: no such file")
    cfg = settings()
    operations.open_repository(cfg, find_repository(cfg, repo)).import_key(input_file.resolve())
    out.print(f"imported the key into {repo}")
