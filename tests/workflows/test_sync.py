"""SyncWorkflow against a fake sync pass: one-shot and continuous pairs, pause / resume / run-now, the typed status
query, a failing pass of a continuous pair, bisync's resync, a cron pair and cancellation.

The dev server does not skip time, so continuous pairs run every second (the shortest interval allowed)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.exceptions import ApplicationError

from syncoxide.contract import temporal as contract
from syncoxide.contract.payloads import SyncStatus, SyncSummary, SyncWorkflowInput
from syncoxide.providers import ProviderSpec
from syncoxide.sync.models import Mode, SyncOptions, SyncRequest
from tests.workflows.fakes import FakeActivities, fail, until_cancelled
from tests.workflows.helpers import eventually, failure_of, status_of


def pair(mode: Mode = Mode.sync, **options) -> SyncRequest:
    return SyncRequest(
        source=ProviderSpec(kind="local", location="/home/ana/docs"),
        destination=ProviderSpec(kind="local", location="/mnt/nas/docs"),
        mode=mode,
        options=SyncOptions(**options),
    )


async def status(handle: WorkflowHandle) -> SyncStatus:
    return await handle.query(contract.SYNC_STATUS.name, result_type=contract.SYNC_STATUS.result)


async def until(handle: WorkflowHandle, predicate, what: str, timeout: float = 20) -> SyncStatus:
    async def check():
        now = await status(handle)
        return now if predicate(now) else None

    return await eventually(check, what, timeout)


async def first_run_id(handle: WorkflowHandle) -> str:
    return (await handle.describe()).raw_description.workflow_execution_info.first_run_id


def test_a_one_shot_pair_runs_one_pass_and_returns_its_summary(scenario):
    async def body(h):
        handle = await h.start(contract.SYNC, SyncWorkflowInput(request=pair()))
        summary = await handle.result()
        return handle.id, await first_run_id(handle), summary, await status(handle)

    fakes = FakeActivities()
    workflow_id, first_run, summary, done = scenario(body, fakes)
    (passed,) = fakes.inputs(contract.SYNC_PASS, workflow_id)
    assert passed.request == pair() and passed.run_id == f"{workflow_id}-{first_run[:8]}-1"
    assert fakes.of(workflow_id)[0].queue.endswith("-engine")
    assert isinstance(summary, SyncSummary) and (summary.run_id, summary.transferred_files) == (passed.run_id, 2)
    assert done == SyncStatus(phase="done", paused=False, runs=1, last=summary, schedule="once")


def test_a_one_shot_pair_whose_pass_fails_fails_with_its_message(scenario):
    async def body(h):
        handle = await h.start(contract.SYNC, SyncWorkflowInput(request=pair()))
        return await failure_of(handle)

    fakes = FakeActivities().on(
        contract.SYNC_PASS, fail("deleting 80% of the destination: over max-delete", "GuardTripped")
    )
    failure = scenario(body, fakes)
    cause = failure.cause
    assert isinstance(cause, ApplicationError)
    assert (cause.message, cause.type) == ("deleting 80% of the destination: over max-delete", "GuardTripped")
    assert len(fakes.calls) == 1, "GuardTripped is not retried"


def test_a_continuous_pair_waits_its_interval_between_passes_and_says_so(scenario):
    async def body(h):
        handle = await h.start(contract.SYNC, SyncWorkflowInput(request=pair(), interval_s=1))
        waiting = await until(handle, lambda s: s.runs == 2 and s.phase == "waiting", "two passes")
        seen_at = datetime.now(UTC)
        await until(handle, lambda s: s.runs >= 3, "a third pass")
        await handle.cancel()
        await failure_of(handle)
        return handle.id, waiting, seen_at, await status_of(handle)

    fakes = FakeActivities()
    workflow_id, waiting, seen_at, closed = scenario(body, fakes)
    starts = [c.at for c in fakes.of(workflow_id)]
    assert len(starts) >= 3
    assert all(later - earlier >= 0.95 for earlier, later in zip(starts, starts[1:], strict=False)), starts
    assert (waiting.schedule, waiting.paused, waiting.error) == ("every 1s", False, None)
    assert waiting.last is not None and waiting.last.run_id.endswith("-2")
    assert waiting.next_pass is not None and abs((waiting.next_pass - seen_at).total_seconds()) < 1.5
    assert closed == WorkflowExecutionStatus.CANCELED


def test_pause_stops_the_passes_until_resume(scenario):
    async def body(h):
        handle = await h.start(contract.SYNC, SyncWorkflowInput(request=pair(), interval_s=1))
        await until(handle, lambda s: s.runs >= 1, "a first pass")
        await handle.signal(contract.SYNC_PAUSE.name)
        paused = await until(handle, lambda s: s.phase == "paused", "paused")
        calls = len(h.fakes.calls)
        await asyncio.sleep(2.2)
        still = await status(handle)
        calls_while_paused = len(h.fakes.calls) - calls
        await handle.signal(contract.SYNC_RESUME.name)
        resumed = await until(handle, lambda s: s.runs > still.runs, "a pass after resume")
        await handle.cancel()
        return paused, still, calls_while_paused, resumed

    paused, still, calls_while_paused, resumed = scenario(body)
    assert paused.paused and still.phase == "paused" and still.runs == paused.runs
    assert calls_while_paused == 0
    assert not resumed.paused


def test_run_now_runs_a_pass_at_once_and_lifts_a_pause(scenario):
    async def body(h):
        handle = await h.start(contract.SYNC, SyncWorkflowInput(request=pair(), interval_s=3600))
        first = await until(handle, lambda s: s.runs == 1 and s.phase == "waiting", "a first pass")
        await handle.signal(contract.SYNC_RUN_NOW.name)
        second = await until(handle, lambda s: s.runs == 2 and s.phase == "waiting", "a pass on run-now")
        await handle.signal(contract.SYNC_PAUSE.name)
        paused = await until(handle, lambda s: s.paused, "paused")
        await handle.signal(contract.SYNC_RUN_NOW.name)
        third = await until(handle, lambda s: s.runs == 3 and s.phase == "waiting", "a pass on run-now, paused")
        await handle.cancel()
        return first, second, paused, third

    first, second, paused, third = scenario(body)
    assert first.schedule == "every 1h" and first.next_pass is not None
    assert (first.next_pass - datetime.now(UTC)).total_seconds() > 3000
    assert second.last is not None and second.last.run_id.endswith("-2")
    assert paused.runs == 2 and paused.phase == "waiting"  # a pause takes effect when the next pass is due
    assert not third.paused and third.last is not None and third.last.run_id.endswith("-3")


def test_a_continuous_pair_survives_a_failing_pass_and_reports_it_until_a_pass_succeeds(scenario):
    outcomes = iter(["ok", "fail", "ok"])

    def sync_pass(data):
        if next(outcomes, "ok") == "fail":
            raise ApplicationError("sftp://nas: connection refused", type="NotFound", non_retryable=True)
        return fakes.default(contract.SYNC_PASS)(data)

    async def body(h):
        handle = await h.start(contract.SYNC, SyncWorkflowInput(request=pair(), interval_s=1))
        failed = await until(handle, lambda s: s.runs == 2, "a failed second pass")
        recovered = await until(handle, lambda s: s.runs == 3, "a third pass")
        await handle.cancel()
        return failed, recovered

    fakes = FakeActivities().on(contract.SYNC_PASS, sync_pass)
    failed, recovered = scenario(body, fakes)
    assert failed.error is not None and failed.error.endswith("sftp://nas: connection refused")  # "NotFound: ..."
    assert failed.last is not None and failed.last.run_id.endswith("-1"), "the last summary is the last good pass"
    assert recovered.error is None and recovered.last is not None and recovered.last.run_id.endswith("-3")


def test_resync_applies_until_a_pass_without_failures_made_the_baseline(scenario):
    failures = iter([3, 0, 0])

    def sync_pass(data):
        summary = fakes.default(contract.SYNC_PASS)(data)
        return summary.model_copy(update={"failed": next(failures, 0)})

    async def body(h):
        handle = await h.start(contract.SYNC, SyncWorkflowInput(request=pair(Mode.bisync, resync=True), interval_s=1))
        await until(handle, lambda s: s.runs >= 3, "three passes")
        await handle.cancel()
        return handle.id

    fakes = FakeActivities().on(contract.SYNC_PASS, sync_pass)
    workflow_id = scenario(body, fakes)
    resync = [data.request.options.resync for data in fakes.inputs(contract.SYNC_PASS, workflow_id)]
    assert resync[:3] == [True, True, False]


def test_a_pair_on_a_cron_waits_for_its_first_time_and_run_now_runs_it_early(scenario):
    async def body(h):
        handle = await h.start(contract.SYNC, SyncWorkflowInput(request=pair(), cron="0 3 1 1 *"))
        waiting = await until(handle, lambda s: s.phase == "waiting", "waiting for the cron")
        calls_before = len(h.fakes.calls)
        await handle.signal(contract.SYNC_RUN_NOW.name)
        ran = await until(handle, lambda s: s.runs == 1 and s.phase == "waiting", "a pass on run-now")
        await handle.cancel()
        return waiting, calls_before, ran

    waiting, calls_before, ran = scenario(body)
    now = datetime.now(UTC)
    this_year = datetime(now.year, 1, 1, 3, tzinfo=UTC)
    due = this_year if this_year > now else this_year.replace(year=now.year + 1)
    assert (waiting.runs, calls_before, waiting.schedule) == (0, 0, "cron 0 3 1 1 * (UTC)")
    assert waiting.next_pass == due
    assert ran.next_pass == waiting.next_pass and ran.last is not None


def test_cancelling_a_pair_during_a_pass_ends_it_cancelled(scenario):
    async def body(h):
        handle = await h.start(contract.SYNC, SyncWorkflowInput(request=pair(), interval_s=1))
        running = await until(handle, lambda s: s.phase == "running", "a pass running")
        await eventually(lambda: h.fakes.calls, "the pass started")
        await handle.cancel()
        await failure_of(handle)
        return running, await status_of(handle)

    running, closed = scenario(body, FakeActivities().on(contract.SYNC_PASS, until_cancelled))
    assert running.runs == 0
    assert closed == WorkflowExecutionStatus.CANCELED
