from __future__ import annotations

import os
import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncoxide.backups import operations
from syncoxide.models import Engine, Repository, RunKind, RunStatus
from syncoxide.secrets import SecretRef
from syncoxide.store import open_store, repositories, runs
from tests.e2e.cli import syncoxide

PASSPHRASE_ENV = "SXT_REPO_PASSPHRASE"


@pytest.fixture(scope="session", autouse=True)
def _passphrase() -> Iterator[str]:
    """The worker resolves env: references in its own environment, which in tests is ours."""
    value = secrets.token_urlsafe(16)
    os.environ[PASSPHRASE_ENV] = value
    yield value
    os.environ.pop(PASSPHRASE_ENV, None)


def make_repository(stack, engine: Engine, location: Path, name: str) -> Repository:
    ref = SecretRef(kind="env", value=PASSPHRASE_ENV)
    operations.init_repository(stack.settings, engine, str(location), ref)
    with open_store(stack.settings) as conn:
        return repositories.add(conn, name=name, engine=engine, location=str(location), passphrase=ref)


def make_tree(root: Path) -> Path:
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "report-2025.pdf").write_bytes(b"%PDF report " * 500)
    (root / "docs" / "report-2025 (copy).pdf").write_bytes(b"%PDF report " * 500)
    (root / "docs" / "draft.tmp").write_text("scratch")
    (root / "photos").mkdir()
    (root / "photos" / "beach.jpg").write_bytes(os.urandom(20000))
    (root / "photos" / "beach-again.jpg").write_bytes((root / "photos" / "beach.jpg").read_bytes())
    (root / "code" / "__pycache__").mkdir(parents=True)
    (root / "code" / "main.py").write_text("print('hi')\n")
    (root / "code" / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"\x00" * 300)
    (root / "nothing-here").mkdir()
    for original in (root / "docs" / "report-2025.pdf", root / "photos" / "beach.jpg"):
        os.utime(original, (1_700_000_000, 1_700_000_000))  # older than its copy, whatever the clock's tick
    return root


def wait_for_run(stack, kind: RunKind, repository_id: str, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open_store(stack.settings) as conn:
            done = [
                r
                for r in runs.recent(conn, kind=kind, repository_id=repository_id, limit=20)
                if r.status == RunStatus.succeeded
            ]
        if len(done) >= count:
            return
        time.sleep(0.3)
    raise AssertionError(f"no {count} finished {kind.value} runs for {repository_id} within {timeout}s")


@pytest.fixture()
def stack_env(stack, monkeypatch) -> None:
    """This process's environment pointed at the stack, for code that reads its settings from there (the dashboard
    run in-process by Streamlit's AppTest)."""
    for key in ("SYNCOXIDE_HOME", "SYNCOXIDE_TEMPORAL_ADDRESS", "SYNCOXIDE_DATABASE_URL"):
        monkeypatch.setenv(key, stack.env[key])


@pytest.fixture(scope="module")
def backed_up(stack, tmp_path_factory) -> dict:
    """A restic repository with two snapshots of a tree, in the catalog; and the tree scanned with hashes."""
    base = tmp_path_factory.mktemp("dash")
    root = make_tree(base / "data")
    name = f"dash-{uuid.uuid4().hex[:6]}"
    repository = make_repository(stack, Engine.restic, base / "repo", name)
    first = syncoxide(stack, "backup", "--repo", name, "--source", str(root), "--json")
    assert first.code == 0, first.stderr
    (root / "docs" / "notes.md").write_text("new notes\n")
    second = syncoxide(stack, "backup", "--repo", name, "--source", str(root), "--json")
    assert second.code == 0, second.stderr
    wait_for_run(stack, RunKind.catalog, repository.id, 2)
    source = f"dash-src-{uuid.uuid4().hex[:6]}"
    assert syncoxide(stack, "source", "add", source, "--root", str(root), "--hash", "xxh3").code == 0
    assert syncoxide(stack, "scan", source).code == 0
    return {
        "root": root,
        "repository": repository,
        "source": source,
        "snapshots": [first.json["snapshot_id"], second.json["snapshot_id"]],
        "base": base,
    }
