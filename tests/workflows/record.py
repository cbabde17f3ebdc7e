"""Record the histories the replay test replays: real runs of every workflow on the real stack.

    .venv/bin/python -m tests.workflows.record              # every scenario (about a minute)
    .venv/bin/python -m tests.workflows.record -k sync      # some of them (pytest's -k)

Each scenario below is a pytest test that runs on the session stack of tests/conftest.py (the Temporal dev
server, the embedded PostgreSQL, the in-process worker with its real activities: borg, restic, the catalog,
the sync engine, apprise against a loopback HTTP server). It starts real workflows the way the CLI does
(``syncoxide.orchestration.client`` / ``sync_client``), waits for them to close, fetches each history, opens its
sealed payloads (tests/workflows/histories.py says why) and writes ``histories/<name>.json``, overwriting the
file of the same name. The continue-as-new scenario runs on a dev server of its own that suggests continuing
after a dozen events, with the worker's real workers (``workers.main.build_workers``).

pytest does not collect this file on its own (it is not named test_*.py): recording happens only when asked
for. After re-recording, run ``.venv/bin/pytest tests/workflows/test_replay.py`` and commit the histories with
the workflow change that made them necessary, saying why in the commit message: a history that no longer
replays means running workflows of the old code would fail on the new one, so re-record only for a change that
is meant to be incompatible (and plan how running workflows finish first: patching with ``workflow.patched``,
or letting them drain), never to make the test pass.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from syncoxide.contract import temporal as contract
from syncoxide.contract.payloads import (
    BackupRequest,
    CleanupRequest,
    HealthRequest,
    MaintenanceRequest,
    RestoreRequest,
    ScanRequest,
    SyncStatus,
)
from syncoxide.models import Engine, Hooks, Notify, Retention, RunKind
from syncoxide.orchestration import client as temporal
from syncoxide.orchestration import sync_client
from syncoxide.providers import ProviderSpec
from syncoxide.store import catalog, open_store, repositories
from syncoxide.sync.cadence import Cadence
from syncoxide.sync.models import Mode, SyncOptions, SyncRequest
from tests.conftest import free_port
from tests.e2e.cli import syncoxide
from tests.e2e.conftest import PASSPHRASE_ENV, make_repository, make_tree
from tests.workflows.conftest import temporal_binary
from tests.workflows.histories import HISTORIES, open_sealed, save
from workers.main import build_workers, executor_for

WAIT_S = 180


@pytest.fixture(scope="module", autouse=True)
def _passphrase() -> Iterator[None]:
    """The worker resolves the repositories' env: passphrase references in its own environment: ours."""
    os.environ[PASSPHRASE_ENV] = secrets.token_urlsafe(16)
    yield
    os.environ.pop(PASSPHRASE_ENV, None)


@pytest.fixture(scope="module")
def inbox() -> Iterator[tuple[str, list[dict]]]:
    """A loopback HTTP server apprise's json:// notifications reach; (its URL, what it received)."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"json://127.0.0.1:{server.server_address[1]}/", received
    server.shutdown()


async def keep(client: Client, workflow_id: str, name: str, scenario: str, run_id: str | None = None) -> None:
    """Write the closed workflow's history, its payloads opened, to histories/<name>.json."""
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    description = await handle.describe()
    assert description.status != WorkflowExecutionStatus.RUNNING, f"{workflow_id} is still running"
    history = await handle.fetch_history()
    for event in history.events:
        await open_sealed(event, client.data_converter.payload_codec)
    save(HISTORIES / f"{name}.json", history, scenario)


async def closed(handle: WorkflowHandle):
    """The workflow's result, or its failure as an exception value (the scenario decides which it expected)."""
    try:
        return await asyncio.wait_for(handle.result(), WAIT_S)
    except Exception as failure:  # noqa: BLE001 - recorded either way
        return failure


async def child_done(client: Client, parent_id: str) -> str:
    child = f"{parent_id}-catalog"
    await asyncio.wait_for(client.get_workflow_handle(child).result(), WAIT_S)
    return child


