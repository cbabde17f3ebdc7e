"""A remote repository through the CLI and the workflows (worker and CLI both reach the sshd)."""

from __future__ import annotations

import pytest

from tests.e2e.cli import syncoxide

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("engine", ["borg", "restic"])
def test_remote_backup_and_restore(stack, workdir, engine):
    secret = workdir / "pass"
    secret.write_text("remote\n")
    url = stack.borg_url(workdir / "r") if engine == "borg" else stack.restic_url(workdir / "r")
    name = f"remote-{engine}"
    init = syncoxide(
        stack,
        "repo",
        "init",
        "--engine",
        engine,
        "--repo",
        url,
        "--name",
        name,
        "--passphrase-file",
        str(secret),
        "--json",
    )
    assert init.code == 0, init.stderr
    assert init.json["location"] == url
    src = workdir / "src"
    src.mkdir()
    (src / "hello.txt").write_text("hello remote\n")
    done = syncoxide(stack, "backup", "--repo", name, "--source", str(src), "--json")
    assert done.code == 0, done.stderr
    restored = syncoxide(
        stack,
        "restore",
        "--repo",
        name,
        "--snapshot",
        done.json["snapshot_id"],
        "--target",
        str(workdir / "out"),
        "--strip-components",
        str(len(src.parts) - 1),
    )
    assert restored.code == 0, restored.stderr
    assert (workdir / "out" / "hello.txt").read_text() == "hello remote\n"
