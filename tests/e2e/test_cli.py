"""The CLI through the running stack: the happy path with --json, and bad input that must fail cleanly."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from syncoxide.models import RunKind, RunStatus
from syncoxide.orchestration import client as temporal
from syncoxide.store import open_store, repositories, runs
from tests.conftest import free_port
from tests.e2e.cli import syncoxide

pytestmark = pytest.mark.e2e


def succeeded_runs(stack) -> int:
    with open_store(stack.settings) as conn:
        return sum(
            r.status == RunStatus.succeeded and r.kind != RunKind.catalog  # indexing runs come and go
            for r in runs.recent(conn, limit=10_000)
        )


@pytest.fixture()
def passphrase_file(workdir) -> Path:
    path = workdir / "passphrase"
    path.write_text("correct horse battery staple\n")
    return path


@pytest.fixture()
def source(workdir) -> Path:
    src = workdir / "src"
    (src / "docs").mkdir(parents=True)
    (src / "docs" / "report.txt").write_text("quarterly numbers\n")
    (src / "docs" / "scratch.tmp").write_text("throwaway\n")
    (src / "photo.jpg").write_bytes(bytes(range(256)) * 100)
    return src


@pytest.mark.parametrize("engine", ["borg", "restic"])
def test_init_backup_restore_with_json(stack, workdir, passphrase_file, source, engine):
    name = f"cli-{engine}"
    init = syncoxide(
        stack,
        "repo",
        "init",
        "--engine",
        engine,
        "--repo",
        str(workdir / "repo"),
        "--name",
        name,
        "--passphrase-file",
        str(passphrase_file),
        "--json",
    )
    assert init.code == 0, init.stderr
    assert init.json["engine"] == engine and init.json["passphrase"] == {
        "kind": "file",
        "value": str(passphrase_file),
    }
    assert "correct horse" not in init.stdout + init.stderr

    done = syncoxide(stack, "backup", "--repo", name, "--source", str(source), "--exclude", "*.tmp", "--json")
    assert done.code == 0, done.stderr
    snapshot = done.json["snapshot_id"]
    assert done.json["stats"]["files"] == 2

    target = workdir / "restored"
    restored = syncoxide(stack, "restore", "--repo", name, "--snapshot", snapshot, "--target", str(target), "--json")
    assert restored.code == 0, restored.stderr
    assert restored.json["files"] == 2
    base = target / str(source).lstrip("/")
    assert (base / "docs" / "report.txt").read_text() == "quarterly numbers\n"
    assert (base / "photo.jpg").read_bytes() == (source / "photo.jpg").read_bytes()
    assert not (base / "docs" / "scratch.tmp").exists()

    listed = syncoxide(stack, "runs", "--repo", name, "--kind", "backup", "--kind", "restore", "--json")
    assert [(r["kind"], r["status"]) for r in listed.json] == [("restore", "succeeded"), ("backup", "succeeded")]


@pytest.fixture(scope="module")
def borg_repo(stack, tmp_path_factory) -> tuple[str, Path]:
    base = tmp_path_factory.mktemp("bad-input")
    secret = base / "passphrase"
    secret.write_text("the right one\n")
    result = syncoxide(
        stack,
        "repo",
        "init",
        "--engine",
        "borg",
        "--repo",
        str(base / "repo"),
        "--name",
        "bad-input",
        "--passphrase-file",
        str(secret),
    )
    assert result.code == 0, result.stderr
    return "bad-input", base


def assert_one_clean_error(result, *fragments: str) -> None:
    assert result.code != 0
    assert "Traceback" not in result.stderr
    assert len(result.error_lines) == 1, result.stderr
    line = result.error_lines[0]
    assert line.startswith("error: ")
    for fragment in fragments:
        assert fragment in line, line


def test_unknown_engine(stack, workdir):
    result = syncoxide(stack, "repo", "init", "--engine", "zip", "--repo", str(workdir / "r"), "--passphrase-env", "X")
    assert_one_clean_error(result, "engine 'zip'", "borg, restic")
    assert not (workdir / "r").exists()


def test_missing_source_dir(stack, borg_repo, workdir):
    before = succeeded_runs(stack)
    result = syncoxide(stack, "backup", "--repo", borg_repo[0], "--source", str(workdir / "nowhere"))
    assert_one_clean_error(result, "source", "nowhere", "no such file or directory")
    assert succeeded_runs(stack) == before


def test_wrong_passphrase_fails_fast_without_retries(stack, borg_repo, workdir, source):
    wrong = workdir / "wrong"
    wrong.write_text("not it\n")
    before = succeeded_runs(stack)
    result = syncoxide(
        stack, "backup", "--repo", borg_repo[0], "--source", str(source), "--passphrase-file", str(wrong)
    )
    assert_one_clean_error(result, "incorrect")
    assert "not it" not in result.stderr
    assert succeeded_runs(stack) == before
    with open_store(stack.settings) as conn:
        repository = repositories.find(conn, borg_repo[0])
        latest = runs.recent(conn, limit=1, repository_id=repository.id, kind=RunKind.backup)[0]
    assert latest.status == RunStatus.failed and "incorrect" in latest.error

    async def attempts() -> list[int]:
        client = await temporal.connect(stack.settings)
        history = await client.get_workflow_handle(latest.workflow_id).fetch_history()
        return [
            event.activity_task_started_event_attributes.attempt
            for event in history.events
            if event.HasField("activity_task_started_event_attributes")
        ]

    assert set(asyncio.run(attempts())) == {1}, "a wrong passphrase was retried"


def test_temporal_unreachable(stack, borg_repo, source):
    before = succeeded_runs(stack)
    address = f"127.0.0.1:{free_port()}"
    result = syncoxide(
        stack, "backup", "--repo", borg_repo[0], "--source", str(source), env={"SYNCOXIDE_TEMPORAL_ADDRESS": address}
    )
    assert_one_clean_error(result, "cannot reach Temporal", address)
    assert succeeded_runs(stack) == before


def test_postgres_unreachable(stack, source):
    url = f"postgresql://syncoxide:hunter2@127.0.0.1:{free_port()}/syncoxide"
    result = syncoxide(
        stack, "backup", "--repo", "bad-input", "--source", str(source), env={"SYNCOXIDE_DATABASE_URL": url}
    )
    assert_one_clean_error(result, "cannot reach PostgreSQL", "127.0.0.1")
    assert "hunter2" not in result.stderr


def test_unknown_repository(stack, source):
    result = syncoxide(stack, "backup", "--repo", "no-such-repo", "--source", str(source))
    assert_one_clean_error(result, "no repository named 'no-such-repo'")


def test_restore_into_a_file_is_refused(stack, borg_repo, workdir):
    target = workdir / "a-file"
    target.write_text("mine")
    result = syncoxide(stack, "restore", "--repo", borg_repo[0], "--snapshot", "any", "--target", str(target))
    assert_one_clean_error(result, "exists and is not a directory")
    assert target.read_text() == "mine"


def test_bad_compression_is_refused(stack, borg_repo, source):
    result = syncoxide(stack, "backup", "--repo", borg_repo[0], "--source", str(source), "--compression", "zip")
    assert_one_clean_error(result, "compression 'zip'")


def test_passphrase_options_are_exclusive(stack, workdir, passphrase_file):
    result = syncoxide(
        stack,
        "repo",
        "init",
        "--engine",
        "restic",
        "--repo",
        str(workdir / "r"),
        "--passphrase-env",
        "A",
        "--passphrase-file",
        str(passphrase_file),
    )
    assert_one_clean_error(result, "only one of")
    assert not (workdir / "r").exists()


def test_missing_option_is_one_line(stack):
    result = syncoxide(stack, "backup", "--source", "/tmp")
    assert_one_clean_error(result, "--repo")
