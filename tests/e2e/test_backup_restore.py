"""Back up a generated tree through BackupWorkflow, restore it through RestoreWorkflow, compare exactly."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from syncoxide.contract.payloads import BackupRequest, BackupResult, RestoreRequest, RestoreResult
from syncoxide.models import Engine, RunKind, RunStatus
from syncoxide.orchestration import client as temporal
from syncoxide.store import open_store, runs
from tests.e2e.conftest import make_repository
from tests.trees import compare_trees, make_tree

pytestmark = pytest.mark.e2e


def run_backup(stack, repository, request: BackupRequest) -> BackupResult:
    async def go() -> BackupResult:
        client = await temporal.connect(stack.settings)
        handle = await temporal.start(client, stack.settings, RunKind.backup, repository, request)
        return await temporal.wait(handle, BackupResult)

    return asyncio.run(go())


def run_restore(stack, repository, request: RestoreRequest) -> RestoreResult:
    async def go() -> RestoreResult:
        client = await temporal.connect(stack.settings)
        handle = await temporal.start(client, stack.settings, RunKind.restore, repository, request)
        return await temporal.wait(handle, RestoreResult)

    return asyncio.run(go())


def list_workflow_ids(stack, query: str) -> list[str]:
    async def go() -> list[str]:
        client = await temporal.connect(stack.settings)
        return [w.id async for w in client.list_workflows(query)]

    return asyncio.run(go())


@pytest.fixture(scope="module")
def source_tree(tmp_path_factory) -> Path:
    return make_tree(tmp_path_factory.mktemp("src") / "tree")


@pytest.mark.parametrize("engine", [Engine.borg, Engine.restic])
def test_backup_restore_round_trip(stack, workdir, source_tree, engine):
    repository = make_repository(stack, engine, workdir / f"repo-{engine}", f"e2e-{engine}")
    first = run_backup(stack, repository, BackupRequest(repository_id=repository.id, sources=[str(source_tree)]))
    assert first.stats.files >= 2007  # regular files: 2000 small + 7 named
    assert first.stats.bytes >= 50 * 1024 * 1024

    with open_store(stack.settings) as conn:
        row = runs.get(conn, first.run_id)
    assert row.status == RunStatus.succeeded
    assert row.snapshot_id == first.snapshot_id
    assert row.files == first.stats.files and row.bytes == first.stats.bytes
    assert row.finished_at is not None

    found = list_workflow_ids(stack, f"RunKind='backup' AND RepositoryId='{repository.id}' AND Engine='{engine.value}'")
    assert first.run_id in found

    target = workdir / "restored"
    restored = run_restore(
        stack,
        repository,
        RestoreRequest(repository_id=repository.id, snapshot_id=first.snapshot_id, target=str(target)),
    )
    assert restored.files == 2007
    assert restored.verified >= restored.files
    assert compare_trees(source_tree, target / str(source_tree).lstrip("/")) == []

    one = source_tree / "naïve café ünïcödé" / "日本語 ファイル.txt"
    single_target = workdir / "single"
    single = run_restore(
        stack,
        repository,
        RestoreRequest(
            repository_id=repository.id, snapshot_id=first.snapshot_id, target=str(single_target), paths=[str(one)]
        ),
    )
    assert single.files == 1
    restored_one = single_target / str(one).lstrip("/")
    assert restored_one.read_bytes() == one.read_bytes()
    assert not (single_target / str(source_tree / "big.random").lstrip("/")).exists()

    second = run_backup(stack, repository, BackupRequest(repository_id=repository.id, sources=[str(source_tree)]))
    assert second.snapshot_id != first.snapshot_id
    assert second.stats.bytes == first.stats.bytes
    assert second.stats.added_bytes < first.stats.added_bytes / 50, (first.stats, second.stats)
    shutil.rmtree(target)


@pytest.mark.parametrize("engine", [Engine.borg, Engine.restic])
def test_restore_of_a_path_not_in_the_snapshot_fails_and_is_recorded(stack, workdir, engine):
    source = workdir / "src"
    (source / "a").mkdir(parents=True)
    (source / "a" / "f.txt").write_text("x")
    repository = make_repository(stack, engine, workdir / "repo", f"missing-path-{engine}")
    done = run_backup(stack, repository, BackupRequest(repository_id=repository.id, sources=[str(source)]))
    request = RestoreRequest(
        repository_id=repository.id,
        snapshot_id=done.snapshot_id,
        target=str(workdir / "out"),
        paths=[str(source / "nope")],
    )
    with pytest.raises(temporal.RunFailed) as failure:
        run_restore(stack, repository, request)
    assert failure.value.error_type == "InvalidInput"
    assert "not in snapshot" in str(failure.value)
    assert not (workdir / "out").exists() or not any((workdir / "out").iterdir())
    with open_store(stack.settings) as conn:
        latest = runs.recent(conn, limit=1, repository_id=repository.id, kind=RunKind.restore)[0]
    assert latest.status == RunStatus.failed and "not in snapshot" in latest.error
