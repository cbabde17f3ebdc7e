"""Policies as code on the real stack: apply makes Temporal Schedules that run real backups."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from syncoxide.contract.payloads import HealthRequest
from syncoxide.errors import NotFound
from syncoxide.models import RunStatus
from syncoxide.orchestration import client as temporal
from syncoxide.orchestration import schedules
from syncoxide.store import open_store, runs
from tests.e2e.cli import syncoxide

pytestmark = pytest.mark.e2e
NO_TICK = "1000d"
"""An interval whose next tick is far away: a test's runs are only the ones it triggers."""


def policy_file(
    workdir: Path, *, every: str = NO_TICK, extra: str = "", policies: str | None = None, repo_retention: bool = True
) -> Path:
    (workdir / "src").mkdir(exist_ok=True)
    (workdir / "src" / "doc.txt").write_text("policy data\n")
    (workdir / "pass").write_text("policy passphrase\n")
    body = f"""\
repositories:
  vault-{workdir.name.lower()}:
    engine: restic
    location: {workdir / "vault"}
    passphrase: file:{workdir / "pass"}
{"    retention: {keep_last: 3}" if repo_retention else ""}
    metadata_check:
      every: 1d
sources:
  documents:
    paths: [{workdir / "src"}]
    excludes: ["*.tmp"]
policies:
""" + (
        policies
        if policies is not None
        else f"""\
  docs-{workdir.name.lower()}:
    source: documents
    repository: vault-{workdir.name.lower()}
    schedule:
      every: {every}
    grace: 1s
{extra}"""
    )
    path = workdir / "policies.yaml"
    path.write_text(body)
    return path


def policy_runs(stack, name: str) -> list:
    with open_store(stack.settings) as conn:
        return runs.recent(conn, policy_id=name, limit=100)


