"""The Temporal port is no way in: payloads are sealed, a keyless client runs nothing, histories show no paths."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError

from syncoxide.orchestration import client as temporal
from syncoxide.server.codec_process import ensure_token_file, token_file
from tests.conftest import free_port
from tests.e2e.cli import syncoxide
from tests.e2e.test_policies import policy_file, policy_runs, wait_for
from tests.e2e.test_sync_cli import wait_ended

pytestmark = pytest.mark.e2e
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

ATTACK = """
import asyncio, os, sys
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

async def main(address, queue, workflow_id, marker):
    client = await Client.connect(address, data_converter=pydantic_data_converter)
    request = {"repository_id": "any", "stream": {"name": "x", "command": ["sh", "-c", f"touch {marker}"]},
               "hooks": {"before": [f"touch {marker}.hook"]}}
    await client.start_workflow("BackupWorkflow", request, id=workflow_id, task_queue=queue)

asyncio.run(main(*sys.argv[1:]))
os._exit(0)  # the SDK's core thread can abort a normal interpreter exit
"""


def python_for_nobody() -> list[str]:
    """A Python the unprivileged user may run, with this checkout's packages (the venv's may sit under /root)."""
    site = next(p for p in sys.path if p.endswith("site-packages"))
    for python in (sys.executable, "/usr/bin/python3"):
        command = [*NOBODY, "env", "HOME=/tmp", "PYTHONDONTWRITEBYTECODE=1", f"PYTHONPATH={site}", python]
        if subprocess.run([*command, "-c", "import temporalio.client"], capture_output=True).returncode == 0:
            return command
    pytest.fail("no Python that user 65534 can run with temporalio importable")


def refusal(stack, workflow_id: str) -> tuple[str, list[int]]:
    """The failure the worker gave the workflow (read with the key), and the history's event types."""

    async def go() -> tuple[str, list[int]]:
        handle = (await temporal.connect(stack.settings)).get_workflow_handle(workflow_id)
        with pytest.raises(WorkflowFailureError) as failed:
            await asyncio.wait_for(handle.result(), timeout=60)
        events = [event.event_type async for event in handle.fetch_history_events()]
        return str(failed.value.cause), events

    return asyncio.run(go())


