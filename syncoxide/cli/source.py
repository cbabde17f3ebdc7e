"""`syncoxide source add|remove|list`: the directory trees the catalog scans, and their scan schedules."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from syncoxide import cron as crontab
from syncoxide.cli.common import JsonOpt, emit_json, human_size, out, settings
from syncoxide.errors import InvalidInput, InvalidValue
from syncoxide.models import Source, parse_interval
from syncoxide.store import catalog as manifest
from syncoxide.store import open_store

app = typer.Typer(help="Directory trees the catalog scans.", no_args_is_help=True)


def find_source(ref: str) -> Source:
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


@app.command("add")
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


@app.command("remove")
def source_remove(name: Annotated[str, typer.Argument(help="The source's name.")]) -> None:
    """Forget a source: its schedule, scans and plans (its files are not touched)."""
    cfg = settings()
    source = find_source(name)

    async def unschedule() -> None:
        from syncoxide.orchestration import client as temporal
        from syncoxide.orchestration import schedules

        await schedules.delete(await temporal.connect(cfg), schedules.scan_schedule_id(source.name))

    asyncio.run(unschedule())
    with open_store(cfg) as conn:
        manifest.remove_source(conn, source.id)
    out.print(f"removed source {source.name} (its files are untouched)")


@app.command("list")
def source_list(as_json: JsonOpt = False) -> None:
    """Registered sources with their latest scan."""
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
        table.add_row(
            s.name,
            s.root,
            ",".join(s.hashes),
            last,
            str(scan.get("files", "")),
            human_size(scan.get("bytes")) if scan else "",
            str(scan.get("errors", "")),
        )
    out.print(table)
