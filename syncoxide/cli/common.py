"""What every CLI command shares: consoles, option types, settings, repository lookup, running workflows."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from syncoxide.config import Settings, load_settings
from syncoxide.errors import InvalidInput, SyncoxideError
from syncoxide.models import Repository, human_size  # noqa: F401 - commands import it from here
from syncoxide.secrets import ref_from_options
from syncoxide.store import open_store, repositories

# Temporal's SDK is heavy; commands that do not talk to it skip it

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print a machine-readable result.")]
PassEnv = Annotated[str | None, typer.Option("--passphrase-env", help="Environment variable holding it.")]
PassFile = Annotated[str | None, typer.Option("--passphrase-file", help="File holding it.")]
PassCmd = Annotated[str | None, typer.Option("--passphrase-command", help="Command printing it.")]
EngineOpt = Annotated[str, typer.Option("--engine", help="borg or restic.")]
NameOpt = Annotated[str | None, typer.Option("--name", help="Name to refer to it by (default: last path part).")]


def settings() -> Settings:
    try:
        return load_settings()
    except Exception as exc:  # pydantic's ValidationError names the field
        first = str(exc).splitlines()
        raise InvalidInput("settings: " + " ".join(line.strip() for line in first[1:3])) from None


def emit_json(data: object) -> None:
    out.print_json(json.dumps(data, default=str))


def find_repository(cfg: Settings, ref: str) -> Repository:
    with open_store(cfg) as conn:
        location = str(Path(ref).expanduser().resolve()) if "/" in ref or ref.startswith(".") else None
        return repositories.find(conn, ref, location=location)


RepoOpt = Annotated[str, typer.Option("--repo", help="Repository name, id or location.")]


def open_engine_for(cfg: Settings, repo: str, env: str | None, file: str | None, command: str | None):
    """The repository's engine for commands that read it directly (not through a workflow)."""
    from syncoxide.backups import operations

    return operations.open_repository(cfg, find_repository(cfg, repo), ref_from_options(env, file, command))


def run_workflow(
    cfg: Settings, repository: Repository | None, request, kind: str, as_json: bool, *, source_id: str | None = None
):
    """Start the run's workflow and wait for it with a progress bar; Ctrl-C cancels it cleanly."""
    from syncoxide.contract import temporal as contract

    result_type = contract.WORKFLOW_FOR_RUN[kind].result

    async def go():
        from syncoxide.cli import progress
        from syncoxide.orchestration import client as temporal

        conn = await temporal.connect(cfg)
        policy_id = getattr(request, "policy_id", None)
        handle = await temporal.start(conn, cfg, kind, repository, request, policy_id=policy_id, source_id=source_id)
        shown = err.is_terminal and not as_json
        if shown:
            err.print(f"[dim]started {handle.id} ({temporal.workflow_url(cfg, handle.id)})[/dim]")
        try:
            if not shown:  # nobody sees a bar: do not poll the server for progress
                return await temporal.wait(handle, result_type)
            with progress.ProgressBar(str(kind), err) as bar:
                return await temporal.wait(handle, result_type, bar.update)
        except asyncio.CancelledError:  # Ctrl-C: cancel the run, wait until the engine has stopped
            if err.is_terminal:
                err.print(f"[dim]cancelling {handle.id}...[/dim]")
            await handle.cancel()
            try:
                await temporal.wait(handle, result_type)
            except temporal.RunCancelled:
                pass
            raise temporal.RunCancelled(f"run {handle.id} was cancelled") from None
        except temporal.RunFailed as failure:
            raise SyncoxideError(f"{failure} (run {handle.id})") from None

    return asyncio.run(go())
