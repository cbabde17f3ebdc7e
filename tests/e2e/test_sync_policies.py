"""Sync pairs declared in policy files, on the real stack: apply starts each pair's SyncWorkflow (every so long,
on a cron, or one pass), a changed pair is restarted from the file, a removed pair is stopped; bad input is
refused whole with one line."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import WorkflowExecutionStatus

from syncoxide.orchestration import client as temporal
from syncoxide.orchestration import sync_client
from syncoxide.store import open_store
from syncoxide.store import sync as store
from tests.e2e.cli import syncoxide

pytestmark = pytest.mark.e2e


def pair_file(workdir: Path, pairs: str) -> Path:
    path = workdir / "policies.yaml"
    path.write_text("sync:\n" + pairs)
    return path


def describe(stack, name: str):
    async def go():
        client = await temporal.connect(stack.settings)
        return await client.get_workflow_handle(sync_client.workflow_id(name)).describe()

    return asyncio.run(go())


def wait_status(stack, name: str, ready, timeout: float = 90) -> dict:
    async def status() -> dict:
        found = await sync_client.status(await temporal.connect(stack.settings), sync_client.workflow_id(name))
        return found.model_dump(mode="json")

    deadline = time.monotonic() + timeout
    while True:
        found = asyncio.run(status())
        if ready(found):
            return found
        assert time.monotonic() < deadline, f"sync pair {name} never got there: {found}"
        time.sleep(0.3)


def mine(changes: list[dict], name: str) -> list[tuple[str, str]]:
    return [(c["kind"], c["action"]) for c in changes if c["name"] == name]


def test_apply_starts_updates_and_stops_a_pair(stack, workdir):
    name = f"docs-{workdir.name.lower()}"
    (workdir / "src").mkdir()
    (workdir / "src" / "a.txt").write_text("alpha")
    (workdir / "src" / "scratch.tmp").write_text("scratch")
    destination = workdir / "dst" / "not yet there"
    pair = f"""\
  {name}:
    source: src                     # relative to this file
    destination: {destination}
    mode: sync
    every: 1h
    max_delete: 50%
"""
    path = pair_file(workdir, pair + '    exclude: ["*.tmp"]\n')
    planned = syncoxide(stack, "policy", "plan", str(path), "--json")
    assert planned.code == 0, planned.stderr
    assert mine(planned.json, name) == [("sync", "create")]
    applied = syncoxide(stack, "policy", "apply", str(path), "--yes")
    assert applied.code == 0, applied.stderr
    first = wait_status(stack, name, lambda s: s["runs"] == 1 and s["phase"] == "waiting")
    assert first["last"]["transferred_files"] == 1 and first["error"] is None
    assert (destination / "a.txt").read_text() == "alpha" and not (destination / "scratch.tmp").exists()
    assert mine(syncoxide(stack, "policy", "plan", str(path), "--json").json, name) == [("sync", "unchanged")]
    assert "nothing to change" in syncoxide(stack, "policy", "apply", str(path), "--yes").stdout
    again = syncoxide(
        stack,
        "sync",
        "start",
        str(workdir / "src"),
        str(destination),
        "--pair",
        name,
        "--mode",
        "sync",
        "--every",
        "1h",
    )
    assert again.code == 1 and f"is already running as sync-{name}" in again.stderr
    with open_store(stack.settings) as conn:
        assert store.declared_pairs(conn)[name]["origin"] == "policies.yaml:2"

    before = describe(stack, name).run_id
    path = pair_file(workdir, pair)  # the exclude is gone
    assert mine(syncoxide(stack, "policy", "plan", str(path), "--json").json, name) == [("sync", "update")]
    assert syncoxide(stack, "policy", "apply", str(path), "--yes").code == 0
    wait_status(stack, name, lambda s: s["runs"] == 1 and s["phase"] == "waiting")
    assert describe(stack, name).run_id != before
    assert (destination / "scratch.tmp").read_text() == "scratch"

    path = pair_file(workdir, "  {}\n")
    assert mine(syncoxide(stack, "policy", "plan", str(path), "--json").json, name) == [("sync", "remove")]
    refused = syncoxide(stack, "policy", "apply", str(path))
    assert refused.code == 1 and describe(stack, name).status == WorkflowExecutionStatus.RUNNING
    assert syncoxide(stack, "policy", "apply", str(path), "--yes").code == 0
    assert describe(stack, name).status == WorkflowExecutionStatus.CANCELED
    with open_store(stack.settings) as conn:
        assert name not in store.declared_pairs(conn) and store.recent_runs(conn, name)


def test_a_bisync_pair_needs_resync_once_then_syncs_both_ways(stack, workdir):
    name = f"notes-{workdir.name.lower()}"
    one, two = workdir / "one", workdir / "two"
    one.mkdir()
    two.mkdir()
    (one / "from-one.txt").write_text("1")
    (two / "from-two.txt").write_text("2")
    pair = f"""\
  {name}:
    source: {one}
    destination: {two}
    mode: bisync
    every: 1h
