"""`syncoxide policy ...` and `syncoxide status`: policies as code, their schedules, their health."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from syncoxide.cli.common import JsonOpt, emit_json, err, human_size, out, settings
from syncoxide.config import Settings
from syncoxide.errors import InvalidInput, NotFound
from syncoxide.store import open_store, policies, runs

FilesArg = Annotated[list[Path], typer.Argument(help="Policy files (YAML).")]
NameArg = Annotated[str, typer.Argument(help="Policy name.")]
app = typer.Typer(help="Backup policies and sync pairs as code: plan, apply, and operate their schedules.")
commands = typer.Typer()


def _print_plan(changes: list) -> None:
    marks = {"create": "[green]+[/green]", "update": "[yellow]~[/yellow]", "remove": "[red]-[/red]", "unchanged": " "}
    for c in changes:
        out.print(f"{marks[c.action]} {c.kind} {c.name}: {c.action}" + (f" ({c.detail})" if c.detail else ""))
    counts = {a: sum(c.action == a for c in changes) for a in ("create", "update", "remove")}
    out.print(f"{counts['create']} to create, {counts['update']} to update, {counts['remove']} to remove")


@app.command("plan")
def plan(files: FilesArg, as_json: JsonOpt = False) -> None:
    """Show what apply would create, change or remove; changes nothing."""
    from syncoxide.policies import apply as policy_apply
    from syncoxide.policies import loader

    cfg = settings()
    changes = asyncio.run(policy_apply.plan(cfg, loader.load(files)))
    if as_json:
        emit_json(policy_apply.as_rows(changes))
    else:
        _print_plan(changes)


@app.command("apply")
def apply(
    files: FilesArg,
    yes: Annotated[bool, typer.Option("--yes", help="Apply without asking (needed to remove schedules).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Make the stack match the files: repositories, policies' schedules, checks, sync pairs. Idempotent."""
    from syncoxide.policies import apply as policy_apply
    from syncoxide.policies import loader

    cfg = settings()
    desired = loader.load(files)
    changes = asyncio.run(policy_apply.plan(cfg, desired))
    pending = [c for c in changes if c.action != "unchanged"]
    if not as_json:
        _print_plan(changes)
    if pending and not yes:
        if not sys.stdin.isatty():
            raise InvalidInput("not applied: review the plan above, then run again with --yes")
        if not typer.confirm(f"Apply {len(pending)} change(s)?"):
            raise InvalidInput("not applied")
    done = asyncio.run(policy_apply.apply(cfg, desired, changes, yes=True))
    if as_json:
        emit_json(policy_apply.as_rows(done))
    else:
        out.print(f"applied {len(done)} change(s)" if done else "nothing to change")


def _schedule_id(cfg: Settings, name: str) -> str:
    from syncoxide.orchestration import schedules

    with open_store(cfg) as conn:
        if name not in policies.active(conn):
            raise NotFound(f"no policy named {name!r} (see: syncoxide policy list)")
    return schedules.policy_schedule_id(name)


async def _health(cfg: Settings) -> tuple[list, list]:
    from syncoxide.orchestration import client as temporal
    from syncoxide.orchestration import health

    return await health.gather(cfg, await temporal.connect(cfg), datetime.now(UTC))


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else ""


def _health_rows(found: list) -> list[dict]:
    return [
        {
            "policy": h.name,
            "state": h.state,
            "detail": h.detail,
            "next_run": h.next_run,
            "last_run": h.last_run.started_at if h.last_run else None,
            "last_status": h.last_run.status.value if h.last_run else None,
            "last_success": h.last_success,
        }
        for h in found
    ]


@app.command("list")
def list_policies(as_json: JsonOpt = False) -> None:
    """Policies with their next run, last run, last success and health."""
    found, _ = asyncio.run(_health(settings()))
    if as_json:
        emit_json(_health_rows(found))
        return
    table = Table("policy", "health", "next run", "last run", "last success", "detail")
    colors = {"ok": "green", "late": "yellow", "failing": "red", "paused": "dim"}
    for h in found:
        last = _when(h.last_run.started_at if h.last_run else None)
        state = f"[{colors[h.state]}]{h.state}[/]"
        table.add_row(h.name, state, _when(h.next_run), last, _when(h.last_success), h.detail)
    out.print(table)


