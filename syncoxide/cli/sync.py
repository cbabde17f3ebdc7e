"""`syncoxide sync run|start|stop|pause|resume|now|status|check`: sync pairs from the command line.

A side is written like rclone's: a local path (``/data`` or ``local:/data``), ``sftp://user@host:port/path``,
``s3://bucket/prefix``, ``webdav:https://host/path``, ``rclone:remote:path``, or ``@spec.json`` (a file
holding a provider spec: kind, location, options, secret references). Options and secret references
for a side: ``--src-opt key=value``, ``--dst-opt key=value``, ``--src-secret name=env:VAR``,
``--dst-secret name=file:PATH``. Sides and options are parsed by syncoxide/sync/inputs.py, as in policy files.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer
from rich.table import Table

from syncoxide.cli.common import JsonOpt, emit_json, err, out, settings
from syncoxide.errors import InvalidInput
from syncoxide.fs.names import shown
from syncoxide.providers.spec import ProviderSpec
from syncoxide.sync import inputs
from syncoxide.sync.models import ConflictLoser, ConflictPolicy, Mode, SyncOptions, SyncRequest

app = typer.Typer(help="Copy, sync, move and two-way sync between storage providers.", no_args_is_help=True)


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    found = {}
    for value in values or []:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise InvalidInput(f"{what} {value!r} must look like name=value")
        found[key] = val
    return found


def _option_value(text: str) -> str | int | float | bool:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_side(text: str, opts: list[str] | None = None, secrets: list[str] | None = None) -> ProviderSpec:
    """A side as written on the command line, with ``key=value`` options and ``name=REF`` secrets."""
    options = {k: _option_value(v) for k, v in _pairs(opts, "option").items()}
    return inputs.parse_side(text, options, _pairs(secrets, "secret"))


def _request(
    src: str,
    dst: str,
    mode: Mode,
    pair: str | None,
    src_opt: list[str] | None,
    dst_opt: list[str] | None,
    src_secret: list[str] | None,
    dst_secret: list[str] | None,
    options: SyncOptions,
) -> SyncRequest:
    return inputs.build_request(
        parse_side(src, src_opt, src_secret), parse_side(dst, dst_opt, dst_secret), mode, pair, options
    )


SrcOpt = Annotated[list[str] | None, typer.Option("--src-opt", help="source option key=value")]
DstOpt = Annotated[list[str] | None, typer.Option("--dst-opt", help="destination option key=value")]
SrcSecret = Annotated[list[str] | None, typer.Option("--src-secret", help="source secret name=REF")]
DstSecret = Annotated[list[str] | None, typer.Option("--dst-secret", help="destination secret name=REF")]
ModeOpt = Annotated[Mode, typer.Option("--mode", help="copy (never deletes), sync, move or bisync")]
PairOpt = Annotated[str | None, typer.Option("--pair", help="a name for this pair (its state and journal)")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="print the plan, change nothing")]
Checksum = Annotated[bool, typer.Option("--checksum", help="compare by hash, not size and modification time")]
Resync = Annotated[bool, typer.Option("--resync", help="bisync: make the baseline (required on the first run)")]
Conflict = Annotated[ConflictPolicy, typer.Option("--conflict", help="bisync conflicts: which version keeps the name")]
Loser = Annotated[
    ConflictLoser,
    typer.Option(
        "--conflict-loser", help="bisync: keep the losing version (a conflict copy, or in --backup-dir) or discard it"
    ),
]
MaxDel = Annotated[str, typer.Option("--max-delete", help="stop before deleting more than N files or P%, or none")]
Transfers = Annotated[int, typer.Option("--transfers", min=1, max=64, help="files at once")]
BwLimit = Annotated[str | None, typer.Option("--bwlimit", help="bytes per second, e.g. 10M")]
Include = Annotated[list[str] | None, typer.Option("--include", help="only files matching this glob")]
Exclude = Annotated[list[str] | None, typer.Option("--exclude", help="skip files and directories matching")]
IncludeFrom = Annotated[
    list[str] | None, typer.Option("--include-from", help="--include globs from a file, one per line (# comments)")
]
ExcludeFrom = Annotated[
    list[str] | None, typer.Option("--exclude-from", help="--exclude globs from a file, one per line (# comments)")
]
MinSize = Annotated[str | None, typer.Option("--min-size")]
MaxSize = Annotated[str | None, typer.Option("--max-size")]
MinAge = Annotated[str | None, typer.Option("--min-age", help="only files older than this, e.g. 1h")]
MaxAge = Annotated[str | None, typer.Option("--max-age", help="only files younger than this, e.g. 30d")]
BackupDirOpt = Annotated[
    str | None,
    typer.Option(
        "--backup-dir",
        help="move what would be deleted or replaced into this folder at the root of the side it "
        "changes (under the run's time), e.g. .versions",
    ),
]
LinksOpt = Annotated[
    bool,
    typer.Option(
        "--links", help="local sides: sync symlinks as symlinks (NAME.rclonelink files on sides without them)"
    ),
]
CopyLinks = Annotated[
    bool, typer.Option("--copy-links", help="local sides: follow symlinks and sync what they point to")
]
MetadataOpt = Annotated[
    bool, typer.Option("--metadata", help="also keep owners (as root), user.* extended attributes and folder times")
]
BackupKeep = Annotated[
    str | None,
    typer.Option("--backup-keep", help="after the run, remove --backup-dir's run folders older than this, e.g. 30d"),
]


def _globs(given: list[str] | None, files: list[str] | None, option: str) -> list[str]:
    return [*(given or []), *(glob for path in files or [] for glob in inputs.patterns_from(option, path))]


def _summary_lines(data: dict[str, Any]) -> list[str]:
    plan = data["plan"]
    counts = ", ".join(f"{n} {k}" for k, n in sorted(_counts(plan).items())) or "nothing to do"
    lines = []
    if data.get("resumes"):
        lines.append(
            f"resuming an interrupted run of pair {data['pair']} ({data['reconciled']} unfinished actions "
            "in its journal)"
        )
    lines.append(f"{data['mode']} {plan['source']} -> {plan['destination']}: {counts} ({plan['unchanged']} unchanged)")
    lines += [f"conflict: {shown(c)}" for c in plan["conflicts"]]
    lines += [f"skipped: {shown(c)}" for c in plan["skipped"]]
    return lines


def _counts(plan: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for action in plan["actions"]:
        counts[action["kind"]] = counts.get(action["kind"], 0) + 1
    return counts


@app.command("run")
def run_command(
    src: Annotated[str, typer.Argument(help="source (path1 for bisync)")],
    dst: Annotated[str, typer.Argument(help="destination (path2 for bisync)")],
    mode: ModeOpt = Mode.copy,
    pair: PairOpt = None,
    dry_run: DryRun = False,
    checksum: Checksum = False,
    resync: Resync = False,
    conflict: Conflict = ConflictPolicy.newer,
    conflict_loser: Loser = ConflictLoser.keep,
    max_delete: MaxDel = "50%",
    transfers: Transfers = 4,
    bwlimit: BwLimit = None,
    include: Include = None,
    exclude: Exclude = None,
    include_from: IncludeFrom = None,
    exclude_from: ExcludeFrom = None,
    min_size: MinSize = None,
    max_size: MaxSize = None,
    min_age: MinAge = None,
    max_age: MaxAge = None,
    backup_dir: BackupDirOpt = None,
    backup_keep: BackupKeep = None,
    links: LinksOpt = False,
    copy_links: CopyLinks = False,
    metadata: MetadataOpt = False,
    src_opt: SrcOpt = None,
    dst_opt: DstOpt = None,
    src_secret: SrcSecret = None,
    dst_secret: DstSecret = None,
    as_json: JsonOpt = False,
) -> None:
    """Run once, here and now (no worker needed); --dry-run prints the plan."""
    from syncoxide.cli import sync_progress as watched
    from syncoxide.sync import runner

    opts = inputs.sync_options(
        dry_run=dry_run,
        checksum=checksum,
        resync=resync,
        conflict=conflict,
        conflict_loser=conflict_loser,
        max_delete=max_delete,
        transfers=transfers,
        bwlimit=bwlimit,
        include=_globs(include, include_from, "--include-from"),
        exclude=_globs(exclude, exclude_from, "--exclude-from"),
        min_size=min_size,
        max_size=max_size,
        min_age=min_age,
        max_age=max_age,
        backup_dir=backup_dir,
        backup_keep=backup_keep,
        links=links,
        copy_links=copy_links,
        metadata=metadata,
    )
    request = _request(src, dst, mode, pair, src_opt, dst_opt, src_secret, dst_secret, opts)
    if err.is_terminal and not as_json and not dry_run:
        result = watched.run_with_progress(settings(), request, err)
    else:
        result = runner.run_sync(settings(), request)
    data = result.model_dump(mode="json")
    if as_json:
        emit_json(data)
    else:
        for line in _summary_lines(data):
            out.print(line, markup=False, highlight=False)
        if dry_run and backup_dir:
            out.print(
                f"what is deleted or replaced is moved to {opts.backup_dir}/<the run's time>",
                markup=False,
                highlight=False,
            )
        if dry_run:
            for action in data["plan"]["actions"]:
                target = f" -> {action['target']}" if action["target"] else ""
                target = f" -> {shown(action['target'])}" if action["target"] else ""
                out.print(
                    f"  {action['kind']:13} {action['side']} {shown(action['path'])}{target}  {action['reason']}",
                    markup=False,
                    highlight=False,
                )
        else:
            kept = f" ({result.backed_up} old files kept in {opts.backup_dir})" if result.backed_up else ""
            if result.backups_pruned:
                kept += f", {result.backups_pruned} old run folders pruned"
            for warning in result.warnings:
                err.print(f"warning: {shown(warning)}", markup=False, highlight=False)
            out.print(
                f"{result.transferred_files} files ({result.transferred_bytes} bytes) sent, {result.deleted} "
                f"deleted{kept}, {result.resumed_bytes} bytes resumed, in {result.seconds:.1f} s "
                f"(run {result.run_id})",
                markup=False,
                highlight=False,
            )
    runner.raise_for_errors(result)


@app.command("start")
def start_command(
    src: Annotated[str, typer.Argument()],
    dst: Annotated[str, typer.Argument()],
    mode: ModeOpt = Mode.copy,
    pair: PairOpt = None,
    every: Annotated[
        str | None, typer.Option("--every", help="continuous: run again this long after each run (e.g. 15min, 1h)")
    ] = None,
    cron: Annotated[
        str | None, typer.Option("--cron", help='continuous: run at the times of a cron expression (e.g. "0 3 * * *")')
    ] = None,
    time_zone: Annotated[str | None, typer.Option("--time-zone", help="the time zone of --cron (default UTC)")] = None,
    checksum: Checksum = False,
    resync: Resync = False,
    conflict: Conflict = ConflictPolicy.newer,
    conflict_loser: Loser = ConflictLoser.keep,
    max_delete: MaxDel = "50%",
    transfers: Transfers = 4,
    bwlimit: BwLimit = None,
    include: Include = None,
    exclude: Exclude = None,
    include_from: IncludeFrom = None,
    exclude_from: ExcludeFrom = None,
    min_size: MinSize = None,
    max_size: MaxSize = None,
    min_age: MinAge = None,
    max_age: MaxAge = None,
    backup_dir: BackupDirOpt = None,
    backup_keep: BackupKeep = None,
    links: LinksOpt = False,
    copy_links: CopyLinks = False,
    metadata: MetadataOpt = False,
    src_opt: SrcOpt = None,
    dst_opt: DstOpt = None,
    src_secret: SrcSecret = None,
    dst_secret: DstSecret = None,
    as_json: JsonOpt = False,
) -> None:
    """Start a SyncWorkflow on the worker: once, or continuously with --every or --cron."""
    opts = inputs.sync_options(
        checksum=checksum,
        resync=resync,
        conflict=conflict,
        conflict_loser=conflict_loser,
        max_delete=max_delete,
        transfers=transfers,
        bwlimit=bwlimit,
        include=_globs(include, include_from, "--include-from"),
        exclude=_globs(exclude, exclude_from, "--exclude-from"),
        min_size=min_size,
        max_size=max_size,
        min_age=min_age,
        max_age=max_age,
        backup_dir=backup_dir,
        backup_keep=backup_keep,
        links=links,
        copy_links=copy_links,
        metadata=metadata,
    )
    request = _request(src, dst, mode, pair, src_opt, dst_opt, src_secret, dst_secret, opts)
    cadence = inputs.cadence(every, cron, time_zone)
    cfg = settings()

    async def go() -> str:
        from syncoxide.orchestration import client as temporal
        from syncoxide.orchestration import sync_client

        return await sync_client.start(await temporal.connect(cfg), cfg, request, cadence)

    started = asyncio.run(go())
    if as_json:
        emit_json({"workflow_id": started, "schedule": cadence.describe()})
    else:
        out.print(f"started {started} ({cadence.describe()})", markup=False, highlight=False)


def _signal(workflow_id: str, name: str) -> None:
    cfg = settings()

    async def go() -> None:
        from syncoxide.orchestration import client as temporal
        from syncoxide.orchestration import sync_client

        await sync_client.signal(await temporal.connect(cfg), workflow_id, name)

    asyncio.run(go())
    out.print(f"{name}: sent to {workflow_id}", markup=False, highlight=False)


@app.command("pause")
def pause_command(workflow_id: Annotated[str, typer.Argument(help="sync-<pair>")]) -> None:
    """Pause a continuous sync after its current pass."""
    _signal(workflow_id, "pause")


@app.command("resume")
def resume_command(workflow_id: Annotated[str, typer.Argument()]) -> None:
    """Resume a paused sync."""
    _signal(workflow_id, "resume")


@app.command("now")
def now_command(workflow_id: Annotated[str, typer.Argument()]) -> None:
    """Run a pass now: a running sync's next pass, or one more pass of a sync that has ended."""
    cfg = settings()

    async def go() -> bool:
        from syncoxide.orchestration import client as temporal
        from syncoxide.orchestration import sync_client

        return await sync_client.run_now(await temporal.connect(cfg), cfg, workflow_id)

    if asyncio.run(go()):
        out.print(f"run-now: sent to {workflow_id}", markup=False, highlight=False)
    else:
        out.print(f"started one more pass of {workflow_id} (its workflow had ended)", markup=False, highlight=False)


