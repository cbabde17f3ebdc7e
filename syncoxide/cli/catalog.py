"""`syncoxide scan|search|versions|stats` and `syncoxide catalog ...`: the catalog's walks, questions and upkeep."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from syncoxide.cli.common import JsonOpt, emit_json, find_repository, human_size, out, run_workflow, settings
from syncoxide.contract.payloads import CatalogIngestRequest
from syncoxide.errors import NotFound
from syncoxide.fs import names
from syncoxide.models import RunKind
from syncoxide.secrets import ref_from_options
from syncoxide.store import catalog as manifest
from syncoxide.store import open_store

app = typer.Typer(help="The catalog itself: ingest snapshots, status, compact, vacuum.", no_args_is_help=True)
commands = typer.Typer()
# scan and search parse their own arguments, --help too (cli/quick/): Typer hands them over as they are
THEIR_OWN_ARGS = {"allow_extra_args": True, "ignore_unknown_options": True}


def _when(ns: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ns / 1e9)) if ns else ""


@commands.command(context_settings=THEIR_OWN_ARGS, add_help_option=False)
def scan(ctx: typer.Context) -> None:
    """Walk a source into the catalog (CatalogScanWorkflow): entries, sizes, times, hashes if configured."""
    from syncoxide.cli.quick import scan as scan_cli

    scan_cli.in_process(ctx.args)


@commands.command(context_settings=THEIR_OWN_ARGS, add_help_option=False)
def search(ctx: typer.Context) -> None:
    """Find files across every source and every snapshot, and where each one lives (--help: the options)."""
    from syncoxide.cli.quick import search as search_cli

    search_cli.in_process(ctx.args)


@commands.command()
def versions(
    path: Annotated[str, typer.Argument(help="The absolute path as it was backed up.")],
    repo: Annotated[list[str] | None, typer.Option(help="Only this repository (repeatable).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Every snapshot that holds a path, and what changed between them."""
    from syncoxide.catalog import query

    cfg = settings()
    path = names.from_os(path)  # as typed (bytes that are not UTF-8 too) -> as the catalog stores it
    with query.CatalogReader.open(cfg) as reader:
        found = reader.versions(path, [find_repository(cfg, r).id for r in repo or []])
    if as_json:
        emit_json([v.model_dump(mode="json") for v in found])
        return
    if not found:
        raise NotFound(f"{names.shown(path)} is in no snapshot the catalog knows (syncoxide catalog ingest --repo ...)")
    table = Table("repository", "snapshot", "time", "state", "size", "modified", "changes")
    for v in found:
        size = human_size(v.size) if v.size is not None else ""
        table.add_row(
            v.repository,
            v.snapshot_id,
            f"{v.time:%Y-%m-%d %H:%M}",
            v.state,
            size,
            _when(v.mtime_ns),
            ", ".join(v.changes),
        )
    out.print(table)


@commands.command()
def stats(
    source: Annotated[str | None, typer.Option(help="Totals of this source's latest scan.")] = None,
    repo: Annotated[str | None, typer.Option(help="Totals of this repository's snapshot.")] = None,
    snapshot: Annotated[str | None, typer.Option(help="With --repo: this snapshot (default: latest).")] = None,
    growth: Annotated[bool, typer.Option(help="Sizes over time per source and repository.")] = False,
    top: Annotated[int, typer.Option(help="How many extensions and folders to show.")] = 15,
    depth: Annotated[int, typer.Option(help="Folder depth below the root for top folders.")] = 2,
    as_json: JsonOpt = False,
) -> None:
    """What fills your storage: by type, extension, size, age and folder; growth; deduplication."""
    from syncoxide.catalog import analytics, query

    cfg = settings()
    with query.CatalogReader.open(cfg) as reader:
        if growth:
            with open_store(cfg) as conn:
                points = analytics.growth(reader, manifest.scan_rows(conn))
            _print_growth(points, as_json)
            return
        if source or repo:
            scope = (
                analytics.source_scope(reader, source)
                if source
                else analytics.snapshot_scope(reader, repo or "", snapshot)
            )
            _print_totals(analytics.totals(reader, scope, top=top, depth=depth), as_json)
            return
        usage = analytics.repository_usage(reader)
    if as_json:
        emit_json([{**u.model_dump(mode="json"), "dedup_ratio": u.dedup_ratio} for u in usage])
        return
    table = Table("repository", "snapshots", "latest", "all snapshots", "stored", "dedup ratio", "compressed")
    for u in usage:
        table.add_row(
            u.repository,
            str(u.snapshots),
            human_size(u.latest_bytes),
            human_size(u.total_bytes),
            human_size(u.stored_bytes),
            f"{u.dedup_ratio:.1f}x" if u.dedup_ratio else "",
            human_size(u.compressed_bytes) if u.compressed_bytes is not None else "",
        )
    out.print(table)