"""
    refused = syncoxide(stack, "policy", "plan", str(pair_file(workdir, pair)))
    assert refused.code == 1
    assert refused.error_lines == [
        f"error: policies.yaml:2 sync.{name}.resync: bisync pair {name} has no baseline "
        "yet: set resync: true for its first run (copies what is missing on each side, "
        "deletes nothing)"
    ]
    assert syncoxide(stack, "policy", "apply", str(pair_file(workdir, pair + "    resync: true\n")), "--yes").code == 0
    wait_status(stack, name, lambda s: s["runs"] == 1 and s["phase"] == "waiting")
    assert (one / "from-two.txt").exists() and (two / "from-one.txt").exists()

    (two / "from-one.txt").unlink()
    assert syncoxide(stack, "sync", "now", sync_client.workflow_id(name)).code == 0
    second = wait_status(stack, name, lambda s: s["runs"] == 2 and s["phase"] == "waiting")
    assert second["error"] is None and not (one / "from-one.txt").exists(), "the second pass was a resync again"
    assert mine(syncoxide(stack, "policy", "plan", str(pair_file(workdir, pair)), "--json").json, name) == [
        ("sync", "unchanged")
    ]  # without resync now: the baseline is there
    assert syncoxide(stack, "policy", "apply", str(pair_file(workdir, "  {}\n")), "--yes").code == 0


@pytest.mark.parametrize(
    "bad, field, message",
    [
        ("    mode: mirror\n", "mode", "input should be 'copy', 'sync', 'move' or 'bisync'"),
        ("    colour: blue\n", "colour", "unknown field"),
        (
            "    destination_secrets: {password: hunter2}\n",
            "destination_secrets",
            "must be a reference (env:NAME, file:PATH or command:CMD); inline secrets are refused",
        ),
        ("    max_delete: lots\n", "max_delete", "max-delete 'lots' must be a count (50) or a percentage (10%)"),
    ],
)
def test_bad_input_names_file_pair_and_field_and_applies_nothing(stack, workdir, bad, field, message):
    good, broken = f"good-{workdir.name.lower()}", f"bad-{workdir.name.lower()}"
    (workdir / "src").mkdir()
    path = pair_file(
        workdir,
        f"""\
  {good}:
    source: {workdir / "src"}
    destination: {workdir / "dst"}
    every: 1h
  {broken}:
    source: {workdir / "src"}
    destination: {workdir / "elsewhere"}
    every: 1h
{bad}""",
    )
    result = syncoxide(stack, "policy", "apply", str(path), "--yes")
    assert result.code == 1
    assert result.error_lines == [f"error: policies.yaml:10 sync.{broken}.{field}: {message}"]
    assert "hunter2" not in result.stderr
    with pytest.raises(Exception, match="not found"):
        describe(stack, good)
    with open_store(stack.settings) as conn:
        assert store.get_pair(conn, good) is None


@pytest.mark.parametrize(
    "side, message",
    [
        ("ftp:host/path", "side 'ftp:host/path': say which kind it is (local:, sftp://, s3://, webdav:, rclone:)"),
        (
            "sftp://me@127.0.0.1:22/x\n    destination_options: {colour: blue}",
            "side 'sftp://me@127.0.0.1:22/x': unknown option 'colour' for a sftp provider "
            "(known: key_file, known_hosts, timeout)",
        ),
    ],
)
def test_a_bad_side_is_refused_with_its_field(stack, workdir, side, message):
    name = f"side-{workdir.name.lower()}"
    path = pair_file(
        workdir,
        f"""\
  {name}:
    source: {workdir}
    destination: {side}
    every: 1h