@app.command("stop")
def stop_command(workflow_id: Annotated[str, typer.Argument()]) -> None:
    """Stop a sync workflow: a running pass stops between chunks (the next start resumes it)."""
    cfg = settings()

    async def go() -> None:
        from syncoxide.orchestration import client as temporal
        from syncoxide.orchestration import sync_client

        await sync_client.stop(await temporal.connect(cfg), workflow_id)

    asyncio.run(go())
    out.print(f"stopped {workflow_id}", markup=False, highlight=False)


@app.command("status")
def status_command(
    workflow_id: Annotated[str | None, typer.Argument(help="a SyncWorkflow's id; without it: recent runs")] = None,
    as_json: JsonOpt = False,
) -> None:
    """A workflow's phase and last pass, or the recent sync runs recorded in PostgreSQL."""
    cfg = settings()
    if workflow_id:
        from syncoxide.contract.payloads import SyncStatus

        async def go() -> SyncStatus:
            from syncoxide.orchestration import client as temporal
            from syncoxide.orchestration import sync_client

            return await sync_client.status(await temporal.connect(cfg), workflow_id)

        data = asyncio.run(go()).model_dump(mode="json")
        if as_json:
            emit_json(data)
        else:
            out.print(json.dumps(data, indent=2), markup=False, highlight=False)
        return
    from syncoxide.store import open_store
    from syncoxide.store import sync as store

    with open_store(cfg) as conn:
        runs = store.recent_runs(conn)
    if as_json:
        emit_json(runs)
        return
    table = Table("run", "pair", "mode", "status", "started", "summary", "error")
    for run in runs:
        table.add_row(
            run["id"],
            run["pair_id"],
            run["mode"],
            run["status"],
            f"{run['started_at']:%Y-%m-%d %H:%M:%S}",
            json.dumps(run["summary"]),
            (run["error"] or "")[:80],
        )
    out.print(table)


