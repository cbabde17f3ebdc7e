"""`syncoxide backup|restore|cancel|runs`: runs through their workflows on the running stack, and their record."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from syncoxide.backups.placement import check_strip
from syncoxide.cli.common import (
    JsonOpt,
    PassCmd,
    PassEnv,
    PassFile,
    emit_json,
    err,
    find_repository,
    human_size,
    out,
    run_workflow,
    settings,
)
from syncoxide.contract.payloads import BackupRequest, RestoreRequest
from syncoxide.engines import compression as engine_compression
from syncoxide.errors import InvalidInput
from syncoxide.fs import names
from syncoxide.models import BackupOptions, DatabaseSource, Overwrite, RunKind, StreamSource
from syncoxide.secrets import SecretRef, ref_from_options
from syncoxide.store import open_store, runs

commands = typer.Typer()


@commands.command()
def backup(
    repo: Annotated[str, typer.Option(help="Repository name, id or location.")],
    source: Annotated[list[str] | None, typer.Option(help="Folder or file to back up (repeatable).")] = None,
    exclude: Annotated[list[str] | None, typer.Option(help="Glob to leave out (repeatable).")] = None,
    exclude_caches: Annotated[bool, typer.Option(help="Skip folders holding a CACHEDIR.TAG.")] = False,
    exclude_if_present: Annotated[
        list[str] | None, typer.Option(help="Skip folders holding a file of this name (repeatable).")
    ] = None,
    one_file_system: Annotated[bool, typer.Option(help="Stay on the file system of each source.")] = False,
    compression: Annotated[str, typer.Option(help="auto, none, max, zstd, zstd,N or lz4 (borg).")] = "auto",
    tag: Annotated[list[str] | None, typer.Option(help="Tag for the snapshot (repeatable).")] = None,
    hostname: Annotated[str | None, typer.Option(help="Record this host name instead of this machine's.")] = None,
    stream_command: Annotated[
        str | None, typer.Option(help="Back up this shell command's output instead of files.")
    ] = None,
    stream_name: Annotated[str | None, typer.Option(help="File name for --stream-command's output.")] = None,
    database: Annotated[str | None, typer.Option(help="Back up this PostgreSQL database (pg_dump).")] = None,
    database_url: Annotated[
        str | None, typer.Option(help="Its server: env:VAR, file:PATH or command:CMD giving a PostgreSQL URL.")
    ] = None,
    passphrase_env: PassEnv = None,
    passphrase_file: PassFile = None,
    passphrase_command: PassCmd = None,
    as_json: JsonOpt = False,
) -> None:
    """Back up through BackupWorkflow on the running stack and print the snapshot id."""
    from syncoxide.orchestration import client as temporal

    sources = [str(Path(s).expanduser().resolve()) for s in source or []]
    for path in sources:
        if not Path(path).exists():
            raise InvalidInput(f"source {path}: no such file or directory")
    stream = db_source = None
    if stream_command or stream_name:
        if not (stream_command and stream_name):
            raise InvalidInput("--stream-command and --stream-name go together")
        stream = StreamSource(name=stream_name, command=["sh", "-c", stream_command])
    if database or database_url:
        if not (database and database_url):
            raise InvalidInput("--database and --database-url go together")
        db_source = DatabaseSource(dbname=database, url=SecretRef.parse(database_url))
    if sum(map(bool, (sources, stream, db_source))) != 1:
        raise InvalidInput("back up exactly one of: --source (repeatable), --stream-command, --database")
    options = BackupOptions(
        excludes=exclude or [],
        exclude_caches=exclude_caches,
        exclude_if_present=exclude_if_present or [],
        one_file_system=one_file_system,
        compression=compression,
        tags=tag or [],
        hostname=hostname,
    )
    engine_compression.parse(compression)
    cfg = settings()
    repository = find_repository(cfg, repo)
    request = BackupRequest(
        repository_id=repository.id,
        sources=sources,
        options=options,
        stream=stream,
        database=db_source,
        passphrase=ref_from_options(passphrase_env, passphrase_file, passphrase_command),
    )
    result = run_workflow(cfg, repository, request, RunKind.backup, as_json)
    if as_json:
        emit_json(result.model_dump(mode="json"))
        return
    stats = result.stats
    out.print(
        f"snapshot [bold]{result.snapshot_id}[/bold]: {stats.files} files, {human_size(stats.bytes)},"
        f" {human_size(stats.added_bytes)} new in the repository ({stats.duration_s:.1f}s)"
    )
    for warning in stats.warnings:
        err.print(f"warning: {warning}", markup=False, highlight=False)
    out.print(f"run {result.run_id}: {temporal.workflow_url(cfg, result.run_id)}")


@commands.command()
def restore(
    repo: Annotated[str, typer.Option(help="Repository name, id or location.")],
    snapshot: Annotated[str, typer.Option(help="Snapshot id (borg: archive name).")],
    target: Annotated[str, typer.Option(help="Folder to restore into.")],
    path: Annotated[list[str] | None, typer.Option(help="Only this path of the snapshot (repeatable).")] = None,
    strip_components: Annotated[int, typer.Option(help="Drop this many leading path components.")] = 0,
    overwrite: Annotated[
        Overwrite, typer.Option(help="Existing files: never replace, replace if-newer, or always.")
    ] = Overwrite.never,
    passphrase_env: PassEnv = None,
    passphrase_file: PassFile = None,
    passphrase_command: PassCmd = None,
    as_json: JsonOpt = False,
) -> None:
    """Restore through RestoreWorkflow, then verify every file against the snapshot's listing."""
    from syncoxide.backups import operations

    target_path = operations.check_restore_target(str(Path(target).expanduser().resolve()))
    check_strip(strip_components)
    cfg = settings()
    repository = find_repository(cfg, repo)
    request = RestoreRequest(
        repository_id=repository.id,
        snapshot_id=snapshot,
        target=str(target_path),
        paths=[names.from_os(p) for p in path or []],  # argv gives OS form; a payload carries text
        strip_components=strip_components,
        overwrite=overwrite,
        passphrase=ref_from_options(passphrase_env, passphrase_file, passphrase_command),
    )
    result = run_workflow(cfg, repository, request, RunKind.restore, as_json)
    if as_json:
        emit_json(result.model_dump(mode="json"))
        return
    out.print(
        f"restored {result.files} files ({human_size(result.bytes)}) into {result.target};"
        f" {result.verified} entries verified against the snapshot"
    )
    if result.kept:
        out.print(f"{result.kept} existing entries were left as they were (--overwrite {overwrite.value})")