""",
    )
    result = syncoxide(stack, "policy", "plan", str(path))
    assert result.code == 1
    assert result.error_lines == [f"error: policies.yaml:4 sync.{name}.destination: {message}"]


def test_a_pair_changed_mid_pass_is_stopped_and_started_anew(stack, workdir):
    name = f"slow-{workdir.name.lower()}"
    (workdir / "src").mkdir()
    (workdir / "src" / "slow.bin").write_bytes(b"\x02" * 256 * 1024)
    pair = f"""\
  {name}:
    source: {workdir / "src"}
    destination: {workdir / "dst"}
    every: 1h
"""
    assert syncoxide(stack, "policy", "apply", str(pair_file(workdir, pair + "    bwlimit: 16K\n")), "--yes").code == 0
    wait_status(stack, name, lambda s: s["phase"] == "running")
    old = describe(stack, name).run_id
    assert syncoxide(stack, "policy", "apply", str(pair_file(workdir, pair)), "--yes").code == 0

    async def old_status():
        client = await temporal.connect(stack.settings)
        return (await client.get_workflow_handle(sync_client.workflow_id(name), run_id=old).describe()).status

    assert asyncio.run(old_status()) == WorkflowExecutionStatus.CANCELED
    wait_status(stack, name, lambda s: s["runs"] == 1 and s["phase"] == "waiting")
    assert [p.name for p in (workdir / "dst").iterdir()] == ["slow.bin"]
    assert (workdir / "dst" / "slow.bin").read_bytes() == b"\x02" * 256 * 1024
    assert syncoxide(stack, "policy", "apply", str(pair_file(workdir, "  {}\n")), "--yes").code == 0


def test_a_name_taken_by_a_pair_made_with_the_cli_is_refused(stack, workdir):
    name = f"taken-{workdir.name.lower()}"
    (workdir / "src").mkdir()
    made = syncoxide(stack, "sync", "run", str(workdir / "src"), str(workdir / "a"), "--pair", name)
    assert made.code == 0, made.stderr
    path = pair_file(
        workdir,
        f"""\
  {name}:
    source: {workdir / "src"}
    destination: {workdir / "b"}
    every: 1h
""",
    )
    result = syncoxide(stack, "policy", "apply", str(path), "--yes")
    assert result.code == 1
    assert result.error_lines == [
        f"error: policies.yaml:2 sync.{name}: a pair named {name} already exists (copy from "
        f"{workdir / 'src'} to {workdir / 'a'}, made with `syncoxide sync`); give this one "
        "another name"
    ]


def test_a_pair_on_a_cron_waits_for_its_time_and_a_one_pass_pair_runs_once(stack, workdir):
    nightly, once = f"nightly-{workdir.name.lower()}", f"once-{workdir.name.lower()}"
    (workdir / "src").mkdir()
    (workdir / "src" / "a.txt").write_text("alpha")
    path = pair_file(
        workdir,
        f"""\
  {nightly}:
    source: src
    destination: {workdir / "nightly"}
    cron: "0 3 * * *"
    time_zone: Europe/Berlin
  {once}:
    source: src
    destination: {workdir / "once"}
