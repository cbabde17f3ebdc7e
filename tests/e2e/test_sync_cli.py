"""Sync through the CLI and the stack's own worker: a continuous SyncWorkflow started, watched,
paused, run now and cancelled with syncoxide commands; one on a cron, waiting for its times."""

from __future__ import annotations

import asyncio
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus

from syncoxide.orchestration import client as temporal
from syncoxide.orchestration import sync_client
from syncoxide.store import open_store
from syncoxide.store import sync as sync_store
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


def wait_ended(stack, workflow_id: str, timeout: float = 90) -> None:
    async def go() -> None:
        handle = (await temporal.connect(stack.settings)).get_workflow_handle(workflow_id)
        deadline = time.monotonic() + timeout
        while (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            assert time.monotonic() < deadline, f"{workflow_id} still running after {timeout}s"
            await asyncio.sleep(0.3)

    asyncio.run(go())


def test_sync_now_runs_one_more_pass_of_a_sync_that_has_ended(stack, workdir):
    src, dst = workdir / "src", workdir / "dst"
    src.mkdir()
    (src / "a.txt").write_text("alpha")
    started = syncoxide(stack, "sync", "start", str(src), str(dst), "--json")  # one pass, then the workflow ends
    assert started.code == 0, started.stderr
    workflow_id = started.json["workflow_id"]
    wait_ended(stack, workflow_id)
    assert (dst / "a.txt").read_text() == "alpha"

    (src / "b.txt").write_text("beta")
    now = syncoxide(stack, "sync", "now", workflow_id)
    assert now.code == 0, now.stderr
    assert now.stdout.strip() == f"started one more pass of {workflow_id} (its workflow had ended)"
    deadline = time.monotonic() + 90
    while not (dst / "b.txt").exists():
        assert time.monotonic() < deadline, "the pass sync now started never copied b.txt"
        time.sleep(0.3)
    wait_ended(stack, workflow_id)
    assert (dst / "b.txt").read_text() == "beta"
    missing = syncoxide(stack, "sync", "now", "sync-never-was")
    assert missing.code == 1 and missing.error_lines == ["error: no sync workflow sync-never-was"]


def test_a_sync_on_a_cron_waits_for_its_time_runs_then_says_when_next(stack, workdir):
    src, dst = workdir / "src", workdir / "dst"
    src.mkdir()
    (src / "a.txt").write_text("alpha")
    before = datetime.now(UTC)
    started = syncoxide(stack, "sync", "start", str(src), str(dst), "--cron", "* * * * *", "--json")
    assert started.code == 0, started.stderr
    assert started.json["schedule"] == "cron * * * * * (UTC)"
    workflow_id = started.json["workflow_id"]
    waiting = wait_status(stack, workflow_id, lambda s: s["phase"] == "waiting")
    after = datetime.now(UTC)  # its first task ran between before and after: its first time is the next minute
    with open_store(stack.settings) as conn:  # listed (the dashboard's Sync page) before its first pass
        assert sync_client.pair_of(workflow_id) in {row["id"] for row in sync_store.pairs_with_last_run(conn)}
    due = datetime.fromisoformat(waiting["next_pass"])
    assert waiting["runs"] == 0 and waiting["schedule"] == "cron * * * * * (UTC)"  # not at the start: at its time
    assert due.second == 0 and due.microsecond == 0 and before < due <= after + timedelta(minutes=1)

    first = wait_status(stack, workflow_id, lambda s: s["runs"] == 1 and s["phase"] == "waiting", timeout=150)
    assert first["last"]["transferred_files"] == 1 and (dst / "a.txt").read_text() == "alpha"
    recorded = syncoxide(stack, "sync", "status", "--json").json
    run = next(r for r in recorded if r["id"] == first["last"]["run_id"])
    assert datetime.fromisoformat(run["started_at"]) >= due
    following, finished = datetime.fromisoformat(first["next_pass"]), datetime.fromisoformat(run["finished_at"])
    assert following.second == 0 and following >= due + timedelta(minutes=1)  # the next whole minute after the pass
    assert finished < following <= finished + timedelta(minutes=1, seconds=30)
    assert syncoxide(stack, "sync", "stop", workflow_id).code == 0


@pytest.mark.parametrize(
    "options, message",
    [
        (["--cron", "0 25 * * *"], "--cron '0 25 * * *': hour 25 is not in 0-23"),
        (["--every", "1h", "--cron", "@daily"], "--every and --cron: give one of them, not both"),
        (
            ["--cron", "@daily", "--time-zone", "Mars/Olympus"],
            "--time-zone time zone 'Mars/Olympus' is not known (say e.g. UTC or Europe/Berlin)",
        ),
    ],
)
def test_a_bad_schedule_is_one_line_naming_the_option(stack, workdir, options, message):
    (workdir / "src").mkdir(exist_ok=True)
    result = syncoxide(stack, "sync", "start", str(workdir / "src"), str(workdir / "dst"), *options)
    assert result.code == 1 and result.error_lines == [f"error: {message}"]


def on_a_terminal(stack, *args: str) -> tuple[subprocess.Popen, int]:
    """The CLI with a pseudo-terminal for its output, as a user sees it; (process, the terminal's reading end)."""
    reader, writer = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "syncoxide", *args],
        stdin=subprocess.DEVNULL,
        stdout=writer,
        stderr=writer,
        env={**stack.env, "COLUMNS": "120", "TERM": "xterm"},
    )
    os.close(writer)
    return process, reader


def read_until(reader: int, wanted, timeout: float = 60) -> str:
    seen, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([reader], [], [], 0.2)
        if ready:
            try:
                seen += os.read(reader, 65536)
            except OSError:  # the other end closed
                break
            if wanted(seen.decode(errors="replace")):
                return seen.decode(errors="replace")
    raise AssertionError(f"never saw it on the terminal: {seen.decode(errors='replace')[-500:]!r}")


def test_sync_run_on_a_terminal_shows_progress_and_ctrl_c_stops_between_chunks(stack, workdir):
    src, dst = workdir / "src", workdir / "dst"
    src.mkdir()
    data = os.urandom(96 * 1024 * 1024)  # chunked (from 64 MiB): resumable
    (src / "big.bin").write_bytes(data)
    pair = f"tty-{workdir.name.lower()}"
    process, reader = on_a_terminal(stack, "sync", "run", str(src), str(dst), "--pair", pair, "--bwlimit", "8M")
    try:

        def past_a_chunk(text: str) -> bool:  # the bar, once a 16 MiB chunk is in (and checkpointed)
            done = re.findall(r"sync: transferring.*?([0-9.]+)/96\.0 MiB", text)
            return bool(done) and float(done[-1]) >= 40

        read_until(reader, past_a_chunk)
        process.send_signal(signal.SIGINT)
        said = read_until(reader, lambda text: "run it again to finish" in text)
        assert process.wait(60) == 130
    finally:
        process.kill()
        os.close(reader)
    assert "stopping between chunks" in said and "error: interrupted: what was sent is kept" in said
    assert not (dst / "big.bin").exists()  # nothing half-sent at the final path
    again = syncoxide(stack, "sync", "run", str(src), str(dst), "--pair", pair, "--json")
    assert again.code == 0, again.stderr
    assert again.json["resumed_bytes"] > 0 and (dst / "big.bin").read_bytes() == data
