"""MaintenanceWorkflow against fake activities: retention (then compact) and/or a check, each its own run."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError

from syncoxide.contract import temporal as contract
from syncoxide.contract.payloads import CheckResult, FinishRunInput, MaintenanceRequest
from syncoxide.models import Retention, RunKind, RunStatus
from tests.workflows.fakes import FakeActivities, fail, repository
from tests.workflows.helpers import exists, failure_of, ingest_child


def test_retention_then_a_check_each_recorded_as_its_own_run(scenario):
    async def body(h):
        handle = await h.start(
            contract.MAINTENANCE, MaintenanceRequest(repository_id="repo-1", check="metadata", compact=False)
        )
        result = await handle.result()
        await ingest_child(h.client, handle.id)
        return handle.id, result

    fakes = FakeActivities(repository(retention=Retention(keep_last=5)))
    run_id, result = scenario(body, fakes)
    assert fakes.steps(run_id) == [
        "get_repository",
        "start_run retention",
        "retention",
        "finish_run succeeded",
        "start_run check",
        "check",
        "finish_run succeeded",
    ]
    assert fakes.inputs(contract.GET_REPOSITORY, run_id) == ["repo-1"]
    retention_start, check_start = fakes.inputs(contract.START_RUN, run_id)
    assert (retention_start.run_id, retention_start.kind, retention_start.workflow_id) == (
        f"{run_id}-retention",
        RunKind.retention,
        run_id,
    )
    assert (check_start.run_id, check_start.kind, check_start.details) == (
        f"{run_id}-check",
        RunKind.check,
        {"verify_data": False, "subset_percent": None},
    )
    engine = fakes.inputs(contract.RETENTION_ACTIVITY, run_id)[0]
    assert (engine.retention, engine.compact, engine.only_policy) == (Retention(keep_last=5), False, None)
    assert fakes.inputs(contract.FINISH_RUN, run_id)[0].files == 2
    assert result.retention is not None and result.retention.deleted == ["snap-0", "snap-00"]
    assert (result.check, result.check_run_id) == (CheckResult(ok=True, level="metadata"), f"{run_id}-check")
    assert fakes.steps(f"{run_id}-catalog") == ["start_run catalog", "catalog_ingest", "finish_run succeeded"]


@pytest.mark.parametrize(
    ("request_retention", "repository_retention", "apply", "used"),
    [
        (Retention(keep_weekly=4), Retention(keep_last=5), True, Retention(keep_weekly=4)),
        (None, Retention(keep_last=5), True, Retention(keep_last=5)),
        (None, None, True, None),
        (None, Retention(keep_last=5), False, None),
        (Retention(), None, True, None),
    ],
    ids=["the request's", "the repository's", "none at all", "not asked for", "an empty one"],
)
def test_which_retention_runs(scenario, request_retention, repository_retention, apply, used):
    async def body(h):
        handle = await h.start(
            contract.MAINTENANCE,
            MaintenanceRequest(repository_id="repo-1", retention=request_retention, apply_retention=apply),
        )
        result = await handle.result()
        return handle.id, result, await exists(h.client, f"{handle.id}-catalog")

    fakes = FakeActivities(repository(retention=repository_retention))
    run_id, result, ingested = scenario(body, fakes)
    if used is None:
        assert fakes.steps(run_id) == ["get_repository"]
        assert result.retention is None and not ingested
    else:
        assert [r.retention for r in fakes.inputs(contract.RETENTION_ACTIVITY, run_id)] == [used]
        assert fakes.inputs(contract.RETENTION_ACTIVITY, run_id)[0].compact is True
        assert result.retention is not None and ingested
    assert result.check is None and result.check_run_id is None


def test_a_data_check_reads_the_subset_asked_for(scenario):
    async def body(h):
        handle = await h.start(
            contract.MAINTENANCE,
            MaintenanceRequest(repository_id="repo-1", apply_retention=False, check="data", subset_percent=12.5),
        )
        return handle.id, await handle.result()

    fakes = FakeActivities()
    run_id, result = scenario(body, fakes)
    assert fakes.steps(run_id) == ["get_repository", "start_run check", "check", "finish_run succeeded"]
    engine = fakes.inputs(contract.CHECK_ACTIVITY, run_id)[0]
    assert (engine.run_id, engine.verify_data, engine.subset_percent) == (f"{run_id}-check", True, 12.5)
    assert result.check is not None and result.check.level == "data"


def test_a_check_that_finds_problems_is_recorded_failed_and_fails_the_run_as_check_failed(scenario):
    async def body(h):
        handle = await h.start(contract.MAINTENANCE, MaintenanceRequest(repository_id="repo-1", check="metadata"))
        return handle.id, await failure_of(handle)

    problems = ["pack 3f2a: hash mismatch", "index 01: missing pack 3f2a"]
    fakes = FakeActivities(repository(retention=Retention(keep_last=5)))
    fakes.on(contract.CHECK_ACTIVITY, lambda d: CheckResult(ok=False, level="metadata", problems=problems))
    run_id, failure = scenario(body, fakes)
    message = "check (metadata) of repository photos found 2 problem(s), first: pack 3f2a: hash mismatch"
    assert fakes.steps(run_id)[-3:] == ["start_run check", "check", "finish_run failed"]
    assert fakes.inputs(contract.FINISH_RUN, run_id)[-1] == FinishRunInput(
        run_id=f"{run_id}-check", status=RunStatus.failed, error=message
    )
    assert fakes.inputs(contract.FINISH_RUN, run_id)[0].status == RunStatus.succeeded, "the retention stands"
    assert isinstance(failure, ApplicationError) and (failure.message, failure.type) == (message, "CheckFailed")


def test_a_check_that_cannot_run_and_a_failed_retention_fail_the_run(scenario):
    async def body(h):
        unreachable = await h.start(
            contract.MAINTENANCE, MaintenanceRequest(repository_id="repo-1", apply_retention=False, check="metadata")
        )
        locked = await h.start(
            contract.MAINTENANCE,
            MaintenanceRequest(repository_id="repo-1", check="metadata", retention=Retention(keep_last=1)),
        )
        return unreachable.id, await failure_of(unreachable), locked.id, await failure_of(locked)

    fakes = FakeActivities().on(contract.CHECK_ACTIVITY, fail("wrong passphrase", "WrongPassphrase"))
    fakes.on(contract.RETENTION_ACTIVITY, fail("repository locked", "RepositoryLocked"))
    unreachable, unreachable_failure, locked, locked_failure = scenario(body, fakes)
    assert fakes.steps(unreachable) == ["get_repository", "start_run check", "check", "finish_run failed"]
    assert isinstance(unreachable_failure, ApplicationError)
    assert (unreachable_failure.message, unreachable_failure.type) == ("wrong passphrase", "WrongPassphrase")
    assert fakes.steps(locked) == ["get_repository", "start_run retention", "retention", "finish_run failed"]
    assert isinstance(locked_failure, ApplicationError) and locked_failure.message == "repository locked"