""",
    )
    planned = syncoxide(stack, "policy", "plan", str(path), "--json")
    assert planned.code == 0, planned.stderr
    details = {c["name"]: (c["action"], c["detail"]) for c in planned.json}
    assert details[nightly] == (
        "create",
        f"copy {workdir / 'src'} -> {workdir / 'nightly'} cron 0 3 * * * (Europe/Berlin)",
    )
    assert details[once] == ("create", f"copy {workdir / 'src'} -> {workdir / 'once'} once")
    before = datetime.now(UTC)
    assert syncoxide(stack, "policy", "apply", str(path), "--yes").code == 0

    waiting = wait_status(stack, nightly, lambda s: s["phase"] == "waiting")
    assert waiting["runs"] == 0 and waiting["schedule"] == "cron 0 3 * * * (Europe/Berlin)"
    due = datetime.fromisoformat(waiting["next_pass"]).astimezone(ZoneInfo("Europe/Berlin"))
    assert (due.hour, due.minute) == (3, 0) and before < due <= before + timedelta(days=1, hours=1)
    assert not (workdir / "nightly").exists()

    async def result_of_once():
        client = await temporal.connect(stack.settings)
        return await client.get_workflow_handle(sync_client.workflow_id(once)).result()

    assert asyncio.run(result_of_once())["transferred_files"] == 1
    assert (workdir / "once" / "a.txt").read_text() == "alpha"
    assert describe(stack, once).status == WorkflowExecutionStatus.COMPLETED
    again = syncoxide(stack, "policy", "plan", str(path), "--json").json  # the one pass is not run again
    assert mine(again, nightly) == [("sync", "unchanged")] and mine(again, once) == [("sync", "unchanged")]

    assert syncoxide(stack, "sync", "now", sync_client.workflow_id(nightly)).code == 0
    wait_status(stack, nightly, lambda s: s["runs"] == 1 and s["phase"] == "waiting")
    assert (workdir / "nightly" / "a.txt").read_text() == "alpha"
    assert syncoxide(stack, "policy", "apply", str(pair_file(workdir, "  {}\n")), "--yes").code == 0


@pytest.mark.parametrize(
    "schedule, line, field, message",
    [
        ('    cron: "0 25 * * *"\n', 5, "cron", "'0 25 * * *': hour 25 is not in 0-23"),
        (
            '    cron: "0 3 * *"\n',
            5,
            "cron",
            "'0 3 * *': needs five fields (minute hour day-of-month month day-of-week), "
            "or @hourly, @daily, @weekly, @monthly, @yearly",
        ),
        ('    every: 1h\n    cron: "@daily"\n', 6, "cron", "give every or cron, not both"),
        (
            '    cron: "@daily"\n    time_zone: Mars/Olympus\n',
            6,
            "time_zone",
            "time zone 'Mars/Olympus' is not known (say e.g. UTC or Europe/Berlin)",
        ),
        ("    every: 1h\n    time_zone: Europe/Berlin\n", 6, "time_zone", "it is the time zone of cron; give cron too"),
        ("    backup_dir: ../old\n", 5, "backup_dir", "'../old' must stay inside the side it changes (no '..')"),
        ("    backup_keep: 30d\n", 5, "backup_keep", "it prunes backup_dir's folder: give backup_dir too"),
    ],
)
def test_a_bad_schedule_or_backup_dir_names_file_line_pair_and_field(stack, workdir, schedule, line, field, message):
    name = f"when-{workdir.name.lower()}"
    path = pair_file(
        workdir,
        f"""\
  {name}:
    source: {workdir}
    destination: {workdir / "dst"}
{schedule}""",
    )
    result = syncoxide(stack, "policy", "plan", str(path))
    assert result.code == 1
    assert result.error_lines == [f"error: policies.yaml:{line} sync.{name}.{field}: {message}"]