def test_restic_backups_restore_and_maintenance(stack, tmp_path, inbox):
    url, received = inbox
    root = make_tree(tmp_path / "data")
    repository = make_repository(stack, Engine.restic, tmp_path / "restic", f"rec-restic-{uuid.uuid4().hex[:6]}")

    async def run():
        client = await temporal.connect(stack.settings)
        request = BackupRequest(repository_id=repository.id, sources=[str(root)], policy_id="rec-nightly")
        plain = await temporal.start(
            client, stack.settings, RunKind.backup, repository, request, policy_id="rec-nightly"
        )
        first = await closed(plain)
        await keep(client, plain.id, "backup-restic", "a restic backup of a local tree for a policy, nothing around it")
        await keep(
            client,
            await child_done(client, plain.id),
            "catalog-ingest",
            "the catalog ingestion that backup-restic started as an abandoned child",
        )

        (root / "docs" / "notes.md").write_text("new notes\n")
        request = BackupRequest(
            repository_id=repository.id,
            sources=[str(root)],
            policy_id="rec-nightly",
            hooks=Hooks(before=["true"], after=["echo done"], timeout_s=30),
            retention=Retention(keep_last=1),
            notify=Notify(urls=[url], events=["success"]),
        )
        full = await temporal.start(
            client, stack.settings, RunKind.backup, repository, request, policy_id="rec-nightly"
        )
        second = await closed(full)
        assert second.retention is not None and second.retention.deleted == [first.snapshot_id], second
        await keep(
            client,
            full.id,
            "backup-restic-hooks-notify-retention",
            "a restic backup with before/after hooks, a success notification, and the policy's own retention"
            " (keep last 1 of its own snapshots) deleting the earlier one",
        )
        await child_done(client, full.id)

        restore = await temporal.start(
            client,
            stack.settings,
            RunKind.restore,
            repository,
            RestoreRequest(
                repository_id=repository.id,
                snapshot_id=second.snapshot_id,
                target=str(tmp_path / "restored"),
                paths=[str(root / "docs")],
            ),
        )
        restored = await closed(restore)
        assert restored.verified > 0, restored
        await keep(client, restore.id, "restore-restic", "a restore of one folder of a restic snapshot, verified")

        maintenance = await temporal.start(
            client,
            stack.settings,
            "maintenance",
            repository,
            MaintenanceRequest(repository_id=repository.id, retention=Retention(keep_last=1), check="metadata"),
        )
        result = await closed(maintenance)
        assert result.check is not None and result.check.ok, result
        await keep(
            client,
            maintenance.id,
            "maintenance-retention-check",
            "maintenance of a restic repository: retention (keep last 1, nothing to delete), compact, then a"
            " metadata check; the catalog ingestion it starts",
        )
        await child_done(client, maintenance.id)

    asyncio.run(run())
    assert [r for r in received if "succeeded" in r.get("title", "")], received


def test_borg_backups_failure_and_check(stack, tmp_path, inbox):
    url, received = inbox
    root = make_tree(tmp_path / "data")
    repository = make_repository(stack, Engine.borg, tmp_path / "borg", f"rec-borg-{uuid.uuid4().hex[:6]}")
    with open_store(stack.settings) as conn:
        repositories.set_retention(conn, repository.id, Retention(keep_last=1))
        repository = repositories.get(conn, repository.id)

    async def run():
        client = await temporal.connect(stack.settings)
        for _ in range(2):
            backup = await temporal.start(
                client,
                stack.settings,
                RunKind.backup,
                repository,
                BackupRequest(repository_id=repository.id, sources=[str(root)]),
            )
            result = await closed(backup)
            await child_done(client, backup.id)
        assert result.retention is not None and len(result.retention.deleted) == 1, result
        await keep(
            client,
            backup.id,
            "backup-borg-repository-retention",
            "a borg backup followed by the repository's own retention (keep last 1) deleting the earlier one",
        )

        request = BackupRequest(
            repository_id=repository.id,
            sources=[str(tmp_path / "no-such-folder")],
            hooks=Hooks(on_failure=["echo failed"]),
            notify=Notify(urls=[url]),
        )
        failed = await temporal.start(client, stack.settings, RunKind.backup, repository, request)
        failure = await closed(failed)
        assert isinstance(failure, Exception), failure
        await keep(
            client,
            failed.id,
            "backup-borg-failed",
            "a borg backup of a folder that does not exist: recorded failed, the on_failure hook, the failure"
            " notification, the workflow failed",
        )

        check = await temporal.start(
            client,
            stack.settings,
            "maintenance",
            repository,
            MaintenanceRequest(repository_id=repository.id, apply_retention=False, check="data"),
        )
        result = await closed(check)
        assert result.check is not None and result.check.ok and result.retention is None, result
        await keep(client, check.id, "maintenance-borg-check-data", "a data check of a borg repository alone")

    asyncio.run(run())
    assert [r for r in received if "failed" in r.get("title", "")], received