@commands.command()
def cancel(run: Annotated[str, typer.Argument(help="Run id (the workflow id).")]) -> None:
    """Cancel a running backup or restore; the engine stops cleanly and the run is recorded as cancelled."""

    async def go() -> None:
        from syncoxide.orchestration import client as temporal

        await temporal.cancel(await temporal.connect(settings()), run)

    asyncio.run(go())
    out.print(f"cancellation requested for {run}")


@commands.command("runs")
def list_runs(
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
    repo: Annotated[str | None, typer.Option(help="Only runs of this repository.")] = None,
    kind: Annotated[list[RunKind] | None, typer.Option(help="Only runs of this kind (repeatable).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show recent runs recorded in PostgreSQL."""
    cfg = settings()
    repository_id = find_repository(cfg, repo).id if repo else None
    with open_store(cfg) as conn:
        found = runs.recent(conn, limit=limit, repository_id=repository_id, kinds=kind)
    if as_json:
        emit_json([r.model_dump(mode="json") for r in found])
        return
    table = Table("run", "kind", "status", "started", "files", "bytes", "snapshot", "error")
    for r in found:
        table.add_row(
            r.id,
            r.kind.value,
            r.status.value,
            f"{r.started_at:%Y-%m-%d %H:%M:%S}",
            str(r.files or ""),
            human_size(r.bytes) if r.bytes is not None else "",
            (r.snapshot_id or "")[:16],
            r.error or "",
        )
    out.print(table)
