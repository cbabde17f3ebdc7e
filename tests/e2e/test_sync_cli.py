"""Sync through the CLI and the stack's own worker: a continuous SyncWorkflow started, watched,
paused, run now and cancelled with syncoxide commands."""

from __future__ import annotations

import time

import pytest

from tests.e2e.cli import syncoxide

pytestmark = pytest.mark.e2e


def wait_status(stack, workflow_id: str, ready, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = syncoxide(stack, "sync", "status", workflow_id, "--json")
        if status.code == 0 and ready(status.json):
            return status.json
        assert time.monotonic() < deadline, f"sync status never got there: {status.stdout} {status.stderr}"
        time.sleep(0.5)


def test_a_continuous_sync_started_paused_run_now_and_cancelled(stack, workdir):
    src, dst = workdir / "src", workdir / "dst"
    (src / "docs").mkdir(parents=True)
    (src / "docs" / "a.txt").write_text("alpha")
    (src / "b.bin").write_bytes(b"\x00" * 4096)
    dst.mkdir()
    started = syncoxide(stack, "sync", "start", str(src), str(dst), "--mode", "sync", "--every", "1h", "--json")
    assert started.code == 0, started.stderr
    workflow_id = started.json["workflow_id"]
    first = wait_status(stack, workflow_id, lambda s: s["runs"] == 1 and s["phase"] == "waiting")
    assert first["last"]["transferred_files"] == 2
    assert (dst / "docs" / "a.txt").read_text() == "alpha"

    assert syncoxide(stack, "sync", "pause", workflow_id).code == 0
    wait_status(stack, workflow_id, lambda s: s["paused"])
    (src / "new.txt").write_text("new")
    assert syncoxide(stack, "sync", "now", workflow_id).code == 0
    second = wait_status(stack, workflow_id, lambda s: s["runs"] == 2 and s["phase"] == "waiting")
    assert second["last"]["transferred_files"] == 1 and (dst / "new.txt").read_text() == "new"

    recorded = syncoxide(stack, "sync", "status", "--json")
    assert recorded.code == 0 and len([r for r in recorded.json if r["status"] == "succeeded"]) >= 2
    assert syncoxide(stack, "cancel", workflow_id).code == 0
