"""Catalog commands: sources and scans, search, versions, stats, ingest, cleanup plans."""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from syncoxide import cron as crontab
from syncoxide.cli.common import JsonOpt, emit_json, err, find_repository, human_size, out, run_workflow, settings
from syncoxide.contract.payloads import CatalogIngestRequest, CleanupRequest
from syncoxide.errors import InvalidInput, InvalidValue, NotFound
from syncoxide.fs import names
from syncoxide.models import RunKind, Source, parse_duration, parse_interval, parse_size
from syncoxide.secrets import ref_from_options
from syncoxide.store import catalog as manifest
from syncoxide.store import open_store

source_app = typer.Typer(help="Directory trees the catalog scans.", no_args_is_help=True)
catalog_app = typer.Typer(help="The catalog itself: ingest snapshots, status, compact, vacuum.", no_args_is_help=True)
cleanup_app = typer.Typer(help="Plan, review, apply and undo storage cleanups.", no_args_is_help=True)


def _when(ns: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ns / 1e9)) if ns else ""


def _ago(now: float, duration: str | None) -> datetime | None:
    return datetime.fromtimestamp(now - parse_duration(duration).total_seconds()) if duration else None


def _find_source(ref: str) -> Source:
    from syncoxide.catalog import sources

    return sources.find_source(settings(), ref)


def _timing(every: str | None, cron: str | None):
    from syncoxide.orchestration import schedules

    if every and cron:
        raise InvalidInput("give either --every or --cron, not both")
    if every:
        parse_interval(every)
    if cron:
        try:
            crontab.check_schedule_cron(cron)
        except InvalidValue as exc:
            raise InvalidInput(f"--cron {exc}") from None
    return schedules.Timing(every=every, cron=cron) if every or cron else None


def _schedule_scan(source: Source, timing) -> None:
    cfg = settings()

    async def go() -> None:
        from syncoxide.orchestration import client as temporal
        from syncoxide.orchestration import schedules

        client = await temporal.connect(cfg)
        schedule_id = schedules.scan_schedule_id(source.name)
        await schedules.put(client, schedule_id, schedules.scan_schedule(cfg, source, timing), exists=False)

    asyncio.run(go())


