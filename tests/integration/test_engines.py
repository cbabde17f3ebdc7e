"""Both real engines behind one interface, without Temporal: errors, excludes, idempotent retries."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncoxide.engines import open_engine
from syncoxide.errors import RepositoryExists, RepositoryNotFound, WrongPassphrase
from syncoxide.models import BackupOptions, Engine, FileType


@pytest.fixture(params=[Engine.borg, Engine.restic], ids=lambda e: e.value)
def engine_kind(request) -> Engine:
    return request.param


def test_errors_are_classified(stack, workdir, engine_kind):
    settings = stack.settings
    repo = open_engine(settings, engine_kind, str(workdir / "repo"), "right")
    repo.init()
    with pytest.raises(RepositoryExists):
        repo.init()
    with pytest.raises(WrongPassphrase):
        open_engine(settings, engine_kind, str(workdir / "repo"), "wrong").snapshots()
    with pytest.raises(RepositoryNotFound):
        open_engine(settings, engine_kind, str(workdir / "absent"), "right").snapshots()


def test_excludes_listing_and_retry_of_a_finished_backup(stack, workdir, engine_kind):
    src = workdir / "src"
    (src / "cache").mkdir(parents=True)
    (src / "cache" / "blob").write_text("cached")
    (src / "keep.txt").write_text("keep")
    (src / "drop.tmp").write_text("drop")
    repo = open_engine(stack.settings, engine_kind, str(workdir / "repo"), "pw")
    repo.init()
    snapshot, stats = repo.backup([str(src)], snapshot_name="run-1", options=BackupOptions(excludes=["*.tmp", "cache"]))
    names = {Path(r.path).name: r for r in repo.list_files(snapshot) if r.path.startswith(str(src))}
    assert "keep.txt" in names and "drop.tmp" not in names and "cache" not in names
    assert names["keep.txt"].type == FileType.file and names["keep.txt"].size == 4
    assert stats.files == 1

    again, _ = repo.backup([str(src)], snapshot_name="run-1", resumed=True)
    assert again == snapshot
    assert [s.id for s in repo.snapshots()] == [snapshot]
    assert repo.find_snapshot("run-1") == snapshot and repo.find_snapshot("run-2") is None
