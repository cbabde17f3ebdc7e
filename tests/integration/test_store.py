"""The store on the real embedded PostgreSQL: migrations, repositories, runs."""

from __future__ import annotations

import threading

import pytest

from syncoxide.errors import InvalidInput, NotFound
from syncoxide.models import Engine, RunKind, RunStatus
from syncoxide.secrets import SecretRef
from syncoxide.store import db, open_store, repositories, runs


def test_migrations_are_idempotent_and_safe_concurrently(stack):
    errors: list[BaseException] = []

    def apply() -> None:
        try:
            with db.connect(stack.settings, autocommit=True) as conn:
                db.migrate(conn)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=apply) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.connect(stack.settings, autocommit=True) as conn:
        assert db.migrate(conn) == []
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == [v for v, _, _ in db.migrations()]


def test_repositories_are_unique_by_name_and_location(stack):
    ref = SecretRef(kind="env", value="X")
    with open_store(stack.settings) as conn:
        added = repositories.add(conn, name="store-unique", engine=Engine.borg, location="/srv/unique", passphrase=ref)
        assert repositories.find(conn, "store-unique") == added
        assert repositories.find(conn, added.id) == added
        assert repositories.find(conn, "/srv/unique") == added
        with pytest.raises(InvalidInput, match="already registered"):
            repositories.add(conn, name="store-unique", engine=Engine.restic, location="/srv/other", passphrase=ref)
        with pytest.raises(InvalidInput, match="already registered"):
            repositories.add(conn, name="other", engine=Engine.restic, location="/srv/unique", passphrase=ref)
        with pytest.raises(NotFound, match="no repository named 'absent'"):
            repositories.find(conn, "absent")


def test_runs_start_is_idempotent_and_finish_records_the_outcome(stack):
    ref = SecretRef(kind="env", value="X")
    with open_store(stack.settings) as conn:
        repo = repositories.add(conn, name="store-runs", engine=Engine.restic, location="/srv/runs", passphrase=ref)
        for _ in range(2):
            runs.start(conn, run_id="run-store-1", kind=RunKind.backup, repository_id=repo.id, details={"a": 1})
        assert runs.get(conn, "run-store-1").status == RunStatus.running
        runs.finish(conn, run_id="run-store-1", status=RunStatus.succeeded, files=3, bytes_=30, snapshot_id="s1")
        done = runs.get(conn, "run-store-1")
        assert (done.status, done.files, done.bytes, done.snapshot_id) == (RunStatus.succeeded, 3, 30, "s1")
        assert done.finished_at is not None
        assert [r.id for r in runs.recent(conn, repository_id=repo.id)] == ["run-store-1"]
        with pytest.raises(NotFound):
            runs.finish(conn, run_id="no-such-run", status=RunStatus.failed)