@app.command("show")
def show(name: NameArg, as_json: JsonOpt = False) -> None:
    """A policy's applied spec and its schedule."""
    cfg = settings()
    schedule_id = _schedule_id(cfg, name)
    with open_store(cfg) as conn:
        stored = policies.active(conn)[name]
    view = asyncio.run(_describe(cfg, schedule_id))
    document = {
        "name": name,
        "version": stored.version,
        "origin": stored.origin,
        **stored.spec,
        "schedule_id": schedule_id,
        "paused": view.paused,
        "next_runs": view.next_runs[:5],
    }
    if as_json:
        emit_json(document)
    else:
        out.print_json(data=document, default=str)


async def _describe(cfg: Settings, schedule_id: str):
    from syncoxide.orchestration import client as temporal
    from syncoxide.orchestration import schedules

    return await schedules.describe(await temporal.connect(cfg), schedule_id)


def _on_schedule(cfg: Settings, name: str, action) -> None:
    async def go() -> None:
        from syncoxide.orchestration import client as temporal

        await action(await temporal.connect(cfg), _schedule_id(cfg, name))

    asyncio.run(go())


@app.command("pause")
def pause(name: NameArg, note: Annotated[str, typer.Option(help="Why.")] = "paused from the CLI") -> None:
    """Stop scheduling runs of a policy until it is resumed."""
    from syncoxide.orchestration import schedules

    _on_schedule(settings(), name, lambda c, i: schedules.pause(c, i, note))
    out.print(f"paused {name}")


@app.command("resume")
def resume(name: NameArg) -> None:
    """Schedule runs of a paused policy again."""
    from syncoxide.orchestration import schedules

    _on_schedule(settings(), name, lambda c, i: schedules.resume(c, i, "resumed from the CLI"))
    out.print(f"resumed {name}")


@app.command("trigger")
def trigger(name: NameArg) -> None:
    """Run a policy's backup now."""
    from syncoxide.orchestration import schedules

    _on_schedule(settings(), name, schedules.trigger)
    out.print(f"triggered {name}")


@app.command("delete")
def delete(name: NameArg, yes: Annotated[bool, typer.Option("--yes", help="Really delete.")] = False) -> None:
    """Delete a policy's schedule (its history stays); it comes back if a file still declares it."""
    if not yes:
        raise InvalidInput(f"deleting {name} removes its schedule: run again with --yes")
    cfg = settings()
    schedule_id = _schedule_id(cfg, name)

    async def go() -> None:
        from syncoxide.orchestration import client as temporal
        from syncoxide.orchestration import schedules

        await schedules.delete(await temporal.connect(cfg), schedule_id)

    asyncio.run(go())
    with open_store(cfg) as conn:
        policies.remove(conn, name)
    out.print(f"deleted {name}")


@app.command("history")
def history(
    name: NameArg, limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20, as_json: JsonOpt = False
) -> None:
    """A policy's runs: backups, and the retention runs after them."""
    with open_store(settings()) as conn:
        found = runs.recent(conn, policy_id=name, limit=limit)
    if as_json:
        emit_json([r.model_dump(mode="json") for r in found])
        return
    table = Table("run", "status", "started", "duration", "files", "bytes", "error")
    for r in found:
        duration = f"{(r.finished_at - r.started_at).total_seconds():.1f}s" if r.finished_at else ""
        table.add_row(
            r.id,
            r.status.value,
            _when(r.started_at),
            duration,
            str(r.files or ""),
            human_size(r.bytes) if r.bytes is not None else "",
            r.error or "",
        )
    out.print(table)


@commands.command("status")
def status(as_json: JsonOpt = False) -> None:
    """Health of every policy and repository; exit 1 when any policy is failing or late, or a check failed."""
    found, repos = asyncio.run(_health(settings()))
    bad = [h for h in found if h.bad] + [r for r in repos if r.bad]
    if as_json:
        emit_json(
            {
                "policies": _health_rows(found),
                "repositories": [
                    {
                        "repository": r.name,
                        "state": r.state,
                        "last_check": r.last_check.finished_at if r.last_check else None,
                    }
                    for r in repos
                ],
                "ok": not bad,
            }
        )
    else:
        table = Table("policy", "health", "detail")
        for h in found:
            table.add_row(h.name, h.state, h.detail)
        out.print(table)
        checks = Table("repository", "last check", "when")
        for r in repos:
            checks.add_row(r.name, r.state, _when(r.last_check.finished_at if r.last_check else None))
        out.print(checks)
    if bad:
        err.print(f"error: {len(bad)} problem(s): " + ", ".join(b.name for b in bad), markup=False)
        raise typer.Exit(1)
