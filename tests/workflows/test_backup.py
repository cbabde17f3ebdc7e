"""BackupWorkflow against fake activities: the run's bookkeeping around the engine, hooks, notifications,
retention (the policy's own or the repository's) and the catalog ingestion it leaves running."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.exceptions import ApplicationError

from syncoxide.contract import temporal as contract
from syncoxide.contract.payloads import BackupRequest, BackupResult, FinishRunInput
from syncoxide.models import Hooks, Notify, Retention, RunKind, RunStatus
from tests.workflows.fakes import FakeActivities, fail, repository, until_cancelled
from tests.workflows.helpers import eventually, exists, failure_of, ingest_child, status_of

HOOKS = Hooks(
    before=["pg_dump app > /srv/app.sql", "sync"], after=["rm /srv/app.sql"], on_failure=["alert-ops"], timeout_s=20
)
NOTIFY = Notify(urls=["json://localhost/hook"])


def request(**changes) -> BackupRequest:
    return BackupRequest(repository_id="repo-1", sources=["/home/ana"], **changes)


def test_a_backup_is_recorded_around_the_engine_and_its_catalog_ingestion_is_left_running(scenario):
    async def body(h):
        handle = await h.start(contract.BACKUP, request(policy_id="nightly"))
        result = await handle.result()
        child = await ingest_child(h.client, handle.id)
        return handle.id, result, child

    fakes = FakeActivities()
    run_id, result, child = scenario(body, fakes)
    assert fakes.steps(run_id) == ["start_run backup", "backup", "finish_run succeeded"]
    started = fakes.inputs(contract.START_RUN, run_id)[0]
    assert (started.run_id, started.kind, started.repository_id, started.policy_id) == (
        run_id,
        RunKind.backup,
        "repo-1",
        "nightly",
    )
    assert started.details["sources"] == ["/home/ana"] and "notify" not in started.details
    engine = fakes.inputs(contract.BACKUP_ACTIVITY, run_id)[0]
    assert engine.run_id == run_id and engine.repository == fakes.repository and engine.request.sources == ["/home/ana"]
    assert fakes.inputs(contract.FINISH_RUN, run_id) == [
        FinishRunInput(
            run_id=run_id,
            status=RunStatus.succeeded,
            files=12,
            bytes=3400,
            added_bytes=1200,
            snapshot_id="snap-1",
            warnings=["kept no xattrs"],
        )
    ]
    assert isinstance(result, BackupResult)
    assert (result.run_id, result.snapshot_id, result.stats.files, result.retention) == (run_id, "snap-1", 12, None)
    catalog = f"{run_id}-catalog"
    assert fakes.steps(catalog) == ["start_run catalog", "catalog_ingest", "finish_run succeeded"]
    assert fakes.inputs(contract.CATALOG_INGEST_ACTIVITY, catalog)[0].request.snapshot_ids is None
    assert fakes.inputs(contract.FINISH_RUN, catalog)[0].files == 77 and child.entries == 77


def test_every_activity_runs_on_its_contract_queue(scenario):
    async def body(h):
        handle = await h.start(contract.BACKUP, request(hooks=HOOKS, notify=NOTIFY, retention=Retention(keep_last=3)))
        await handle.result()
        await ingest_child(h.client, handle.id)
        return h.queue

    fakes = FakeActivities()
    queue = scenario(body, fakes)
    by_name = {spec.name: spec for spec in contract.ACTIVITIES}
    seen = {(call.name, call.queue) for call in fakes.calls}
    assert {name for name, _ in seen} == {
        "start_run",
        "run_hooks",
        "backup",
        "finish_run",
        "notify_run",
        "retention",
        "catalog_ingest",
    }
    assert all(queue_name == by_name[name].queue.on(queue) for name, queue_name in seen), seen


def test_hooks_run_before_and_after_the_engine(scenario):
    async def body(h):
        handle = await h.start(contract.BACKUP, request(hooks=HOOKS, policy_id="nightly"))
        await handle.result()
        return handle.id

    fakes = FakeActivities()
    run_id = scenario(body, fakes)
    assert fakes.steps(run_id) == [
        "start_run backup",
        "run_hooks before",
        "backup",
        "run_hooks after",
        "finish_run succeeded",
    ]
    before, after = fakes.inputs(contract.RUN_HOOKS, run_id)
    assert (before.parent_run_id, before.repository_id, before.policy_id) == (run_id, "repo-1", "nightly")
    assert (before.commands, before.timeout_s, after.commands) == (HOOKS.before, 20, HOOKS.after)


def test_a_failed_engine_is_recorded_then_on_failure_hooks_and_a_notification_and_the_run_fails_with_its_message(
    scenario,
):
    async def body(h):
        handle = await h.start(contract.BACKUP, request(hooks=HOOKS, notify=NOTIFY, retention=Retention(keep_last=1)))
        return handle.id, await failure_of(handle), await exists(h.client, f"{handle.id}-catalog")

    fakes = FakeActivities().on(contract.BACKUP_ACTIVITY, fail("source /home/ana is not readable", "InvalidInput"))
    run_id, failure, ingested = scenario(body, fakes)
    assert fakes.steps(run_id) == [
        "start_run backup",
        "run_hooks before",
        "backup",
        "finish_run failed",
        "run_hooks on_failure",
        "notify_run failed",
    ]
    assert fakes.inputs(contract.FINISH_RUN, run_id) == [
        FinishRunInput(run_id=run_id, status=RunStatus.failed, error="source /home/ana is not readable")
    ]
    notified = fakes.inputs(contract.NOTIFY_RUN, run_id)[0]
    assert (notified.status, notified.error, notified.notify) == (
        RunStatus.failed,
        "source /home/ana is not readable",
        NOTIFY,
    )
    assert isinstance(failure, ApplicationError)
    assert (failure.message, failure.type, failure.non_retryable) == (
        "source /home/ana is not readable",
        "InvalidInput",
        True,
    )
    assert not ingested, "a failed backup starts no catalog ingestion"


def test_a_failing_before_hook_fails_the_run_without_running_the_engine(scenario):
    async def body(h):
        handle = await h.start(contract.BACKUP, request(hooks=HOOKS))
        return handle.id, await failure_of(handle)

    fakes = FakeActivities().on(
        contract.RUN_HOOKS, lambda d: fail("hook pg_dump exited 1")(d) if d.stage == "before" else len(d.commands)
    )
    run_id, failure = scenario(body, fakes)
    assert fakes.steps(run_id) == ["start_run backup", "run_hooks before", "finish_run failed", "run_hooks on_failure"]
    assert fakes.inputs(contract.FINISH_RUN, run_id)[0].error == "hook pg_dump exited 1"
    assert isinstance(failure, ApplicationError) and failure.message == "hook pg_dump exited 1"


def test_a_failing_after_hook_fails_a_backup_the_engine_made(scenario):
    async def body(h):
        handle = await h.start(contract.BACKUP, request(hooks=HOOKS))
        return handle.id, await failure_of(handle)

    fakes = FakeActivities().on(
        contract.RUN_HOOKS, lambda d: fail("hook rm exited 2")(d) if d.stage == "after" else len(d.commands)
    )
    run_id, failure = scenario(body, fakes)
    assert fakes.steps(run_id) == [
        "start_run backup",
        "run_hooks before",
        "backup",
        "run_hooks after",
        "finish_run failed",
        "run_hooks on_failure",
    ]
    assert isinstance(failure, ApplicationError) and failure.message == "hook rm exited 2"


def test_a_failing_on_failure_hook_does_not_hide_why_the_run_failed(scenario):
    def hooks(data):
        if data.stage == "on_failure":
            raise ApplicationError("alert-ops: command not found", type="HookFailed", non_retryable=True)
        return len(data.commands)

    async def body(h):
        handle = await h.start(contract.BACKUP, request(hooks=HOOKS, notify=NOTIFY))
        return handle.id, await failure_of(handle)

    fakes = FakeActivities().on(contract.RUN_HOOKS, hooks).on(contract.BACKUP_ACTIVITY, fail("repository is full"))
    run_id, failure = scenario(body, fakes)
    assert fakes.steps(run_id)[-2:] == ["run_hooks on_failure", "notify_run failed"]
    assert isinstance(failure, ApplicationError) and (failure.message, failure.type) == (
        "repository is full",
        "EngineFailed",
    )


@pytest.mark.parametrize("notify", [None, Notify(urls=[])], ids=["no notify", "no urls"])
def test_no_notification_without_urls(scenario, notify):
    async def body(h):
        ok = await h.start(contract.BACKUP, request(notify=notify))
        await ok.result()
        failed = await h.start(contract.BACKUP, request(notify=notify))
        await failure_of(failed)
        return ok.id, failed.id

    attempts = iter([None, "engine failed"])

    def engine(data):
        if next(attempts):
            raise ApplicationError("engine failed", type="EngineFailed", non_retryable=True)
        return FakeActivities().default(contract.BACKUP_ACTIVITY)(data)

    fakes = FakeActivities().on(contract.BACKUP_ACTIVITY, engine)
    ok, failed = scenario(body, fakes)
    assert fakes.steps(ok) == ["start_run backup", "backup", "finish_run succeeded"]
    assert fakes.steps(failed) == ["start_run backup", "backup", "finish_run failed"]
    assert not fakes.inputs(contract.NOTIFY_RUN)


def test_a_success_is_notified_after_it_is_recorded_and_a_notification_that_fails_changes_nothing(scenario):
    async def body(h):
        sent = await h.start(contract.BACKUP, request(notify=NOTIFY, policy_id="nightly"))
        await sent.result()
        return sent.id

    fakes = FakeActivities()
    run_id = scenario(body, fakes)
    assert fakes.steps(run_id) == ["start_run backup", "backup", "finish_run succeeded", "notify_run succeeded"]
    notified = fakes.inputs(contract.NOTIFY_RUN, run_id)[0]
    assert (notified.run_id, notified.policy_id, notified.error) == (run_id, "nightly", None)

    async def refused(h):
        handle = await h.start(contract.BACKUP, request(notify=NOTIFY, retention=Retention(keep_last=1)))
        return handle.id, await handle.result()

    failing = FakeActivities().on(contract.NOTIFY_RUN, fail("URL #1 is not one apprise understands", "InvalidInput"))
    run_id, result = scenario(refused, failing)
    assert result.snapshot_id == "snap-1" and result.retention is not None
    assert failing.steps(run_id)[2:5] == ["finish_run succeeded", "notify_run succeeded", "start_run retention"]


def test_an_undeliverable_notification_does_not_hold_the_backup(scenario):
    async def body(h):
        handle = await h.start(contract.BACKUP, request(notify=NOTIFY))
        try:
            await asyncio.wait_for(asyncio.shield(handle.result()), 10)
        except TimeoutError:
            pass
        status = await status_of(handle)
        if status == WorkflowExecutionStatus.RUNNING:
            await handle.terminate("the test is over")
        return status

    fakes = FakeActivities().on(
        contract.NOTIFY_RUN,
        lambda d: (_ for _ in ()).throw(ApplicationError("could not deliver the notification", type="NotifyFailed")),
    )
    status = scenario(body, fakes)
    assert len(fakes.inputs(contract.NOTIFY_RUN)) >= 2  # it was retried
    assert status == WorkflowExecutionStatus.COMPLETED


@pytest.mark.parametrize(
    ("own", "repository_policy", "used", "only_policy"),
    [
        (Retention(keep_daily=7), Retention(keep_last=30), Retention(keep_daily=7), "nightly"),
        (None, Retention(keep_last=30), Retention(keep_last=30), None),
        (Retention(), Retention(keep_last=30), Retention(keep_last=30), None),
    ],
    ids=["the policy's own", "the repository's", "an empty one is none"],
)
def test_retention_follows_a_successful_backup(scenario, own, repository_policy, used, only_policy):
    async def body(h):
        handle = await h.start(contract.BACKUP, request(policy_id="nightly", retention=own))
        result = await handle.result()
        await ingest_child(h.client, handle.id)
        return handle.id, result

    fakes = FakeActivities(repository(retention=repository_policy))
    run_id, result = scenario(body, fakes)
    retention_run = f"{run_id}-retention"
    assert fakes.steps(run_id) == [
        "start_run backup",
        "backup",
        "finish_run succeeded",
        "start_run retention",
        "retention",
        "finish_run succeeded",
    ]
    started = fakes.inputs(contract.START_RUN, run_id)[1]
    assert (started.run_id, started.kind, started.workflow_id, started.policy_id) == (
        retention_run,
        RunKind.retention,
        run_id,
        only_policy,
    )
    engine = fakes.inputs(contract.RETENTION_ACTIVITY, run_id)[0]
    assert (engine.run_id, engine.retention, engine.compact, engine.only_policy) == (
        retention_run,
        used,
        True,
        only_policy,
    )
    assert fakes.inputs(contract.FINISH_RUN, run_id)[1] == FinishRunInput(
        run_id=retention_run, status=RunStatus.succeeded, files=2
    )
    assert result.retention is not None
    assert (result.retention.run_id, result.retention.deleted) == (retention_run, ["snap-0", "snap-00"])


def test_no_retention_without_a_policy_and_a_failed_retention_leaves_the_backup_standing(scenario):
    async def body(h):
        plain = await h.start(contract.BACKUP, request())
        await plain.result()
        kept = await h.start(contract.BACKUP, request(retention=Retention(keep_last=2)))
        result = await kept.result()
        await ingest_child(h.client, kept.id)
        return plain.id, kept.id, result

    fakes = FakeActivities().on(contract.RETENTION_ACTIVITY, fail("borg delete: repository locked", "RepositoryLocked"))
    plain, kept, result = scenario(body, fakes)
    assert "retention" not in fakes.names(plain)
    assert fakes.steps(kept)[-3:] == ["start_run retention", "retention", "finish_run failed"]
    assert fakes.inputs(contract.FINISH_RUN, kept)[-1].error == "borg delete: repository locked"
    assert result.snapshot_id == "snap-1" and result.retention is None
    assert fakes.steps(f"{kept}-catalog"), "the catalog is brought up to date after a failed retention too"


def test_a_cancelled_backup_is_recorded_as_cancelled(scenario):
    async def body(h):
        handle = await h.start(contract.BACKUP, request(hooks=HOOKS, notify=NOTIFY))
        await eventually(lambda: h.fakes.inputs(contract.BACKUP_ACTIVITY, handle.id), "the engine started")
        await handle.cancel()
        await failure_of(handle)
        return handle.id, await status_of(handle)

    fakes = FakeActivities().on(contract.BACKUP_ACTIVITY, until_cancelled)
    run_id, status = scenario(body, fakes)
    assert status == WorkflowExecutionStatus.CANCELED
    steps = fakes.steps(run_id)
    assert steps[:3] == ["start_run backup", "run_hooks before", "backup"]
    assert set(steps[3:]) == {"finish_run cancelled"}, "no after or on_failure hooks, no notification"
    assert fakes.inputs(contract.FINISH_RUN, run_id)[0] == FinishRunInput(
        run_id=run_id, status=RunStatus.cancelled, error="cancelled"
    )


def test_a_cancelled_backup_is_recorded_once(scenario):
    async def body(h):
        handle = await h.start(contract.BACKUP, request())
        await eventually(lambda: h.fakes.inputs(contract.BACKUP_ACTIVITY, handle.id), "the engine started")
        await handle.cancel()
        await failure_of(handle)
        return handle.id

    fakes = FakeActivities().on(contract.BACKUP_ACTIVITY, until_cancelled)
    run_id = scenario(body, fakes)
    assert fakes.steps(run_id) == ["start_run backup", "backup", "finish_run cancelled"]


def test_a_backup_cancelled_in_its_before_hook_never_reaches_the_engine(scenario):
    async def body(h):
        handle = await h.start(contract.BACKUP, request(hooks=HOOKS))
        await eventually(lambda: h.fakes.inputs(contract.RUN_HOOKS, handle.id), "the hook started")
        await handle.cancel()
        await failure_of(handle)
        return handle.id, await status_of(handle)

    fakes = FakeActivities().on(contract.RUN_HOOKS, until_cancelled)
    run_id, status = scenario(body, fakes)
    assert status == WorkflowExecutionStatus.CANCELED
    assert fakes.steps(run_id) == ["start_run backup", "run_hooks before", "finish_run cancelled"]


def test_a_retention_run_that_cannot_be_recorded_leaves_the_backup_standing(scenario):
    def start(data):
        if data.kind == RunKind.retention:
            raise ApplicationError("no repository with id repo-1", type="NotFound", non_retryable=True)
        return fakes.repository

    async def body(h):
        handle = await h.start(contract.BACKUP, request(retention=Retention(keep_last=1)))
        try:
            return handle.id, await asyncio.wait_for(handle.result(), 30)
        except Exception as failed:  # noqa: BLE001 - what the assertion below reports
            return handle.id, failed

    fakes = FakeActivities()
    fakes.on(contract.START_RUN, start)
    run_id, outcome = scenario(body, fakes)
    assert fakes.steps(run_id)[:3] == ["start_run backup", "backup", "finish_run succeeded"]
    assert isinstance(outcome, BackupResult), f"the backup was recorded succeeded, the workflow ended {outcome!r}"
