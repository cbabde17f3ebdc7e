"""`syncoxide dev up|down|status` (the embedded stack) and `syncoxide demo` (a first backup through it)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from syncoxide.cli.common import JsonOpt, emit_json, err, out, run_workflow, settings
from syncoxide.contract.payloads import BackupRequest
from syncoxide.models import BackupOptions, Engine, RunKind
from syncoxide.secrets import SecretRef
from syncoxide.store import open_store, repositories

if TYPE_CHECKING:
    from syncoxide.dev.stack import Service

app = typer.Typer(help="Run the embedded stack: Temporal dev server, PostgreSQL, worker, API, dashboard.")
commands = typer.Typer()


@app.command("up")
def dev_up(
    no_dashboard: Annotated[bool, typer.Option("--no-dashboard", help="Do not start the dashboard.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Start the stack (idempotent) and print where everything is."""
    from syncoxide.dev import stack as devstack

    cfg = settings()
    services = devstack.up(cfg, dashboard=not no_dashboard, say=lambda s: err.print(f"[dim]{s}[/dim]"))
    _print_services(services, as_json)


@app.command("down")
def dev_down() -> None:
    """Stop everything `dev up` started."""
    from syncoxide.dev import stack as devstack

    devstack.down(settings(), say=lambda s: err.print(s))


@app.command("status")
def dev_status(as_json: JsonOpt = False) -> None:
    """Show which parts of the stack are running; exit 1 if any is not."""
    from syncoxide.dev import stack as devstack

    services = devstack.status(settings())
    _print_services(services, as_json)
    if not all(s.running for s in services if s.name != "dashboard"):
        raise typer.Exit(1)


def _print_services(services: list[Service], as_json: bool) -> None:
    if as_json:
        emit_json([s.__dict__ for s in services])
        return
    table = Table("service", "state", "where")
    for s in services:
        table.add_row(s.name, "[green]running[/green]" if s.running else "[red]stopped[/red]", s.url or "")
    out.print(table)


@commands.command()
def demo(as_json: JsonOpt = False) -> None:
    """Back up a sample folder into a demo borg repository through the running stack."""
    from syncoxide.backups import operations
    from syncoxide.dev import demo as demo_data
    from syncoxide.dev import stack as devstack
    from syncoxide.orchestration import client as temporal

    cfg = settings()
    sample = demo_data.make_sample(cfg)
    passphrase = SecretRef(kind="file", value=str(demo_data.passphrase_file(cfg)))
    location = str(demo_data.demo_dir(cfg) / "repo-borg")
    with open_store(cfg) as conn:
        known = [r for r in repositories.list_all(conn) if r.location == location]
        if known:
            repository = known[0]
        else:
            if not Path(location).exists():
                operations.init_repository(cfg, Engine.borg, location, passphrase)
            repository = repositories.add(
                conn, name="demo", engine=Engine.borg, location=location, passphrase=passphrase
            )
    request = BackupRequest(repository_id=repository.id, sources=[str(sample)], options=BackupOptions(tags=["demo"]))
    result = run_workflow(cfg, repository, request, RunKind.backup, as_json)
    links = {
        "dashboard": devstack.dashboard_url(cfg),
        "temporal_ui": cfg.temporal_ui_url if cfg.embedded_temporal else None,
        "run": temporal.workflow_url(cfg, result.run_id),
        "find_it": "temporal workflow list --query \"RunKind='backup'\"",
    }
    if as_json:
        emit_json({**result.model_dump(mode="json"), **links})
        return
    out.print(f"demo backup of {sample} -> snapshot [bold]{result.snapshot_id}[/bold] ({result.stats.files} files)")
    out.print(f"dashboard:        {links['dashboard']}")
    if links["temporal_ui"]:
        out.print(f"Temporal Web UI:  {links['temporal_ui']}")
    out.print(f"this run:         {links['run']}")
    out.print(f"find it:          {links['find_it']}")
