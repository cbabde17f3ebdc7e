"""docs/operators.md's Temporal CLI recipes, run with the real `temporal` CLI against the stack."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest

from syncoxide.models import RunStatus
from tests.e2e.cli import syncoxide
from tests.e2e.test_policies import policy_file, policy_runs, wait_for

pytestmark = pytest.mark.e2e


def backups(stack, name: str) -> list:
    return [r for r in policy_runs(stack, name) if r.kind == "backup"]


def temporal_cli(stack, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [stack.settings.tools.temporal, *args, "--address", stack.settings.temporal_target],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_recipes(stack, workdir):
    name = f"docs-{workdir.name.lower()}"
    gate = workdir / "broken"
    extra = f"""\
    hooks:
      before: ["test ! -e {gate} || exit 9", "test ! -e {workdir / "slow"} || sleep 60"]
"""
    assert syncoxide(stack, "policy", "apply", str(policy_file(workdir, every="1h", extra=extra)), "--yes").code == 0
    schedule_id = f"policy-{name}"

    # See the schedules and their next runs.
    assert schedule_id in temporal_cli(stack, "schedule", "list").stdout
    described = json.loads(temporal_cli(stack, "schedule", "describe", "-s", schedule_id, "-o", "json").stdout)
    assert described["info"]["futureActionTimes"]

    # Pause one (and unpause it).
    temporal_cli(stack, "schedule", "toggle", "-s", schedule_id, "--pause", "--reason", "disk swap")
    listed = syncoxide(stack, "policy", "list", "--json").json
    assert next(p for p in listed if p["policy"] == name)["state"] == "paused"
    temporal_cli(stack, "schedule", "toggle", "-s", schedule_id, "--unpause", "--reason", "disk swapped")

    # Backfill a missed window: every 1h over the last three hours.
    now = datetime.now(UTC)
    start, end = (now - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ"), now.strftime("%Y-%m-%dT%H:%M:%SZ")
    temporal_cli(
        stack,
        "schedule",
        "backfill",
        "-s",
        schedule_id,
        "--start-time",
        start,
        "--end-time",
        end,
        "--overlap-policy",
        "BufferAll",
    )
    wait_for(
        lambda: len([r for r in backups(stack, name) if r.status == RunStatus.succeeded]) >= 3,
        what="three backfilled backups",
    )

    # List failed backups of a policy.
    gate.write_text("")
    temporal_cli(stack, "schedule", "trigger", "-s", schedule_id, "--overlap-policy", "AllowAll")
    failed = wait_for(lambda: [r for r in backups(stack, name) if r.status == RunStatus.failed], what="a failure")
    query = f"PolicyId='{name}' AND RunKind='backup' AND ExecutionStatus='Failed'"
    listed = temporal_cli(stack, "workflow", "list", "--query", query, "-o", "json").stdout
    assert failed[0].id in listed

    # Reset a failed (or stuck) run once its cause is fixed: it runs again under the same id.
    gate.unlink()
    temporal_cli(
        stack, "workflow", "reset", "-w", failed[0].id, "-t", "FirstWorkflowTask", "--reason", "the cause was fixed"
    )
    wait_for(
        lambda: next(r for r in backups(stack, name) if r.id == failed[0].id).status == RunStatus.succeeded,
        what="the reset run to succeed",
    )

    # Cancel a running one.
    (workdir / "slow").write_text("")
    temporal_cli(stack, "schedule", "trigger", "-s", schedule_id, "--overlap-policy", "AllowAll")
    running = wait_for(
        lambda: [r for r in backups(stack, name) if r.status == RunStatus.running], what="a running backup"
    )
    time.sleep(2)
    temporal_cli(stack, "workflow", "cancel", "-w", running[0].id)
    wait_for(
        lambda: next(r for r in backups(stack, name) if r.id == running[0].id).status == RunStatus.cancelled,
        timeout=60,
        what="the run to be recorded as cancelled",
    )
    assert syncoxide(stack, "policy", "delete", name, "--yes").code == 0