def test_scan_and_cleanup(stack, tmp_path):
    root = make_tree(tmp_path / "home")
    name = f"rec-src-{uuid.uuid4().hex[:6]}"
    with open_store(stack.settings) as conn:
        source = catalog.add_source(conn, name=name, root=str(root), excludes=[], hashes=["xxh3"])

    async def run(request, kind: RunKind):
        client = await temporal.connect(stack.settings)
        handle = await temporal.start(client, stack.settings, kind, None, request, source_id=source.id)
        return client, handle, await closed(handle)

    async def scan():
        client, handle, summary = await run(ScanRequest(source_id=source.id), RunKind.scan)
        assert summary.files == 7 and summary.errors == 0, summary
        await keep(client, handle.id, "catalog-scan", "a scan of a small local tree with xxh3 hashes")

    asyncio.run(scan())
    planned = syncoxide(stack, "cleanup", "plan", "--source", name, "--empty-dirs", "--json")
    assert planned.code == 0, planned.stderr
    plan_id = planned.json["id"]

    async def cleanup():
        client, handle, result = await run(CleanupRequest(plan_id=plan_id), RunKind.cleanup)
        assert result.moved == 5, result
        await keep(client, handle.id, "cleanup-apply", "a cleanup plan (duplicates, junk, an empty folder) applied")
        client, handle, result = await run(CleanupRequest(plan_id=plan_id, action="undo"), RunKind.cleanup)
        assert result.moved == 5, result
        await keep(client, handle.id, "cleanup-undo", "the same plan undone")

    asyncio.run(cleanup())


def test_health(stack):
    async def run():
        client = await temporal.connect(stack.settings)
        handle = await client.start_workflow(
            contract.HEALTH.name,
            HealthRequest(),
            id=temporal.new_run_id("health"),
            task_queue=stack.settings.task_queue,
            result_type=contract.HEALTH.result,
        )
        told = await closed(handle)
        assert isinstance(told, list), told
        await keep(client, handle.id, "health", "the health run: late policies looked for (none here)")

    asyncio.run(run())


def pair(src: Path, dst: Path, mode: Mode = Mode.sync, **options) -> SyncRequest:
    return SyncRequest(
        source=ProviderSpec(kind="local", location=str(src)),
        destination=ProviderSpec(kind="local", location=str(dst)),
        mode=mode,
        pair=f"rec-{uuid.uuid4().hex[:8]}",
        options=SyncOptions(**options),
    )


def tree(root: Path) -> Path:
    (root / "d").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"alpha")
    (root / "d" / "b.txt").write_bytes(b"bravo")
    return root


async def until(handle: WorkflowHandle, predicate, what: str, timeout: float = 60) -> SyncStatus:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        status = await handle.query(contract.SYNC_STATUS.name, result_type=SyncStatus)
        if predicate(status):
            return status
        assert asyncio.get_running_loop().time() < deadline, f"{what}: {status}"
        await asyncio.sleep(0.1)


async def cancelled(handle: WorkflowHandle) -> None:
    await handle.cancel()
    await closed(handle)
    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED


def test_sync_once(stack, tmp_path):
    async def run():
        client = await temporal.connect(stack.settings)
        workflow_id = await sync_client.start(client, stack.settings, pair(tree(tmp_path / "src"), tmp_path / "dst"))
        summary = await closed(client.get_workflow_handle(workflow_id, result_type=contract.SYNC.result))
        assert summary.transferred_files == 2, summary
        await keep(client, workflow_id, "sync-once", "a one-shot sync between two local folders")

    asyncio.run(run())


def test_sync_continuous_with_signals(stack, tmp_path):
    src, dst = tree(tmp_path / "src"), tmp_path / "dst"
    dst.mkdir()

    async def run():
        client = await temporal.connect(stack.settings)
        request = pair(src, dst, Mode.bisync, resync=True)
        workflow_id = await sync_client.start(client, stack.settings, request, Cadence(interval_s=3600))
        handle = client.get_workflow_handle(workflow_id)
        await until(handle, lambda s: s.runs == 1 and s.phase == "waiting", "the first pass")
        await handle.signal(contract.SYNC_PAUSE.name)
        await until(handle, lambda s: s.paused, "paused")
        await handle.signal(contract.SYNC_RESUME.name)
        await until(handle, lambda s: not s.paused, "resumed")
        await handle.signal(contract.SYNC_PAUSE.name)
        (src / "new.txt").write_bytes(b"new")
        await handle.signal(contract.SYNC_RUN_NOW.name)
        second = await until(handle, lambda s: s.runs == 2 and s.phase == "waiting", "a pass on run-now")
        assert second.last is not None and second.last.transferred_files == 1 and not second.paused, second
        await cancelled(handle)
        await keep(
            client,
            workflow_id,
            "sync-continuous-signals",
            "a continuous bisync pair (resync on its first pass, every hour): pause, resume, pause, run-now"
            " (a second pass, resync off), status queries, then cancelled",
        )

    asyncio.run(run())


