"""The catalog through the CLI and the workflows on the real stack: scan, search, versions, stats,
automatic ingestion after backups, and cleanups that never surprise (changed files skipped, undo,
a worker SIGKILLed in the middle of an apply)."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from syncoxide.contract.payloads import CleanupRequest, CleanupResult
from syncoxide.models import Engine, RunKind
from syncoxide.orchestration import client as temporal
from syncoxide.orchestration import schedules
from syncoxide.store import catalog as manifest
from syncoxide.store import cleanup as plans
from syncoxide.store import open_store
from tests.e2e.cli import syncoxide
from tests.e2e.conftest import make_repository, make_tree, wait_for_run
from tests.e2e.test_worker import start_worker

pytestmark = pytest.mark.e2e


def test_scan_search_and_stats_through_the_cli(stack, workdir):
    root = make_tree(workdir / "home")
    scanned = syncoxide(stack, "scan", str(root), "--json")
    assert scanned.code == 0, scanned.stderr
    assert (scanned.json["files"], scanned.json["errors"]) == (7, 0)
    listed = syncoxide(stack, "source", "list", "--json")
    source = next(s for s in listed.json if s["root"] == str(root))
    assert source["latest_scan"]["files"] == 7

    found = syncoxide(stack, "search", "report", "--source", source["name"], "--json")
    assert found.code == 0, found.stderr
    assert sorted(Path(h["path"]).name for h in found.json) == ["report-2025 (copy).pdf", "report-2025.pdf"]
    assert {h["location"] for h in found.json} == {"source"}
    by_ext = syncoxide(stack, "search", "--ext", "jpg", "--min-size", "10K", "--source", source["name"], "--json")
    assert sorted(Path(h["path"]).name for h in by_ext.json) == ["beach-again.jpg", "beach.jpg"]
    table = syncoxide(stack, "search", "beach", "--source", source["name"])
    assert table.code == 0 and table.stdout.count(f"source {source['name']}") == 2

    stats = syncoxide(stack, "stats", "--source", source["name"], "--json")
    assert stats.code == 0, stats.stderr
    assert stats.json["files"] == 7
    assert {b["label"]: b["files"] for b in stats.json["by_extension"]}["pdf"] == 2
    assert sum(b["files"] for b in stats.json["by_size"]) == 7
    assert stats.json["top_folders"][0]["path"] == str(root / "photos")


def test_search_through_the_worker_answers_as_the_cli_itself_does(stack, workdir):
    root = make_tree(workdir / "home")
    assert syncoxide(stack, "scan", str(root), "--json").code == 0
    socket = Path(stack.env["SYNCOXIDE_HOME"]) / "run" / "catalog.sock"
    assert socket.is_socket() and socket.stat().st_mode & 0o777 == 0o600
    query = ["search", "beach", "--source", str(root), "--type", "file", "--json"]
    quick = syncoxide(stack, *query)  # `python -m syncoxide`: through the worker's catalog service
    full = subprocess.run(
        [sys.executable, "-m", "syncoxide.cli", *query], env=stack.env, capture_output=True, text=True
    )
    assert quick.code == full.returncode == 0, quick.stderr + full.stderr
    assert quick.json == json.loads(full.stdout) and len(quick.json) == 2
    relative = subprocess.run(
        [sys.executable, "-m", "syncoxide", "search", "beach", "--source", "./home", "--json"],
        env=stack.env,
        capture_output=True,
        text=True,
        cwd=workdir,
    )
    assert relative.returncode == 0, relative.stderr
    assert json.loads(relative.stdout) == quick.json  # ./home is the caller's, not the worker's
    moved = syncoxide(
        stack,
        *query,
        env={
            "SYNCOXIDE_HOME": str(workdir / "no-worker-here"),
            "SYNCOXIDE_DATABASE_URL": stack.settings.database_url,
            "SYNCOXIDE_CATALOG_LOCATION": stack.settings.catalog_uri,
        },
    )
    assert moved.code == 0 and moved.json == quick.json  # no service on that data dir: the search runs in process


def test_scan_through_the_worker_answers_as_the_cli_itself_does(stack, workdir):
    root = make_tree(workdir / "scanned")
    relative = subprocess.run(
        [sys.executable, "-m", "syncoxide", "scan", "./scanned", "--json"],
        env=stack.env,
        capture_output=True,
        text=True,
        cwd=workdir,
    )
    assert relative.returncode == 0, relative.stderr  # ./scanned is the caller's folder, not the worker's
    quick = json.loads(relative.stdout)
    full = subprocess.run(
        [sys.executable, "-m", "syncoxide.cli", "scan", str(root), "--json"],
        env=stack.env,
        capture_output=True,
        text=True,
    )
    assert full.returncode == 0, full.stderr
    again = json.loads(full.stdout)
    assert quick.keys() == again.keys() and quick["source_id"] == again["source_id"]  # registered once
    assert (quick["files"], quick["dirs"], quick["errors"]) == (again["files"], again["dirs"], 0) == (7, 6, 0)
    assert quick["scan_id"] != again["scan_id"]
    text = syncoxide(stack, "scan", "scanned")
    assert text.code == 0 and text.stdout.startswith("scanned scanned: 7 files, 6 folders"), text.stdout


def test_ctrl_c_on_a_scan_through_the_worker_cancels_its_run(stack, workdir):
    root = workdir / "sparse"
    root.mkdir()
    with open(root / "disk.img", "wb") as image:
        image.truncate(256 * 2**30)  # holes: nothing on disk, minutes of hashing
    name = f"slow-{uuid.uuid4().hex[:6]}"
    assert syncoxide(stack, "source", "add", name, "--root", str(root), "--hash", "sha1").code == 0
    cli = subprocess.Popen(
        [sys.executable, "-m", "syncoxide", "scan", name, "--json"],
        env=stack.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    async def hashing_run() -> str:
        client = await temporal.connect(stack.settings)
        deadline, running = time.monotonic() + 60, "WorkflowType='CatalogScanWorkflow' AND ExecutionStatus='Running'"
        while time.monotonic() < deadline:
            async for execution in client.list_workflows(running):
                progress = await temporal.current_progress(client.get_workflow_handle(execution.id))
                if progress and progress.bytes_done > 0:
                    return execution.id
            await asyncio.sleep(0.3)
        raise AssertionError("no scan hashing within 60s")

    run_id = asyncio.run(hashing_run())
    cli.send_signal(signal.SIGINT)
    stdout, stderr = cli.communicate(timeout=120)
    assert cli.returncode == 1 and stdout == ""
    assert stderr.splitlines() == ["cancelling the scan...", f"error: run {run_id} was cancelled"]

    async def status():
        client = await temporal.connect(stack.settings)
        return (await client.get_workflow_handle(run_id).describe()).status

    assert asyncio.run(status()).name == "CANCELED"
    assert syncoxide(stack, "source", "list", "--json").json  # the worker is still there and answers


def test_bad_input_is_one_clear_line(stack, workdir):
    missing = syncoxide(stack, "scan", str(workdir / "no-such-dir"))
    assert missing.code == 1 and missing.error_lines == [
        f"error: source {workdir / 'no-such-dir'}: not a registered source nor a directory"
    ]
    bad = syncoxide(stack, "search", "--regex", "(unclosed")
    assert bad.code == 1 and len(bad.error_lines) == 1 and bad.error_lines[0].startswith("error: catalog query:")
    size = syncoxide(stack, "search", "--min-size", "lots")
    assert size.code == 1 and "size 'lots'" in size.error_lines[0]
    unknown = syncoxide(stack, "stats", "--source", "never-scanned")
    assert unknown.code == 1 and len(unknown.error_lines) == 1


@pytest.mark.parametrize("engine", [Engine.borg, Engine.restic])
def test_backups_are_ingested_on_their_own_then_searchable_with_versions(stack, workdir, engine):
    root = make_tree(workdir / "data")
    name = f"cat-{engine.value}-{uuid.uuid4().hex[:6]}"
    repository = make_repository(stack, engine, workdir / "repo", name)
    first = syncoxide(stack, "backup", "--repo", name, "--source", str(root), "--json")
    assert first.code == 0, first.stderr
    wait_for_run(stack, RunKind.catalog, repository.id, 1)
    (root / "docs" / "report-2025.pdf").write_bytes(b"%PDF report, revised " * 700)
    time.sleep(1.1)
    second = syncoxide(stack, "backup", "--repo", name, "--source", str(root), "--json")
    assert second.code == 0, second.stderr
    wait_for_run(stack, RunKind.catalog, repository.id, 2)

    found = syncoxide(stack, "search", "report-2025.pdf", "--repo", name, "--json")
    hit = next(h for h in found.json if h["path"] == str(root / "docs" / "report-2025.pdf"))
    assert hit["location"] == "repository" and hit["snapshots"] == 2
    assert hit["latest_snapshot"] == second.json["snapshot_id"]
    history = syncoxide(stack, "versions", str(root / "docs" / "report-2025.pdf"), "--repo", name, "--json")
    assert [v["state"] for v in history.json] == ["added", "changed"]
    assert [v["snapshot_id"] for v in history.json] == [first.json["snapshot_id"], second.json["snapshot_id"]]
    usage = syncoxide(stack, "stats", "--json")
    mine = next(u for u in usage.json if u["repository"] == name)
    assert mine["snapshots"] == 2 and mine["total_bytes"] > mine["stored_bytes"] > 0

    forget = syncoxide(stack, "forget", "--repo", name, "--keep-last", "1")
    assert forget.code == 0, forget.stderr
    wait_for_run(stack, RunKind.catalog, repository.id, 3)
    after = syncoxide(stack, "search", "report-2025.pdf", "--repo", name, "--json")
    assert [h["snapshots"] for h in after.json if h["path"] == hit["path"]] == [1]


def _plan(stack, root: Path, *extra: str) -> dict:
    name = f"clean-{uuid.uuid4().hex[:6]}"
    added = syncoxide(stack, "source", "add", name, "--root", str(root), "--hash", "xxh3")
    assert added.code == 0, added.stderr
    assert syncoxide(stack, "scan", name).code == 0
    planned = syncoxide(stack, "cleanup", "plan", "--source", name, "--empty-dirs", *extra, "--json")
    assert planned.code == 0, planned.stderr
    return planned.json


def test_cleanup_plan_apply_skips_what_changed_and_undo_puts_everything_back(stack, workdir):
    root = make_tree(workdir / "home")
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    plan = _plan(stack, root)
    reasons = {Path(i["path"]).name: i["reason"] for i in plan["items"]}
    assert reasons == {
        "report-2025 (copy).pdf": "duplicate",
        "beach-again.jpg": "duplicate",
        "draft.tmp": "junk",
        "main.cpython-311.pyc": "junk",
        "nothing-here": "empty folder",
    }
    assert plan["summary"]["duplicate"]["bytes"] == 6000 + 20000

    refused = syncoxide(stack, "cleanup", "apply", plan["id"])
    assert refused.code == 1 and "--yes" in refused.error_lines[0]
    assert all(Path(i["path"]).exists() for i in plan["items"])  # nothing touched without --yes

    (root / "docs" / "draft.tmp").write_text("not scratch any more: edited after planning")
    applied = syncoxide(stack, "cleanup", "apply", plan["id"], "--yes", "--json")
    assert applied.code == 0, applied.stderr
    assert applied.json["moved"] == 4
    assert [s for s in applied.json["skipped"] if "draft.tmp" in s and "changed" in s]
    assert (root / "docs" / "draft.tmp").exists() and not (root / "photos" / "beach-again.jpg").exists()
    trash = Path(plan["trash_dir"])
    assert (trash / str(root / "photos" / "beach-again.jpg").lstrip("/")).exists()
    assert (root / "photos" / "beach.jpg").exists() and (root / "docs" / "report-2025.pdf").exists()

    rescan = syncoxide(stack, "scan", str(root), "--json")
    assert rescan.code == 0 and rescan.json["files"] == 4  # the trash below the root is never scanned

    undone = syncoxide(stack, "cleanup", "undo", plan["id"], "--json")
    assert undone.code == 0, undone.stderr
    assert undone.json["moved"] == 4
    after = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    edited = root / "docs" / "draft.tmp"
    assert {p: b for p, b in after.items() if p != edited} == {p: b for p, b in before.items() if p != edited}
    assert (root / "nothing-here").is_dir() and not trash.exists()
    shown = syncoxide(stack, "cleanup", "show", plan["id"], "--json")
    assert shown.json["status"] == "undone"


def test_worker_killed_mid_apply_loses_nothing_and_the_plan_completes(stack, workdir):
    root = workdir / "junkyard"
    for folder in range(10):
        (root / f"f{folder}").mkdir(parents=True)
        for i in range(300):
            (root / f"f{folder}" / f"scratch-{i}.tmp").write_text(f"{folder}/{i}")
    (root / "keep.txt").write_text("precious")
    plan = _plan(stack, root)
    planned = [Path(i["path"]) for i in plan["items"]]
    assert len(planned) == 3000

    queue = f"cleanup-kill-{uuid.uuid4().hex[:8]}"
    settings = stack.settings.model_copy(update={"task_queue": queue})
    worker = start_worker(stack, queue, workdir / "ready-1")

    async def start() -> str:
        client = await temporal.connect(settings)
        handle = await temporal.start(client, settings, RunKind.cleanup, None, CleanupRequest(plan_id=plan["id"]))
        return handle.id

    run_id = asyncio.run(start())
    deadline = time.monotonic() + 60
    while True:
        with open_store(stack.settings) as conn:
            moved = len(plans.items(conn, plan["id"], ["trashed"]))
        if moved >= 100:
            break
        assert time.monotonic() < deadline, "the apply never got going"
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    with open_store(stack.settings) as conn:
        midway = len(plans.items(conn, plan["id"], ["trashed"]))
    assert midway < 3000, "the apply finished before the worker was killed"
    trash = Path(plan["trash_dir"])
    for path in planned:  # at every moment each file is in exactly one of its two places
        assert path.exists() != (trash / str(path).lstrip("/")).exists()

    replacement = start_worker(stack, queue, workdir / "ready-2")
    try:

        async def finish() -> CleanupResult:
            client = await temporal.connect(settings)
            return await asyncio.wait_for(temporal.wait(client.get_workflow_handle(run_id), CleanupResult), 300)

        asyncio.run(finish())
    finally:
        replacement.send_signal(signal.SIGTERM)
        replacement.wait(timeout=90)
    with open_store(stack.settings) as conn:
        assert plans.get(conn, plan["id"]).status == "applied"
        assert len(plans.items(conn, plan["id"], ["trashed"])) == 3000
        assert manifest.find_source(conn, str(root))
    assert all(not p.exists() and (trash / str(p).lstrip("/")).exists() for p in planned)
    assert (root / "keep.txt").read_text() == "precious"
    undone = syncoxide(stack, "cleanup", "undo", plan["id"], "--json")
    assert undone.code == 0 and undone.json["moved"] == 3000
    assert all(p.read_text() == f"{p.parent.name[1:]}/{p.stem.split('-')[1]}" for p in planned)


def test_a_source_scanned_on_a_schedule(stack, workdir):
    root = make_tree(workdir / "scheduled")
    name = f"sched-{uuid.uuid4().hex[:6]}"
    added = syncoxide(stack, "source", "add", name, "--root", str(root), "--every", "365d", "--json")
    assert added.code == 0, added.stderr
    source_id = added.json["id"]

    async def trigger_and_describe() -> bool:
        client = await temporal.connect(stack.settings)
        await schedules.trigger(client, schedules.scan_schedule_id(name))
        return (await schedules.describe(client, schedules.scan_schedule_id(name))).paused

    assert asyncio.run(trigger_and_describe()) is False
    deadline = time.monotonic() + 120
    while True:
        with open_store(stack.settings) as conn:
            scans = manifest.scan_rows(conn, [source_id])
        if scans:
            break
        assert time.monotonic() < deadline, "the scheduled scan never ran"
        time.sleep(0.5)
    assert scans[0]["files"] == 7
    both = syncoxide(stack, "source", "add", f"{name}-2", "--root", str(root), "--every", "1d", "--cron", "0 3 * * *")
    assert both.code == 1 and both.error_lines == ["error: give either --every or --cron, not both"]
    last_friday = syncoxide(stack, "source", "add", f"{name}-4", "--root", str(root), "--cron", "0 3 * * 5L")
    assert last_friday.code == 1 and last_friday.error_lines == [
        "error: --cron '0 3 * * 5L': L, W, # and ? are for sync pairs; a Temporal Schedule does not take them"
    ]
    unreachable = syncoxide(
        stack,
        "source",
        "add",
        f"{name}-3",
        "--root",
        str(root),
        "--every",
        "1d",
        env={"SYNCOXIDE_TEMPORAL_ADDRESS": "127.0.0.1:1"},
    )
    assert unreachable.code == 1 and "cannot reach Temporal" in unreachable.error_lines[0]
    listed = {s["name"] for s in syncoxide(stack, "source", "list", "--json").json}
    assert name in listed and not {f"{name}-3", f"{name}-4"} & listed  # nothing half-applied
    assert syncoxide(stack, "source", "remove", name).code == 0
    assert name not in {s["name"] for s in syncoxide(stack, "source", "list", "--json").json}