def wait_for(predicate, timeout: float = 120, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_apply_trigger_history_and_idempotence(stack, workdir):
    name = f"docs-{workdir.name.lower()}"
    path = policy_file(workdir)
    planned = syncoxide(stack, "policy", "plan", str(path), "--json")
    assert planned.code == 0, planned.stderr
    mine = {(c["kind"], c["action"]) for c in planned.json if workdir.name.lower() in c["name"]}
    assert mine == {("repository", "create"), ("policy", "create")}

    refused = syncoxide(stack, "policy", "apply", str(path))
    assert refused.code == 1 and "--yes" in refused.stderr
    applied = syncoxide(stack, "policy", "apply", str(path), "--yes", "--json")
    assert applied.code == 0, applied.stderr
    again = syncoxide(stack, "policy", "plan", str(path), "--json")
    assert {c["action"] for c in again.json if workdir.name.lower() in c["name"]} == {"unchanged"}
    assert "nothing to change" in syncoxide(stack, "policy", "apply", str(path), "--yes").stdout

    assert syncoxide(stack, "policy", "trigger", name).code == 0
    done = wait_for(
        lambda: [r for r in policy_runs(stack, name) if r.status == RunStatus.succeeded], what="a triggered backup"
    )
    assert done[0].files == 1
    history = syncoxide(stack, "policy", "history", name, "--json")
    assert history.json[0]["status"] == "succeeded"

    async def found() -> list[str]:
        client = await temporal.connect(stack.settings)
        return [w.id async for w in client.list_workflows(f"PolicyId='{name}' AND RunKind='backup'")]

    assert done[0].id in asyncio.run(found())
    listed = syncoxide(stack, "policy", "list", "--json")
    mine = next(p for p in listed.json if p["policy"] == name)
    assert mine["state"] == "ok" and mine["last_status"] == "succeeded" and mine["next_run"]


def backup_runs(stack, name: str) -> list:
    return [r for r in policy_runs(stack, name) if r.kind == "backup"]


def schedule_actions(stack, name: str) -> int:
    """How many workflows the policy's Temporal Schedule has started (a run's row comes later, from the run)."""

    async def count() -> int:
        client = await temporal.connect(stack.settings)
        return (await client.get_schedule_handle(schedules.policy_schedule_id(name)).describe()).info.num_actions

    return asyncio.run(count())


def test_interval_schedule_runs_and_pause_stops_it(stack, workdir):
    name = f"docs-{workdir.name.lower()}"
    path = policy_file(workdir, every="3s")
    try:
        assert syncoxide(stack, "policy", "apply", str(path), "--yes").code == 0
        wait_for(
            lambda: len([r for r in policy_runs(stack, name) if r.status == RunStatus.succeeded]) >= 2,
            what="two scheduled backups",
        )
        assert syncoxide(stack, "policy", "pause", name).code == 0
        started = schedule_actions(stack, name)
        time.sleep(8)
        assert schedule_actions(stack, name) == started
        wait_for(lambda: len(backup_runs(stack, name)) == started, what="the started runs' rows")
        listed = syncoxide(stack, "policy", "list", "--json").json
        assert next(p for p in listed if p["policy"] == name)["state"] == "paused"
        assert syncoxide(stack, "policy", "resume", name).code == 0
        wait_for(lambda: schedule_actions(stack, name) > started, what="runs after resume")
    finally:
        syncoxide(stack, "policy", "delete", name, "--yes")  # no schedule left starting runs every 3 s


def test_removal_needs_a_plan_and_yes(stack, workdir):
    name = f"docs-{workdir.name.lower()}"
    path = policy_file(workdir)
    assert syncoxide(stack, "policy", "apply", str(path), "--yes").code == 0
    emptied = policy_file(workdir, policies="  {}\n")
    planned = syncoxide(stack, "policy", "plan", str(emptied), "--json").json
    assert {
        "kind": "policy",
        "name": name,
        "action": "remove",
        "detail": "its schedule is deleted; its history stays",
    } in planned
    removed = syncoxide(stack, "policy", "apply", str(emptied), "--yes")
    assert removed.code == 0, removed.stderr

    async def describe() -> None:
        await schedules.describe(await temporal.connect(stack.settings), schedules.policy_schedule_id(name))

    with pytest.raises(NotFound):
        asyncio.run(describe())


def test_an_invalid_file_changes_nothing(stack, workdir):
    path = policy_file(workdir, extra="    retention_typo: 1\n")
    before = syncoxide(stack, "policy", "list", "--json").json
    result = syncoxide(stack, "policy", "apply", str(path), "--yes")
    assert result.code == 1
    line = path.read_text().splitlines().index("    retention_typo: 1") + 1
    field = f"policies.docs-{workdir.name.lower()}.retention_typo"
    expected = f"policies.yaml:{line} {field}: unknown field"
    assert expected in result.stderr
    inline = workdir / "inline.yaml"
    inline.write_text(
        path.read_text().replace(f"file:{workdir / 'pass'}", "hunter2").replace("    retention_typo: 1\n", "")
    )
    refused = syncoxide(stack, "policy", "apply", str(inline), "--yes")
    assert refused.code == 1 and "inline secrets are refused" in refused.stderr and "hunter2" not in refused.stderr
    assert syncoxide(stack, "policy", "list", "--json").json == before
    assert not (workdir / "vault").exists()
    assert result.stderr.count("error:") == 1


def test_a_late_policy_turns_status_red(stack, workdir):
    name = f"docs-{workdir.name.lower()}"
    path = policy_file(workdir)
    assert syncoxide(stack, "policy", "apply", str(path), "--yes").code == 0
    with open_store(stack.settings) as conn:
        conn.execute("UPDATE policies SET created_at = now() - interval '3000 days' WHERE name = %s", (name,))
    status = syncoxide(stack, "status", "--json")
    assert status.code == 1
    mine = next(p for p in status.json["policies"] if p["policy"] == name)
    assert mine["state"] == "late" and "no successful run yet" in mine["detail"]
    assert syncoxide(stack, "policy", "delete", name, "--yes").code == 0


class Recorder:
    """A local HTTP endpoint that records what apprise's json:// notifications post to it."""

    def __init__(self) -> None:
        import http.server
        import json as json_module
        import threading

        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server interface
                length = int(self.headers.get("Content-Length", 0))
                received.append(json_module.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def test_hooks_and_notifications(stack, workdir, monkeypatch):
    recorder = Recorder()
    name = f"docs-{workdir.name.lower()}"
    flag = workdir / "fail-next"
    marker = workdir / "hook-ran"
    monkeypatch.setenv("SXT_NOTIFY_URL", f"json://127.0.0.1:{recorder.port}/hook")
    extra = f"""\
    hooks:
      before: ["test ! -e {flag} || (echo 'database is locked' >&2; exit 7)"]
      after: ["echo $SYNCOXIDE_RUN_ID >> {marker}"]
      on_failure: ["echo failed >> {marker}.failures"]
      timeout: 30s
    notify:
      urls: ["env:SXT_NOTIFY_URL"]
      events: [failure, recovery, success]
"""
    path = policy_file(workdir, extra=extra)
    try:
        assert syncoxide(stack, "policy", "apply", str(path), "--yes").code == 0

        def finished(count: int):
            return lambda: len([r for r in policy_runs(stack, name) if r.kind == "backup" and r.finished_at]) >= count

        assert syncoxide(stack, "policy", "trigger", name).code == 0
        wait_for(finished(1), what="first run")
        flag.write_text("")
        assert syncoxide(stack, "policy", "trigger", name).code == 0
        wait_for(finished(2), what="the failing run")
        flag.unlink()
        assert syncoxide(stack, "policy", "trigger", name).code == 0
        wait_for(finished(3), what="the recovering run")
        wait_for(lambda: len(recorder.received) >= 4, timeout=30, what="notifications")
    finally:
        recorder.close()

    backups = sorted((r for r in policy_runs(stack, name) if r.kind == "backup"), key=lambda r: r.started_at)
    assert [r.status for r in backups] == [RunStatus.succeeded, RunStatus.failed, RunStatus.succeeded]
    assert "before hook" in backups[1].error and "database is locked" in backups[1].error
    hook_runs = [r for r in policy_runs(stack, name) if r.kind == "hook"]
    assert any(r.status == RunStatus.failed and r.id.endswith("-hook-before") for r in hook_runs)
    assert marker.read_text().split() == [backups[0].id, backups[2].id]
    assert (workdir / "hook-ran.failures").read_text() == "failed\n"
    titles = [m["title"] for m in recorder.received]
    assert titles == [
        f"syncoxide: backup of policy {name} succeeded",
        f"syncoxide: backup of policy {name} failed",
        f"syncoxide: backup of policy {name} recovered",
        f"syncoxide: backup of policy {name} succeeded",
    ]
    failure = recorder.received[1]
    assert "database is locked" in failure["message"] and f"/workflows/{backups[1].id}" in failure["message"]
    assert failure["type"] == "failure"


def test_overlap_skip_holds_when_a_run_is_slow(stack, workdir):
    name = f"docs-{workdir.name.lower()}"
    extra = """\
    overlap: skip
    hooks:
      before: ["sleep 5"]
"""
    try:
        assert (
            syncoxide(stack, "policy", "apply", str(policy_file(workdir, every="1s", extra=extra)), "--yes").code == 0
        )
        wait_for(
            lambda: len(backup_runs(stack, name)) >= 2,
            timeout=180,
            what="a second backup, once the first (5 s of hook) ended",
        )
        assert syncoxide(stack, "policy", "pause", name).code == 0
        wait_for(
            lambda: (
                len(backup_runs(stack, name)) == schedule_actions(stack, name)
                and all(r.finished_at for r in policy_runs(stack, name))
            ),
            timeout=120,
            what="runs to finish",
        )
        backups = sorted(backup_runs(stack, name), key=lambda r: r.started_at)
        # a tick every second for as long as each run takes, yet one run at a time: skipped, not queued
        for earlier, later in zip(backups, backups[1:], strict=False):
            assert later.started_at >= earlier.finished_at, "two runs of one policy overlapped"
        assert schedule_actions(stack, name) == len(backups)
    finally:
        syncoxide(stack, "policy", "delete", name, "--yes")


def test_late_policy_is_notified_once(stack, workdir, monkeypatch):
    recorder = Recorder()
    name = f"docs-{workdir.name.lower()}"
    monkeypatch.setenv("SXT_LATE_URL", f"json://127.0.0.1:{recorder.port}/late")
    extra = """\
    notify:
      urls: ["env:SXT_LATE_URL"]
      events: [late]
"""

    async def health_schedule(paused: bool) -> None:  # its own checks, every 5 min, would race this test's
        handle = (await temporal.connect(stack.settings)).get_schedule_handle(schedules.HEALTH_SCHEDULE_ID)
        await (handle.pause() if paused else handle.unpause())

    async def health_check() -> None:
        client = await temporal.connect(stack.settings)
        await client.execute_workflow(
            "HealthWorkflow", HealthRequest(), id=f"health-{name}", task_queue=stack.settings.task_queue
        )

    try:
        path = policy_file(workdir, extra=extra)
        assert syncoxide(stack, "policy", "apply", str(path), "--yes").code == 0
        asyncio.run(health_schedule(paused=True))
        with open_store(stack.settings) as conn:
            conn.execute("UPDATE policies SET created_at = now() - interval '3000 days' WHERE name = %s", (name,))

        asyncio.run(health_check())
        mine = [m for m in recorder.received if name in m["title"]]
        assert [m["title"] for m in mine] == [f"syncoxide: backup of policy {name} is late"]
        assert "no successful run yet" in mine[0]["message"]
        asyncio.run(health_check())
        assert len([m for m in recorder.received if name in m["title"]]) == 1, "told twice about one episode"
    finally:
        recorder.close()
        syncoxide(stack, "policy", "delete", name, "--yes")
        asyncio.run(health_schedule(paused=False))


def test_policy_retention_only_touches_its_own_snapshots(stack, workdir):
    suffix = workdir.name.lower()
    policies = f"""\
  pruned-{suffix}:
    source: documents
    repository: vault-{suffix}
    schedule: {{every: {NO_TICK}}}
    retention: {{keep_last: 1}}
  kept-{suffix}:
    source: documents
    repository: vault-{suffix}
    schedule: {{every: {NO_TICK}}}
"""
    path = policy_file(workdir, policies=policies, repo_retention=False)
    assert syncoxide(stack, "policy", "apply", str(path), "--yes").code == 0, "apply"

    def backups_of(name: str) -> list:
        return [r for r in policy_runs(stack, name) if r.kind == "backup" and r.status == RunStatus.succeeded]

    for name, times in ((f"kept-{suffix}", 1), (f"pruned-{suffix}", 3)):
        for i in range(times):
            assert syncoxide(stack, "policy", "trigger", name).code == 0
            wait_for(lambda n=name, c=i + 1: len(backups_of(n)) >= c, what=f"backup {i + 1} of {name}")
            wait_for(
                lambda n=name, c=i + 1: (
                    len([r for r in policy_runs(stack, n) if r.kind == "retention" and r.finished_at])
                    >= (c if n.startswith("pruned") else 0)
                ),
                what="its retention",
            )
    snapshots = syncoxide(stack, "snapshots", "--repo", f"vault-{suffix}", "--json").json
    assert sorted(s["policy"] for s in snapshots) == [f"kept-{suffix}", f"pruned-{suffix}"]
    newest = backups_of(f"pruned-{suffix}")[0].snapshot_id
    assert newest in {s["id"] for s in snapshots}
    assert all(not t.startswith("syncoxide-") for s in snapshots for t in s["tags"])

    both = policy_file(workdir, policies=policies)  # the repository has a retention too
    refused = syncoxide(stack, "policy", "plan", str(both))
    assert refused.code == 1 and "has a retention of its own" in refused.stderr
    for name in (f"kept-{suffix}", f"pruned-{suffix}"):
        syncoxide(stack, "policy", "delete", name, "--yes")