def test_sync_continuous_with_a_failing_pass(stack, tmp_path):
    src, dst = tree(tmp_path / "src"), tmp_path / "dst"

    async def run():
        client = await temporal.connect(stack.settings)
        workflow_id = await sync_client.start(client, stack.settings, pair(src, dst), Cadence(interval_s=1))
        handle = client.get_workflow_handle(workflow_id)
        first = await until(handle, lambda s: s.runs >= 1, "the first pass")
        moved = tmp_path / "away"
        shutil.move(src, moved)
        src.mkdir()  # an empty source: the guard refuses to empty the destination
        failed = await until(handle, lambda s: s.error is not None, "a failed pass")
        assert "lists no files" in failed.error, failed
        src.rmdir()
        shutil.move(moved, src)
        await until(handle, lambda s: s.error is None and s.runs > failed.runs, "a good pass again")
        await cancelled(handle)
        assert first.last is not None
        await keep(
            client,
            workflow_id,
            "sync-continuous-failing-pass",
            "a continuous sync pair every second whose source is emptied (a pass refused by the guard: the"
            " pair keeps going with the error in its status) and filled again (the error cleared)",
        )

    asyncio.run(run())


def test_sync_continue_as_new(stack, tmp_path):
    """On a dev server of its own that suggests continuing as new after a dozen events, with the worker's real
    workers on it: the chain's first run (ends continuing as new), its second, and its last (cancelled)."""
    src, dst = tree(tmp_path / "src"), tmp_path / "dst"

    async def run():
        converter = temporal.data_converter(stack.settings)
        async with await WorkflowEnvironment.start_local(
            dev_server_existing_path=temporal_binary(),
            data_converter=converter,
            port=free_port(),
            search_attributes=temporal.SEARCH_ATTRIBUTES,
            dev_server_startup_timeout=timedelta(seconds=60),
            dev_server_extra_args=["--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=12"],
        ) as env:
            settings = stack.settings.model_copy(
                update={"temporal_address": env.client.service_client.config.target_host}
            )
            client = await temporal.connect(settings, worker=True)
            with executor_for(settings) as executor:
                workers = build_workers(client, settings, executor)
                running = [asyncio.ensure_future(w.run()) for w in workers]
                try:
                    await chain(client, settings)
                finally:
                    await asyncio.gather(*(w.shutdown() for w in workers))
                    await asyncio.gather(*running, return_exceptions=True)

    async def chain(client: Client, settings) -> None:
        workflow_id = await sync_client.start(client, settings, pair(src, dst), Cadence(interval_s=1))
        handle = client.get_workflow_handle(workflow_id)
        await until(handle, lambda s: s.runs >= 3, "three passes")
        await handle.signal(contract.SYNC_PAUSE.name)
        paused = await until(handle, lambda s: s.phase == "paused", "paused")
        await handle.signal(contract.SYNC_RUN_NOW.name)
        await until(handle, lambda s: s.runs == paused.runs + 1, "a pass on run-now")
        await cancelled(handle)
        runs = [r async for r in client.list_workflows(f"WorkflowId = '{workflow_id}'")]
        runs.sort(key=lambda r: r.start_time)
        assert len(runs) >= 3 and runs[0].status == WorkflowExecutionStatus.CONTINUED_AS_NEW, runs
        for label, found in (("first", runs[0]), ("second", runs[1]), ("last", runs[-1])):
            await keep(
                client,
                workflow_id,
                f"sync-continue-as-new-{label}",
                f"the {label} run of a continuous sync pair (every second) that continues as new after a pass"
                " or two: pause, run-now, cancel on the last",
                run_id=found.run_id,
            )

    asyncio.run(run())


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-p", "no:cacheprovider", "-q", *sys.argv[1:]]))