@app.command("ingest")
def catalog_ingest(
    repo: Annotated[str, typer.Option(help="Repository name, id or location.")],
    snapshot: Annotated[list[str] | None, typer.Option(help="Only this snapshot (repeatable).")] = None,
    passphrase_env: Annotated[str | None, typer.Option("--passphrase-env")] = None,
    passphrase_file: Annotated[str | None, typer.Option("--passphrase-file")] = None,
    passphrase_command: Annotated[str | None, typer.Option("--passphrase-command")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Backfill: bring a repository's existing snapshots into the catalog (CatalogIngestWorkflow)."""
    cfg = settings()
    repository = find_repository(cfg, repo)
    request = CatalogIngestRequest(
        repository_id=repository.id,
        snapshot_ids=snapshot or None,
        passphrase=ref_from_options(passphrase_env, passphrase_file, passphrase_command),
    )
    summary = run_workflow(cfg, repository, request, RunKind.catalog, as_json)
    if as_json:
        emit_json(summary.model_dump(mode="json"))
        return
    out.print(
        f"{repository.name}: {len(summary.ingested)} snapshots ingested ({summary.entries} entries),"
        f" {len(summary.removed)} removed, in {summary.duration_s:.1f}s"
    )


@app.command("status")
def catalog_status(as_json: JsonOpt = False) -> None:
    """Where the catalog is and what it holds."""
    cfg = settings()
    with open_store(cfg) as conn:
        parts = manifest.live_parts(conn)
        snapshots = manifest.snapshot_rows(conn)
        scans = manifest.scan_rows(conn, latest_only=True)
    status = {
        "location": cfg.catalog_uri,
        "parts": len(parts),
        "entries": sum(p.rows for p in parts),
        "snapshots": len(snapshots),
        "sources_scanned": len(scans),
    }
    if as_json:
        emit_json(status)
        return
    for key, value in status.items():
        out.print(f"{key.replace('_', ' ')}: {value}")


@app.command("compact")
def catalog_compact(repo: Annotated[str, typer.Option(help="Repository name, id or location.")]) -> None:
    """Merge a repository's small parts now (ingest does this on its own when they pile up)."""
    from syncoxide.catalog import updates

    cfg = settings()
    merged = updates.compact(cfg, find_repository(cfg, repo).id, min_parts=2)
    out.print(f"merged {merged} parts" if merged else "nothing to compact")


@app.command("vacuum")
def catalog_vacuum() -> None:
    """Delete retired parts and leftovers of interrupted writes (after their grace period)."""
    from syncoxide.catalog import updates

    out.print(f"removed {updates.vacuum(settings())} files")


def _print_totals(result, as_json: bool) -> None:
    if as_json:
        emit_json(result.model_dump(mode="json"))
        return
    out.print(f"[bold]{result.scope}[/bold]: {result.files} files, {result.dirs} folders, {human_size(result.bytes)}")
    for title, rows in (
        ("type", result.by_type),
        ("extension", result.by_extension),
        ("size", result.by_size),
        ("age", result.by_age),
    ):
        table = Table(title, "files", "bytes", title=f"by {title}", title_justify="left")
        for b in rows:
            table.add_row(b.label, str(b.files), human_size(b.bytes))
        out.print(table)
    table = Table("folder", "files", "bytes", title="top folders", title_justify="left")
    for f in result.top_folders:
        table.add_row(Text(names.shown(f.path)), str(f.files), human_size(f.bytes))
    out.print(table)


def _print_growth(points: list, as_json: bool) -> None:
    if as_json:
        emit_json([p.model_dump(mode="json") for p in points])
        return
    table = Table("time", "kind", "name", "files", "size", "added")
    for p in points:
        table.add_row(
            f"{p.time:%Y-%m-%d %H:%M}",
            p.kind,
            p.name,
            str(p.files or ""),
            human_size(p.bytes),
            human_size(p.added_bytes) if p.added_bytes is not None else "",
        )
    out.print(table)
