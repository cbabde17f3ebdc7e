"""Repository maintenance through the CLI and MaintenanceWorkflow: retention, check, diff, export, keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from syncoxide.models import RunKind, RunStatus
from syncoxide.store import open_store, repositories, runs
from tests.e2e.cli import syncoxide

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["borg", "restic"])
def repo(request, stack, workdir) -> tuple[str, Path]:
    secret = workdir / "pass"
    secret.write_text("maintenance passphrase\n")
    name = f"maint-{request.param}-{workdir.name}"
    done = syncoxide(
        stack,
        "repo",
        "init",
        "--engine",
        request.param,
        "--repo",
        str(workdir / "repo"),
        "--name",
        name,
        "--passphrase-file",
        str(secret),
    )
    assert done.code == 0, done.stderr
    src = workdir / "src"
    src.mkdir()
    return name, src


def backup(stack, name: str, src: Path, *extra: str) -> dict:
    done = syncoxide(stack, "backup", "--repo", name, "--source", str(src), "--json", *extra)
    assert done.code == 0, done.stderr
    return done.json


def latest_run(stack, name: str, kind: RunKind):
    with open_store(stack.settings) as conn:
        repository = repositories.find(conn, name)
        return next(r for r in runs.recent(conn, repository_id=repository.id) if r.kind == kind)


def test_forget_dry_run_then_apply(stack, repo):
    name, src = repo
    ids = []
    for i in range(3):
        (src / "f.txt").write_text(f"v{i}")
        ids.append(backup(stack, name, src, "--tag", "monthly" if i == 0 else "daily")["snapshot_id"])
    plan = syncoxide(
        stack, "forget", "--repo", name, "--keep-last", "1", "--keep-tag", "monthly", "--dry-run", "--json"
    )
    assert plan.code == 0, plan.stderr
    assert {d["snapshot"]["id"]: d["keep"] for d in plan.json} == {ids[0]: True, ids[1]: False, ids[2]: True}
    assert len(syncoxide(stack, "snapshots", "--repo", name, "--json").json) == 3

    applied = syncoxide(stack, "forget", "--repo", name, "--keep-last", "1", "--keep-tag", "monthly", "--json")
    assert applied.code == 0, applied.stderr
    assert applied.json["retention"]["deleted"] == [ids[1]]
    assert [s["id"] for s in syncoxide(stack, "snapshots", "--repo", name, "--json").json] == [ids[0], ids[2]]
    run = latest_run(stack, name, RunKind.retention)
    assert run.status == RunStatus.succeeded and run.files == 1


def test_repository_retention_runs_after_every_backup(stack, repo):
    name, src = repo
    assert syncoxide(stack, "repo", "retention", "--repo", name, "--keep-last", "2").code == 0
    for i in range(3):
        (src / "f.txt").write_text(f"v{i}")
        result = backup(stack, name, src)
    assert len(result["retention"]["kept"]) == 2 and len(result["retention"]["deleted"]) == 1
    assert len(syncoxide(stack, "snapshots", "--repo", name, "--json").json) == 2
    cleared = syncoxide(stack, "repo", "retention", "--repo", name, "--clear")
    assert cleared.code == 0
    assert backup(stack, name, src)["retention"] is None


def test_ls_diff_and_export(stack, repo, workdir):
    name, src = repo
    (src / "keep.txt").write_text("keep")
    (src / "gone.txt").write_text("gone")
    first = backup(stack, name, src)["snapshot_id"]
    (src / "gone.txt").unlink()
    (src / "new.txt").write_text("new")
    second = backup(stack, name, src)["snapshot_id"]

    listed = syncoxide(stack, "ls", "--repo", name, "--snapshot", second, "--path", str(src), "--json")
    paths = {json.loads(line)["path"] for line in listed.stdout.splitlines()}
    assert {str(src / "keep.txt"), str(src / "new.txt")} <= paths and str(src / "gone.txt") not in paths

    changes = syncoxide(stack, "diff", "--repo", name, first, second, "--json").json
    assert {(c["path"], c["change"]) for c in changes if c["path"].endswith(".txt")} == {
        (str(src / "gone.txt"), "removed"),
        (str(src / "new.txt"), "added"),
    }

    tar_path = workdir / "out.tar"
    exported = syncoxide(stack, "export", "--repo", name, "--snapshot", second, "--output", str(tar_path))
    assert exported.code == 0, exported.stderr
    with tarfile.open(tar_path) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith("keep.txt"))
        assert archive.extractfile(member).read() == b"keep"
    again = syncoxide(stack, "export", "--repo", name, "--snapshot", second, "--output", str(tar_path))
    assert again.code != 0 and "exists already" in again.stderr


def test_check_then_corruption_is_reported_and_recorded(stack, repo, workdir):
    name, src = repo
    (src / "data.bin").write_bytes(bytes(range(256)) * 4096)
    backup(stack, name, src)
    ok = syncoxide(stack, "check", "--repo", name, "--verify-data", "--json")
    assert ok.code == 0 and ok.json["ok"], ok.stderr
    data = workdir / "repo" / "data"
    biggest = max((p for p in data.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    raw = bytearray(biggest.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    biggest.write_bytes(bytes(raw))
    bad = syncoxide(stack, "check", "--repo", name, "--verify-data")
    assert bad.code == 1
    lines = [line for line in bad.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and f"repository {name} found" in lines[0], bad.stderr
    run = latest_run(stack, name, RunKind.check)
    assert run.status == RunStatus.failed and name in run.error


def test_passphrase_change_keeps_backups_working(stack, repo, workdir):
    name, src = repo
    (src / "f.txt").write_text("x")
    new = workdir / "new-pass"
    new.write_text("a brand new passphrase\n")
    changed = syncoxide(stack, "repo", "passphrase", "--repo", name, "--new-passphrase-file", str(new))
    assert changed.code == 0, changed.stderr
    (workdir / "pass").write_text("the old file no longer matters\n")
    backup(stack, name, src)


def test_concurrent_backups_into_one_repository_both_succeed(stack, repo):
    name, src = repo
    (src / "a").mkdir()
    (src / "b").mkdir()
    for part in ("a", "b"):
        (src / part / "big.bin").write_bytes(os.urandom(64 * 1024 * 1024))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "syncoxide.cli", "backup", "--repo", name, "--source", str(src / part), "--json"],
            env=stack.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for part in ("a", "b")
    ]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [r[1] for r in results]
    assert len(syncoxide(stack, "snapshots", "--repo", name, "--json").json) == 2