@app.command("check")
def check_command(
    src: Annotated[str, typer.Argument()],
    dst: Annotated[str, typer.Argument()],
    include: Include = None,
    exclude: Exclude = None,
    include_from: IncludeFrom = None,
    exclude_from: ExcludeFrom = None,
    backup_dir: Annotated[
        str | None, typer.Option("--backup-dir", help="the sync's backup folder, left out of the comparison")
    ] = None,
    src_opt: SrcOpt = None,
    dst_opt: DstOpt = None,
    src_secret: SrcSecret = None,
    dst_secret: DstSecret = None,
    as_json: JsonOpt = False,
) -> None:
    """Compare both sides by hash and list the differences (exit 1 if there are any)."""
    from syncoxide.sync import check as checker

    options = inputs.sync_options(
        include=_globs(include, include_from, "--include-from"),
        exclude=_globs(exclude, exclude_from, "--exclude-from"),
        backup_dir=backup_dir,
    )
    report = checker.check(
        settings(),
        parse_side(src, src_opt, src_secret),
        parse_side(dst, dst_opt, dst_secret),
        options.filters,
        backup_dir=options.backup_dir,
    )
    if as_json:
        emit_json(report.model_dump(mode="json"))
    else:
        for label, items in (
            ("differ", report.differ),
            ("only at source", report.only_source),
            ("only at destination", report.only_destination),
            ("error", report.errors),
        ):
            for item in items:
                out.print(f"{label}: {item}", markup=False, highlight=False)
        out.print(
            f"{report.matching} matching, {len(report.differ)} differ, {len(report.only_source)} only at "
            f"source, {len(report.only_destination)} only at destination",
            markup=False,
            highlight=False,
        )
    if not report.clean:
        raise typer.Exit(1)
