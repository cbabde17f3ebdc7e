"""The syncoxide command line (Typer). Failures print one line and exit non-zero; --debug shows tracebacks."""

from __future__ import annotations

import asyncio
import atexit
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from syncoxide.backups.placement import check_strip
from syncoxide.cli.catalog import register as register_catalog_commands
from syncoxide.cli.common import (
    EngineOpt,
    JsonOpt,
    NameOpt,
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
from syncoxide.cli.policy import register as register_policy_commands
from syncoxide.cli.repository import register as register_repository_commands
from syncoxide.cli.sync import register as register_sync_commands
from syncoxide.contract.payloads import BackupRequest, RestoreRequest
from syncoxide.dashboard_auth import hash_password
from syncoxide.engines import compression as engine_compression
from syncoxide.engines import parse_engine
from syncoxide.errors import InvalidInput, SyncoxideError
from syncoxide.fs import names
from syncoxide.models import BackupOptions, DatabaseSource, Engine, Overwrite, RunKind, StreamSource
from syncoxide.secrets import SecretRef, ref_from_options
from syncoxide.store import open_store, repositories, runs

if TYPE_CHECKING:
    from syncoxide.dev.stack import Service

app = typer.Typer(
    help="syncoxide: encrypted, deduplicated backups orchestrated by Temporal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
dev_app = typer.Typer(help="Run the embedded stack: Temporal dev server, PostgreSQL, worker, dashboard.")
repo_app = typer.Typer(help="Create and list repositories.")
app.add_typer(dev_app, name="dev")
app.add_typer(repo_app, name="repo")


@app.callback()
def _root(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on failure.")] = False) -> None:
    pass


@dev_app.command("up")
def dev_up(
    no_dashboard: Annotated[bool, typer.Option("--no-dashboard", help="Do not start the dashboard.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Start the stack (idempotent) and print where everything is."""
    from syncoxide.dev import stack as devstack

    cfg = settings()
    services = devstack.up(cfg, dashboard=not no_dashboard, say=lambda s: err.print(f"[dim]{s}[/dim]"))
    _print_services(services, as_json)


@dev_app.command("down")
def dev_down() -> None:
    """Stop everything `dev up` started."""
    from syncoxide.dev import stack as devstack

    devstack.down(settings(), say=lambda s: err.print(s))


@dev_app.command("status")
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


@app.command()
def worker(
    ready_file: Annotated[Path | None, typer.Option(help="Touch this file once the worker polls.")] = None,
) -> None:
    """Run a worker in the foreground: workflows and activities on the configured task queues."""
    import logging

    from workers.main import main as run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_worker(settings(), ready_file=ready_file)


keys_app = typer.Typer(help="Payload keys: the AES-256 keys that seal every Temporal payload.")
app.add_typer(keys_app, name="keys")


@keys_app.command("new")
def keys_new(
    into: Annotated[Path | None, typer.Option("--into", help="Put the key first in this key file (0600).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Make a payload key: printed once, or put first in a key file (it seals from then on; the rest still open)."""
    from syncoxide.orchestration import payload_keys

    if into is None:
        out.print(payload_keys.new_key_text(), markup=False, highlight=False)
        return
    key = payload_keys.add_key(into)
    if as_json:
        emit_json({"file": str(into), "id": key.id})
    else:
        out.print(f"added payload key {key.id} first in {into}: it seals new payloads; restart workers and clients")


@keys_app.command("list")
def keys_list(as_json: JsonOpt = False) -> None:
    """The ids of the payload keys this process would use (never the keys), the sealing one first."""
    from syncoxide.orchestration import payload_keys

    cfg = settings()
    found = payload_keys.load_keys(cfg.payload_keys, cfg.home)
    if as_json:
        emit_json([{"id": k.id, "seals": i == 0} for i, k in enumerate(found)])
        return
    for i, key in enumerate(found):
        out.print(f"{key.id}  {'seals and opens' if i == 0 else 'opens'}")


@keys_app.command("reseal")
def keys_reseal(as_json: JsonOpt = False) -> None:
    """Seal every syncoxide schedule's stored input again with the sealing key (after an upgrade, a rotation)."""
    from syncoxide.orchestration import schedules

    cfg = settings()

    async def go() -> list[str]:
        from syncoxide.orchestration import client as temporal

        client = await temporal.connect(cfg)
        return await schedules.reseal(client, client.data_converter.payload_codec)

    done = asyncio.run(go())
    if as_json:
        emit_json({"resealed": done})
    else:
        out.print(f"resealed {len(done)} schedules" + (": " + ", ".join(done) if done else ""), markup=False)


@app.command("codec-server")
def codec_server(
    host: Annotated[str, typer.Option(help="Address to listen on; beyond loopback needs --tls-cert/--tls-key.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int | None, typer.Option(help="Port (default SYNCOXIDE_CODEC_PORT, 8234).")] = None,
    ui_origin: Annotated[
        list[str] | None, typer.Option("--ui-origin", help="Origin of the Web UI allowed by CORS (repeatable).")
    ] = None,
    public_name: Annotated[
        list[str] | None, typer.Option("--public-name", help="Host name clients use for this server (repeatable).")
    ] = None,
    tls_cert: Annotated[Path | None, typer.Option(help="TLS certificate file (PEM).")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="TLS key file (PEM).")] = None,
) -> None:
    """Serve POST /encode and /decode for Temporal's Web UI and CLI, behind the codec token."""
    from syncoxide.server import codec_process

    codec_process.serve(settings(), host=host, port=port, origins=ui_origin, public_names=public_name,
                        tls_cert=tls_cert, tls_key=tls_key)  # fmt: skip


@app.command()
def dashboard() -> None:
    """Run the dashboard in the foreground (127.0.0.1 unless SYNCOXIDE_DASHBOARD_ADDRESS says otherwise)."""
    from syncoxide.dev import stack as devstack

    argv = devstack.dashboard_argv(settings())
    os.execv(argv[0], argv)


@app.command("dashboard-password")
def dashboard_password() -> None:
    """Read a password (twice) and print its hash, for SYNCOXIDE_DASHBOARD_PASSWORD=file:... or env:..."""
    first = typer.prompt("password", hide_input=True)
    if typer.prompt("again", hide_input=True) != first:
        raise InvalidInput("the two passwords differ")
    out.print(hash_password(first), markup=False, highlight=False)


@repo_app.command("init")
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


@repo_app.command("add")
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
    from syncoxide.backups import operations

    engine = parse_engine(engine_name)
    passphrase = ref_from_options(env, file, command)
    if passphrase is None:
        raise InvalidInput("a passphrase reference is required: --passphrase-env, -file or -command")
    location = operations.normalize_location(engine, location)
    name = name or Path(location.rstrip("/")).name or location
    cfg = settings()
    with open_store(cfg) as conn:
        if any(r.name == name or r.location == location for r in repositories.list_all(conn)):
            raise InvalidInput(f"a repository named {name!r} or at {location} is already registered")
        if create:
            operations.init_repository(cfg, engine, location, passphrase)
        else:
            operations.open_location(cfg, engine, location, passphrase).snapshots()
        repository = repositories.add(conn, name=name, engine=engine, location=location, passphrase=passphrase)
    if as_json:
        emit_json(repository.model_dump(mode="json"))
    else:
        verb = "created" if create else "registered"
        out.print(f"{verb} {engine.value} repository [bold]{repository.name}[/bold] at {location}")


@repo_app.command("list")
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


@app.command()
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


@app.command()
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


@app.command()
def cancel(run: Annotated[str, typer.Argument(help="Run id (the workflow id).")]) -> None:
    """Cancel a running backup or restore; the engine stops cleanly and the run is recorded as cancelled."""

    async def go() -> None:
        from syncoxide.orchestration import client as temporal

        await temporal.cancel(await temporal.connect(settings()), run)

    asyncio.run(go())
    out.print(f"cancellation requested for {run}")


@app.command("runs")
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
            r.id, r.kind.value, r.status.value, f"{r.started_at:%Y-%m-%d %H:%M:%S}",
            str(r.files or ""), human_size(r.bytes) if r.bytes is not None else "",
            (r.snapshot_id or "")[:16], r.error or "",
        )  # fmt: skip
    out.print(table)


@app.command()
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


register_repository_commands(app, repo_app)
register_policy_commands(app)
register_catalog_commands(app)
register_sync_commands(app)


def main() -> None:
    from syncoxide.fs.modes import go_private

    go_private()  # also when started as `python -m syncoxide.cli` (dev up's worker, codec server), not via entry
    debug = "--debug" in sys.argv[1:]
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        err.print("error: aborted")
        code = 130
    except typer.TyperException as exc:  # usage errors: a missing option, a bad value
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        err.print(f"error: {message}", markup=False, highlight=False)
        code = getattr(exc, "exit_code", 2)
    except SyncoxideError as exc:
        if debug:
            traceback.print_exc()
        err.print(f"error: {exc}", markup=False, highlight=False)
        code = 1
    except KeyboardInterrupt:
        err.print("error: interrupted")
        code = 130
    except Exception as exc:  # Temporal's refusals, and the last resort: still one line, traceback on --debug
        if debug:
            traceback.print_exc()
        if _is_rpc_error(exc):
            err.print(f"error: Temporal refused the request: {exc.message}", markup=False, highlight=False)
        else:
            detail = str(exc).splitlines()[0] if str(exc) else ""
            err.print(f"error: unexpected {type(exc).__name__}: {detail} (--debug shows more)", markup=False)
        code = 1
    _exit(code if isinstance(code, int) else 0)


def _is_rpc_error(exc: BaseException) -> bool:
    """An RPCError of Temporal's SDK, without importing the SDK for commands that never loaded it."""
    service = sys.modules.get("temporalio.service")
    return service is not None and isinstance(exc, service.RPCError)


def _exit(code: int) -> None:
    """Leave without interpreter finalization, which can crash while the Temporal client's Rust
    threads are still alive (temporalio/sdk-python#300): a finished backup must not exit -11."""
    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()
    os._exit(code)


if __name__ == "__main__":
    main()