def register(app: typer.Typer) -> None:  # noqa: C901 - a list of commands
    app.add_typer(source_app, name="source")
    app.add_typer(catalog_app, name="catalog")
    app.add_typer(cleanup_app, name="cleanup")

    @source_app.command("add")
    def source_add(
        name: Annotated[str, typer.Argument(help="Name to refer to it by.")],
        root: Annotated[Path, typer.Option(help="The folder to scan.")],
        exclude: Annotated[list[str] | None, typer.Option(help="Glob to leave out (repeatable).")] = None,
        hash_: Annotated[list[str] | None, typer.Option("--hash", help="xxh3, blake3, md5, sha1 (repeatable).")] = None,
        every: Annotated[str | None, typer.Option(help="Scan on this interval, e.g. 1d, 6h.")] = None,
        cron: Annotated[str | None, typer.Option(help="Scan on this cron schedule.")] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Register a folder for the catalog to scan (optionally on a schedule)."""
        path = root.expanduser().resolve()
        if not path.is_dir():
            raise InvalidInput(f"--root {root}: not a directory")
        timing = _timing(every, cron)
        with open_store(settings()) as conn:
            source = manifest.add_source(conn, name=name, root=str(path), excludes=exclude or [], hashes=hash_ or [])
            if timing:
                try:
                    _schedule_scan(source, timing)
                except BaseException:
                    manifest.remove_source(conn, source.id)  # no source without the schedule it was asked with
                    raise
        if as_json:
            emit_json(source.model_dump(mode="json"))
            return
        scheduled = f", scanned every {every}" if every else (f", scanned at '{cron}'" if cron else "")
        out.print(f"source [bold]{source.name}[/bold] at {source.root}{scheduled}")

    @source_app.command("remove")
    def source_remove(name: Annotated[str, typer.Argument(help="The source's name.")]) -> None:
        """Forget a source: its schedule, scans and plans (its files are not touched)."""
        cfg = settings()
        source = _find_source(name)

        async def unschedule() -> None:
            from syncoxide.orchestration import client as temporal
            from syncoxide.orchestration import schedules

            await schedules.delete(await temporal.connect(cfg), schedules.scan_schedule_id(source.name))

        asyncio.run(unschedule())
        with open_store(cfg) as conn:
            manifest.remove_source(conn, source.id)
        out.print(f"removed source {source.name} (its files are untouched)")

    @source_app.command("list")
    def source_list(as_json: JsonOpt = False) -> None:
        """Registered sources with their latest scan."""
        from syncoxide.catalog import sources

        with open_store(settings()) as conn:
            sources = manifest.list_sources(conn)
            latest = {r["source_id"]: r for r in manifest.scan_rows(conn, latest_only=True)}
        if as_json:
            emit_json([{**s.model_dump(mode="json"), "latest_scan": latest.get(s.id)} for s in sources])
            return
        table = Table("source", "root", "hashes", "last scan", "files", "size", "errors")
        for s in sources:
            scan = latest.get(s.id) or {}
            last = f"{scan['finished_at']:%Y-%m-%d %H:%M}" if scan else "never"
            table.add_row(s.name, s.root, ",".join(s.hashes), last,
                          str(scan.get("files", "")), human_size(scan.get("bytes")) if scan else "",
                          str(scan.get("errors", "")))  # fmt: skip
        out.print(table)

    @app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True}, add_help_option=False)
    def scan(ctx: typer.Context) -> None:
        """Walk a source into the catalog (CatalogScanWorkflow): entries, sizes, times, hashes if configured."""
        from syncoxide.cli.quick import scan as scan_cli

        scan_cli.in_process(ctx.args)

    @app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True}, add_help_option=False)
    def search(ctx: typer.Context) -> None:
        """Find files across every source and every snapshot, and where each one lives (--help: the options)."""
        from syncoxide.cli.quick import search as search_cli

        search_cli.in_process(ctx.args)

    @app.command()
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
            raise NotFound(f"{names.shown(path)} is in no snapshot the catalog knows"
                           " (syncoxide catalog ingest --repo ...)")
        table = Table("repository", "snapshot", "time", "state", "size", "modified", "changes")
        for v in found:
            size = human_size(v.size) if v.size is not None else ""
            table.add_row(v.repository, v.snapshot_id, f"{v.time:%Y-%m-%d %H:%M}", v.state, size, _when(v.mtime_ns),
                          ", ".join(v.changes))  # fmt: skip
        out.print(table)

    @app.command()
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
                scope = (analytics.source_scope(reader, source) if source
                         else analytics.snapshot_scope(reader, repo or "", snapshot))  # fmt: skip
                _print_totals(analytics.totals(reader, scope, top=top, depth=depth), as_json)
                return
            usage = analytics.repository_usage(reader)
        if as_json:
            emit_json([{**u.model_dump(mode="json"), "dedup_ratio": u.dedup_ratio} for u in usage])
            return
        table = Table("repository", "snapshots", "latest", "all snapshots", "stored", "dedup ratio", "compressed")
        for u in usage:
            table.add_row(u.repository, str(u.snapshots), human_size(u.latest_bytes), human_size(u.total_bytes),
                          human_size(u.stored_bytes), f"{u.dedup_ratio:.1f}x" if u.dedup_ratio else "",
                          human_size(u.compressed_bytes) if u.compressed_bytes is not None else "")  # fmt: skip
        out.print(table)

    @catalog_app.command("ingest")
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
        request = CatalogIngestRequest(repository_id=repository.id, snapshot_ids=snapshot or None,
                                       passphrase=ref_from_options(passphrase_env, passphrase_file,
                                                                   passphrase_command))  # fmt: skip
        summary = run_workflow(cfg, repository, request, RunKind.catalog, as_json)
        if as_json:
            emit_json(summary.model_dump(mode="json"))
            return
        out.print(f"{repository.name}: {len(summary.ingested)} snapshots ingested ({summary.entries} entries),"
                  f" {len(summary.removed)} removed, in {summary.duration_s:.1f}s")  # fmt: skip

    @catalog_app.command("status")
    def catalog_status(as_json: JsonOpt = False) -> None:
        """Where the catalog is and what it holds."""
        cfg = settings()
        with open_store(cfg) as conn:
            parts = manifest.live_parts(conn)
            snapshots = manifest.snapshot_rows(conn)
            scans = manifest.scan_rows(conn, latest_only=True)
        status = {"location": cfg.catalog_uri, "parts": len(parts), "entries": sum(p.rows for p in parts),
                  "snapshots": len(snapshots), "sources_scanned": len(scans)}  # fmt: skip
        if as_json:
            emit_json(status)
            return
        for key, value in status.items():
            out.print(f"{key.replace('_', ' ')}: {value}")

    @catalog_app.command("compact")
    def catalog_compact(repo: Annotated[str, typer.Option(help="Repository name, id or location.")]) -> None:
        """Merge a repository's small parts now (ingest does this on its own when they pile up)."""
        from syncoxide.catalog import updates

        cfg = settings()
        merged = updates.compact(cfg, find_repository(cfg, repo).id, min_parts=2)
        out.print(f"merged {merged} parts" if merged else "nothing to compact")

    @catalog_app.command("vacuum")
    def catalog_vacuum() -> None:
        """Delete retired parts and leftovers of interrupted writes (after their grace period)."""
        from syncoxide.catalog import updates

        out.print(f"removed {updates.vacuum(settings())} files")

    _register_cleanup()


def _print_totals(result, as_json: bool) -> None:
    if as_json:
        emit_json(result.model_dump(mode="json"))
        return
    out.print(f"[bold]{result.scope}[/bold]: {result.files} files, {result.dirs} folders, {human_size(result.bytes)}")
    for title, rows in (("type", result.by_type), ("extension", result.by_extension), ("size", result.by_size),
                        ("age", result.by_age)):  # fmt: skip
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
        table.add_row(f"{p.time:%Y-%m-%d %H:%M}", p.kind, p.name, str(p.files or ""), human_size(p.bytes),
                      human_size(p.added_bytes) if p.added_bytes is not None else "")  # fmt: skip
    out.print(table)


def _print_plan(plan, items: list, as_json: bool, *, show: int = 50) -> None:
    if as_json:
        emit_json({**plan.model_dump(mode="json"), "items": [i.model_dump(mode="json") for i in items]})
        return
    total = sum(v["bytes"] for v in plan.summary.values())
    out.print(f"plan [bold]{plan.id}[/bold] ({plan.status}): {len(items)} items, {human_size(total)} reclaimable;"
              f" trash {plan.trash_dir}, kept {plan.spec.keep_days} days after apply")  # fmt: skip
    for reason, entry in plan.summary.items():
        out.print(f"  {reason}: {entry['items']} items, {human_size(entry['bytes'])}")
    table = Table("#", "path", "why", "size", "state")
    for item in items[:show]:
        why = f"{item.reason} of {names.shown(item.keep_path)}" if item.keep_path else item.reason
        table.add_row(str(item.seq), Text(names.shown(item.path)), Text(why), human_size(item.size),
                      item.state + (f": {item.note}" if item.note else ""))  # fmt: skip
    out.print(table)
    if len(items) > show:
        err.print(f"[dim]{len(items) - show} more: syncoxide cleanup show {plan.id} --json[/dim]")


def _register_cleanup() -> None:  # noqa: C901 - a list of commands
    @cleanup_app.command("plan")
    def cleanup_plan(
        source: Annotated[str, typer.Option(help="Source name (its latest scan is used).")],
        duplicates: Annotated[bool, typer.Option(help="Extra copies of identical files.")] = True,
        junk: Annotated[bool, typer.Option(help="Temp files, caches, build leftovers.")] = True,
        junk_file: Annotated[list[str] | None, typer.Option(help="Junk file glob (repeatable).")] = None,
        junk_dir: Annotated[list[str] | None, typer.Option(help="Junk folder name (repeatable).")] = None,
        large_old: Annotated[bool, typer.Option(help="Large files not modified for long.")] = False,
        min_size: Annotated[str, typer.Option(help="With --large-old: at least this size.")] = "100M",
        older_than: Annotated[str, typer.Option(help="With --large-old: not modified for this long.")] = "365d",
        empty_dirs: Annotated[bool, typer.Option(help="Empty folders.")] = False,
        keep: Annotated[str, typer.Option(help="How long the trash keeps what apply moves.")] = "30d",
        output: Annotated[Path | None, typer.Option(help="Also write the plan as JSON to this file.")] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Write a reviewable plan (what, why, bytes); nothing is touched until `cleanup apply`."""
        from syncoxide.catalog import cleanup, query, walk
        from syncoxide.store import cleanup as plans

        cfg = settings()
        found = _find_source(source)
        spec = cleanup.CleanupSpec(
            source_id=found.id, duplicates=duplicates, junk=junk,
            junk_files=junk_file if junk_file is not None else list(cleanup.JUNK_FILES),
            junk_dirs=junk_dir if junk_dir is not None else list(cleanup.JUNK_DIRS),
            large_old=large_old, min_size=parse_size(min_size), older_than_days=parse_duration(older_than).days,
            empty_dirs=empty_dirs, keep_days=parse_duration(keep).days,
        )  # fmt: skip
        with query.CatalogReader.open(cfg) as reader:
            candidates = cleanup.find_candidates(reader, spec, time.time_ns())
        with open_store(cfg) as conn:
            plan = plans.create(conn, spec, candidates, os.path.join(found.root, walk.TRASH_DIR_NAME))
            items = plans.items(conn, plan.id)
        if output:
            document = {**plan.model_dump(mode="json"), "items": [i.model_dump(mode="json") for i in items]}
            temporary = output.with_name(f".{output.name}.tmp")
            temporary.write_text(json.dumps(document, indent=2))
            temporary.replace(output)
        _print_plan(plan, items, as_json)
        if not as_json:
            out.print(f"review it, then: syncoxide cleanup apply {plan.id} --yes")

    @cleanup_app.command("show")
    def cleanup_show(plan_id: Annotated[str, typer.Argument(help="Plan id.")], as_json: JsonOpt = False) -> None:
        """A plan with its items and their states."""
        from syncoxide.store import cleanup as plans

        with open_store(settings()) as conn:
            plan = plans.get(conn, plan_id)
            _print_plan(plan, plans.items(conn, plan_id), as_json)

    @cleanup_app.command("list")
    def cleanup_list(as_json: JsonOpt = False) -> None:
        """Recent plans."""
        from syncoxide.store import cleanup as plans

        with open_store(settings()) as conn:
            found = plans.list_plans(conn)
        if as_json:
            emit_json([p.model_dump(mode="json") for p in found])
            return
        table = Table("plan", "created", "status", "items", "bytes", "trash kept until")
        for p in found:
            table.add_row(p.id, f"{p.created_at:%Y-%m-%d %H:%M}", p.status,
                          str(sum(v["items"] for v in p.summary.values())),
                          human_size(sum(v["bytes"] for v in p.summary.values())),
                          f"{p.keep_until:%Y-%m-%d}" if p.keep_until else "")  # fmt: skip
        out.print(table)

    def _run(plan_id: str, action: str, as_json: bool) -> None:
        from syncoxide.store import cleanup as plans

        cfg = settings()
        with open_store(cfg) as conn:
            plan = plans.get(conn, plan_id)
        result = run_workflow(cfg, None, CleanupRequest(plan_id=plan_id, action=action), RunKind.cleanup, as_json,
                              source_id=plan.spec.source_id)  # fmt: skip
        if as_json:
            emit_json(result.model_dump(mode="json"))
            return
        verb = "moved to the trash" if action == "apply" else "put back"
        out.print(f"{plan_id}: {result.moved} items ({human_size(result.bytes)}) {verb}")
        for line in result.skipped:
            err.print(f"skipped {line}", markup=False)

    @cleanup_app.command("apply")
    def cleanup_apply(
        plan_id: Annotated[str, typer.Argument(help="Plan id.")],
        yes: Annotated[bool, typer.Option("--yes", help="Confirm: move the plan's items to the trash.")] = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Move exactly the plan's items to the trash (CleanupWorkflow); changed items are skipped."""
        if not yes:
            raise InvalidInput(f"review the plan (syncoxide cleanup show {plan_id}), then add --yes to apply it")
        _run(plan_id, "apply", as_json)

    @cleanup_app.command("undo")
    def cleanup_undo(plan_id: Annotated[str, typer.Argument(help="Plan id.")], as_json: JsonOpt = False) -> None:
        """Put everything an applied plan moved back where it was."""
        _run(plan_id, "undo", as_json)

    @cleanup_app.command("purge")
    def cleanup_purge() -> None:
        """Empty the trash of plans whose keep time has passed (never sooner)."""
        from syncoxide.catalog import trash

        done = trash.purge_expired(settings())
        out.print(f"emptied the trash of {len(done)} plans" + (f": {', '.join(done)}" if done else ""))
