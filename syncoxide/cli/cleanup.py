"""`syncoxide cleanup plan|show|list|apply|undo|purge`: storage cleanups planned from the catalog, reviewed, applied
through CleanupWorkflow (into a trash) and undone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from syncoxide.cli.common import JsonOpt, emit_json, err, human_size, out, run_workflow, settings
from syncoxide.cli.source import find_source
from syncoxide.contract.payloads import CleanupRequest
from syncoxide.errors import InvalidInput
from syncoxide.fs import names
from syncoxide.models import RunKind, parse_duration, parse_size
from syncoxide.store import open_store

app = typer.Typer(help="Plan, review, apply and undo storage cleanups.", no_args_is_help=True)


def _print_plan(plan, items: list, as_json: bool, *, show: int = 50) -> None:
    if as_json:
        emit_json({**plan.model_dump(mode="json"), "items": [i.model_dump(mode="json") for i in items]})
        return
    total = sum(v["bytes"] for v in plan.summary.values())
    out.print(
        f"plan [bold]{plan.id}[/bold] ({plan.status}): {len(items)} items, {human_size(total)} reclaimable;"
        f" trash {plan.trash_dir}, kept {plan.spec.keep_days} days after apply"
    )
    for reason, entry in plan.summary.items():
        out.print(f"  {reason}: {entry['items']} items, {human_size(entry['bytes'])}")
    table = Table("#", "path", "why", "size", "state")
    for item in items[:show]:
        why = f"{item.reason} of {names.shown(item.keep_path)}" if item.keep_path else item.reason
        table.add_row(
            str(item.seq),
            Text(names.shown(item.path)),
            Text(why),
            human_size(item.size),
            item.state + (f": {item.note}" if item.note else ""),
        )
    out.print(table)
    if len(items) > show:
        err.print(f"[dim]{len(items) - show} more: syncoxide cleanup show {plan.id} --json[/dim]")


@app.command("plan")
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
    from syncoxide.catalog import cleanup
    from syncoxide.catalog.cleanup_plan import make_plan

    cfg = settings()
    found = find_source(source)
    spec = cleanup.CleanupSpec(
        source_id=found.id,
        duplicates=duplicates,
        junk=junk,
        junk_files=junk_file if junk_file is not None else list(cleanup.JUNK_FILES),
        junk_dirs=junk_dir if junk_dir is not None else list(cleanup.JUNK_DIRS),
        large_old=large_old,
        min_size=parse_size(min_size),
        older_than_days=parse_duration(older_than).days,
        empty_dirs=empty_dirs,
        keep_days=parse_duration(keep).days,
    )
    plan, items = make_plan(cfg, found, spec)
    if output:
        document = {**plan.model_dump(mode="json"), "items": [i.model_dump(mode="json") for i in items]}
        temporary = output.with_name(f".{output.name}.tmp")
        temporary.write_text(json.dumps(document, indent=2))
        temporary.replace(output)
    _print_plan(plan, items, as_json)
    if not as_json:
        out.print(f"review it, then: syncoxide cleanup apply {plan.id} --yes")


@app.command("show")
def cleanup_show(plan_id: Annotated[str, typer.Argument(help="Plan id.")], as_json: JsonOpt = False) -> None:
    """A plan with its items and their states."""
    from syncoxide.store import cleanup as plans

    with open_store(settings()) as conn:
        plan = plans.get(conn, plan_id)
        _print_plan(plan, plans.items(conn, plan_id), as_json)


@app.command("list")
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
        table.add_row(
            p.id,
            f"{p.created_at:%Y-%m-%d %H:%M}",
            p.status,
            str(sum(v["items"] for v in p.summary.values())),
            human_size(sum(v["bytes"] for v in p.summary.values())),
            f"{p.keep_until:%Y-%m-%d}" if p.keep_until else "",
        )
    out.print(table)


def _run(plan_id: str, action: str, as_json: bool) -> None:
    from syncoxide.store import cleanup as plans

    cfg = settings()
    with open_store(cfg) as conn:
        plan = plans.get(conn, plan_id)
    result = run_workflow(
        cfg,
        None,
        CleanupRequest(plan_id=plan_id, action=action),
        RunKind.cleanup,
        as_json,
        source_id=plan.spec.source_id,
    )
    if as_json:
        emit_json(result.model_dump(mode="json"))
        return
    verb = "moved to the trash" if action == "apply" else "put back"
    out.print(f"{plan_id}: {result.moved} items ({human_size(result.bytes)}) {verb}")
    for line in result.skipped:
        err.print(f"skipped {line}", markup=False)


@app.command("apply")
def cleanup_apply(
    plan_id: Annotated[str, typer.Argument(help="Plan id.")],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: move the plan's items to the trash.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Move exactly the plan's items to the trash (CleanupWorkflow); changed items are skipped."""
    if not yes:
        raise InvalidInput(f"review the plan (syncoxide cleanup show {plan_id}), then add --yes to apply it")
    _run(plan_id, "apply", as_json)


@app.command("undo")
def cleanup_undo(plan_id: Annotated[str, typer.Argument(help="Plan id.")], as_json: JsonOpt = False) -> None:
    """Put everything an applied plan moved back where it was."""
    _run(plan_id, "undo", as_json)


@app.command("purge")
def cleanup_purge() -> None:
    """Empty the trash of plans whose keep time has passed (never sooner)."""
    from syncoxide.catalog import trash

    done = trash.purge_expired(settings())
    out.print(f"emptied the trash of {len(done)} plans" + (f": {', '.join(done)}" if done else ""))