def test_a_keyless_client_run_as_another_user_gets_nothing_run(stack, workdir):
    workdir.chmod(0o755)
    marker = workdir / "pwned"
    workflow_id = f"attack-{workdir.name}"
    done = subprocess.run(
        [
            *python_for_nobody(),
            "-c",
            ATTACK,
            stack.settings.temporal_target,
            stack.settings.task_queue,
            workflow_id,
            str(marker),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    started = time.monotonic()
    cause, events = refusal(stack, workflow_id)
    assert time.monotonic() - started < 30  # failed at once, no retry loop
    assert "payload not authenticated" in cause and "not sealed with a syncoxide payload key" in cause
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in events
    assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED in events
    assert not marker.exists() and not Path(f"{marker}.hook").exists()


def test_the_temporal_cli_without_the_key_gets_nothing_run(stack, workdir):
    marker = workdir / "pwned-by-cli"
    for workflow_type, payload in [
        ("BackupWorkflow", ["--input", json.dumps({"repository_id": "x", "hooks": {"before": [f"touch {marker}"]}})]),
        ("HealthWorkflow", []),  # no input at all: nothing for the codec to refuse, the worker refuses it
    ]:
        workflow_id = f"cli-attack-{workflow_type}-{workdir.name}"
        done = subprocess.run(
            [
                stack.settings.tools.temporal,
                "workflow",
                "start",
                "--address",
                stack.settings.temporal_target,
                "--task-queue",
                stack.settings.task_queue,
                "--type",
                workflow_type,
                "--workflow-id",
                workflow_id,
                *payload,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        cause, events = refusal(stack, workflow_id)
        assert "payload not authenticated" in cause, cause
        assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in events
    assert "started with 0 inputs" in cause
    assert not marker.exists()


@pytest.fixture()
def codec_server(stack):
    ensure_token_file(stack.settings)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncoxide", "codec-server", "--port", str(port)],
        env={**stack.env, "SYNCOXIDE_CODEC_PORT": str(port)},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/", timeout=1).read()
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, "the codec server did not start"
            time.sleep(0.2)
    yield url, token_file(stack.settings).read_text().strip()
    proc.terminate()
    proc.wait(10)


def restic_repository(stack, workdir: Path, name: str, passphrase: str) -> str:
    """A restic repository in ``workdir`` (its folder and passphrase file named after it), registered."""
    (workdir / f"{name}-pass").write_text(passphrase + "\n")
    repo = f"{name}-{workdir.name}"
    init = syncoxide(
        stack,
        "repo",
        "init",
        "--engine",
        "restic",
        "--repo",
        str(workdir / f"{name}-vault"),
        "--name",
        repo,
        "--passphrase-file",
        str(workdir / f"{name}-pass"),
    )
    assert init.code == 0, init.stderr
    return repo


def readable(node) -> list[str]:
    """Every string of a history as a reader sees it: its text, each payload's data and metadata unbase64'd."""
    found: list[str] = []
    if isinstance(node, dict):
        if isinstance(node.get("data"), str) and isinstance(node.get("metadata"), dict):
            for value in [node["data"], *node["metadata"].values()]:
                found.append(base64.b64decode(value).decode("utf-8", "replace"))
        for value in node.values():
            found += readable(value)
    elif isinstance(node, list):
        for value in node:
            found += readable(value)
    elif isinstance(node, str):
        found.append(node)
    return found


def show(stack, workflow_id: str, *codec: str) -> str:
    """`temporal workflow show --output json` as everything in it reads (payloads decoded from base64)."""
    done = subprocess.run(
        [
            stack.settings.tools.temporal,
            "workflow",
            "show",
            "--address",
            stack.settings.temporal_target,
            "--workflow-id",
            workflow_id,
            "--output",
            "json",
            *codec,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return "\n".join(readable(json.loads(done.stdout)))


def test_histories_show_no_paths_commands_or_names_and_decode_through_the_codec_server(stack, workdir, codec_server):
    private = "private-plan-7Q2"
    source = workdir / "src"
    source.mkdir()
    (source / f"{private}.txt").write_text("the plan\n")
    repo = restic_repository(stack, workdir, "own", "hunter2 hunter2")
    backup = syncoxide(stack, "backup", "--repo", repo, "--source", str(source), "--json")
    assert backup.code == 0, backup.stderr
    stream = syncoxide(
        stack,
        "backup",
        "--repo",
        repo,
        "--stream-command",
        f"echo {private}-command",
        "--stream-name",
        f"{private}.dump",
        "--json",
    )
    assert stream.code == 0, stream.stderr
    sync = syncoxide(stack, "sync", "start", str(source), str(workdir / "mirror"), "--json")
    assert sync.code == 0, sync.stderr
    wait_ended(stack, sync.json["workflow_id"])
    assert (workdir / "mirror" / f"{private}.txt").exists()

    path = policy_file(workdir, extra=f'    hooks:\n      after: ["echo {private}-hook > /dev/null"]\n')
    assert syncoxide(stack, "policy", "apply", str(path), "--yes").code == 0
    policy = f"docs-{workdir.name.lower()}"
    assert syncoxide(stack, "policy", "trigger", policy).code == 0
    hooked = wait_for(
        lambda: [r for r in policy_runs(stack, policy) if r.kind == "backup" and r.finished_at],
        what="the policy's backup",
    )[0]

    runs = [backup.json["run_id"], stream.json["run_id"], sync.json["workflow_id"], hooked.id]
    url, token = codec_server
    for run in runs:
        shown = show(stack, run)
        for secret in (str(workdir), private, "hunter2"):  # ids and kinds (policy name, engine) are shown
            assert secret not in shown, f"{secret!r} readable in the history of {run}"
        decoded = show(stack, run, "--codec-endpoint", url, "--codec-auth", f"Bearer {token}")
        assert str(workdir) in decoded, f"the codec server did not decode {run}"
        assert "hunter2" not in decoded  # secrets are references, even inside the seal
    refused = subprocess.run(
        [
            stack.settings.tools.temporal,
            "workflow",
            "show",
            "--address",
            stack.settings.temporal_target,
            "--workflow-id",
            runs[0],
            "--output",
            "json",
            "--codec-endpoint",
            url,
            "--codec-auth",
            "Bearer guess",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert str(workdir) not in "\n".join(readable(json.loads(refused.stdout or "{}")))


def test_a_rotated_key_seals_new_runs_while_old_histories_still_open(stack, workdir, codec_server):
    source = workdir / "src"
    source.mkdir()
    (source / "a.txt").write_text("a\n")
    repo = restic_repository(stack, workdir, "rot", "rotation passphrase")
    before = syncoxide(stack, "backup", "--repo", repo, "--source", str(source), "--json")
    assert before.code == 0, before.stderr
    old_ids = [k["id"] for k in syncoxide(stack, "keys", "list", "--json").json]

    added = syncoxide(stack, "keys", "new", "--into", str(stack.settings.home / "payload.keys"), "--json")
    assert added.code == 0, added.stderr
    listed = syncoxide(stack, "keys", "list", "--json").json
    assert [k["id"] for k in listed] == [added.json["id"], *old_ids] and listed[0]["seals"]
    assert oct(os.stat(stack.settings.home / "payload.keys").st_mode & 0o777) == "0o600"

    after = syncoxide(stack, "backup", "--repo", repo, "--source", str(source), "--json")  # the running worker
    assert after.code == 0, after.stderr  # picks up the new key without a restart
    url, token = codec_server
    for run in (before.json["run_id"], after.json["run_id"]):
        assert str(source) in show(stack, run, "--codec-endpoint", url, "--codec-auth", f"Bearer {token}")
    history = show(stack, after.json["run_id"])
    assert added.json["id"] in history and all(old not in history for old in old_ids)  # sealed by the new key


def test_a_worker_without_the_key_fails_clearly_at_start(stack, workdir):
    missing = workdir / "no-such.keys"
    done = syncoxide(stack, "worker", env={"SYNCOXIDE_PAYLOAD_KEYS": f"file:{missing}"}, timeout=120)
    assert done.code != 0
    assert done.error_lines == [
        f"error: no payload key: cannot read secret file {missing}: No such file or directory (make one with "
        f"`syncoxide keys new --into {stack.settings.home / 'payload.keys'}` or set SYNCOXIDE_PAYLOAD_KEYS)"
    ]


def test_a_schedule_made_before_the_codec_is_sealed_again_by_keys_reseal(stack, workdir):
    from temporalio.client import (
        Client,
        Schedule,
        ScheduleActionStartWorkflow,
        ScheduleIntervalSpec,
        ScheduleSpec,
        ScheduleState,
    )
    from temporalio.contrib.pydantic import pydantic_data_converter

    schedule_id = f"scan-legacy-{workdir.name}"

    async def last_run(client) -> str:
        handle = client.get_schedule_handle(schedule_id)
        before = len((await handle.describe()).info.recent_actions)
        await handle.trigger()
        deadline = time.monotonic() + 30
        while len(actions := (await handle.describe()).info.recent_actions) == before:
            assert time.monotonic() < deadline, "the schedule did not start its workflow"
            await asyncio.sleep(0.2)
        return actions[-1].action.workflow_id

    async def legacy_schedule() -> str:
        legacy = await Client.connect(stack.settings.temporal_target, data_converter=pydantic_data_converter)
        await legacy.create_schedule(
            schedule_id,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    "HealthWorkflow", {}, id=f"legacy-{workdir.name}", task_queue=stack.settings.task_queue
                ),
                spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(days=365))]),
                state=ScheduleState(paused=True),
            ),
        )
        return await last_run(await temporal.connect(stack.settings))

    refused_run = asyncio.run(legacy_schedule())
    cause, _ = refusal(stack, refused_run)
    assert "payload not authenticated" in cause

    resealed = syncoxide(stack, "keys", "reseal", "--json")
    assert resealed.code == 0, resealed.stderr
    assert schedule_id in resealed.json["resealed"]
    assert schedule_id not in syncoxide(stack, "keys", "reseal", "--json").json["resealed"]  # nothing left to do

    async def now_runs() -> None:
        client = await temporal.connect(stack.settings)
        try:
            run = await last_run(client)
            late = await asyncio.wait_for(client.get_workflow_handle(run).result(), timeout=60)
            assert isinstance(late, list)  # it ran: the late policies it found, if any
        finally:
            await client.get_schedule_handle(schedule_id).delete()

    asyncio.run(now_runs())
