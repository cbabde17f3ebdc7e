"""Repositories over SSH: borg's ssh:// (borg serve on the far side) and restic's sftp:, on a real sshd."""

from __future__ import annotations

import pytest

from syncoxide.backups.verify import under, verify_restore
from syncoxide.engines import open_engine
from syncoxide.errors import RepositoryNotFound, WrongPassphrase
from syncoxide.models import BackupOptions, Engine
from tests.trees import compare_trees


@pytest.mark.parametrize("kind", [Engine.borg, Engine.restic], ids=lambda e: e.value)
def test_remote_repository_round_trip(stack, workdir, kind):
    src = workdir / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "a.txt").write_text("over ssh\n")
    (src / "b.bin").write_bytes(bytes(range(256)) * 1000)
    remote = workdir / "remote-repo"
    url = stack.borg_url(remote) if kind == Engine.borg else stack.restic_url(remote)
    engine = open_engine(stack.settings, kind, url, "remote pw")
    engine.init()
    assert (remote / ("README" if kind == Engine.borg else "config")).exists()

    snapshot, stats = engine.backup([str(src)], snapshot_name="remote-1", options=BackupOptions(tags=["far"]))
    assert stats.files == 2
    [listed] = engine.snapshots()
    assert listed.id == snapshot and listed.tags == ["far"]
    out = workdir / "out"
    engine.restore(snapshot, out)
    assert verify_restore(engine.list_files(snapshot), under(out)).ok
    assert compare_trees(src, out / str(src).lstrip("/")) == []
    assert engine.check().ok

    with pytest.raises(WrongPassphrase):
        open_engine(stack.settings, kind, url, "wrong").snapshots()
    missing = stack.borg_url(workdir / "nope") if kind == Engine.borg else stack.restic_url(workdir / "nope")
    with pytest.raises(RepositoryNotFound):
        open_engine(stack.settings, kind, missing, "remote pw").snapshots()
