"""RestoreWorkflow, the catalog workflows (ingest, scan, cleanup) and HealthWorkflow against fake activities,
and the worker's refusal of a workflow started without one sealed input."""

from __future__ import annotations

import dataclasses
import uuid

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError

from syncoxide.contract import temporal as contract
from syncoxide.contract.payloads import (
    CatalogIngestRequest,
    CleanupRequest,
    FinishRunInput,
    HealthRequest,
    RestoreRequest,
    ScanRequest,
    ScanSummary,
)
from syncoxide.models import Overwrite, RunKind, RunStatus
from tests.workflows.fakes import FakeActivities, fail, until_cancelled
from tests.workflows.helpers import eventually, failure_of, innermost, status_of


def restore_request() -> RestoreRequest:
    return RestoreRequest(
        repository_id="repo-1",
        snapshot_id="snap-7",
        target="/srv/restore",
        paths=["/home/ana/docs"],
        overwrite=Overwrite.if_newer,
    )


def test_a_restore_is_recorded_around_the_engine(scenario):
    async def body(h):
        handle = await h.start(contract.RESTORE, restore_request())
        return handle.id, await handle.result()

    fakes = FakeActivities()
    run_id, result = scenario(body, fakes)
    assert fakes.steps(run_id) == ["start_run restore", "restore", "finish_run succeeded"]
    started = fakes.inputs(contract.START_RUN, run_id)[0]
    assert started.details == {
        "snapshot_id": "snap-7",
        "target": "/srv/restore",
        "paths": ["/home/ana/docs"],
        "overwrite": "if-newer",
    }
    engine = fakes.inputs(contract.RESTORE_ACTIVITY, run_id)[0]
    assert engine.repository == fakes.repository and engine.request == restore_request()
    assert fakes.inputs(contract.FINISH_RUN, run_id)[0] == FinishRunInput(
        run_id=run_id, status=RunStatus.succeeded, files=4, bytes=900, snapshot_id="snap-7"
    )
    assert (result.run_id, result.snapshot_id, result.target) == (run_id, "snap-7", "/srv/restore")
    assert (result.files, result.bytes, result.verified, result.kept) == (4, 900, 4, 1)


def test_a_restore_that_fails_verification_is_recorded_failed_and_fails_with_its_message(scenario):
    async def body(h):
        handle = await h.start(contract.RESTORE, restore_request())
        return handle.id, await failure_of(handle)

    message = "restored /srv/restore/docs/a.txt has size 3, the snapshot says 4"
    fakes = FakeActivities().on(contract.RESTORE_ACTIVITY, fail(message, "VerificationFailed"))
    run_id, failure = scenario(body, fakes)
    assert fakes.steps(run_id) == ["start_run restore", "restore", "finish_run failed"]
    assert fakes.inputs(contract.FINISH_RUN, run_id)[0].error == message
    assert isinstance(failure, ApplicationError) and (failure.message, failure.type) == (message, "VerificationFailed")


def test_a_run_whose_repository_is_unknown_fails_before_any_engine_work(scenario):
    async def body(h):
        handle = await h.start(contract.RESTORE, restore_request())
        return handle.id, await failure_of(handle)

    fakes = FakeActivities().on(contract.START_RUN, lambda d: None)
    run_id, failure = scenario(body, fakes)
    assert fakes.names(run_id) == ["start_run"]
    assert isinstance(failure, ApplicationError)
    assert (failure.message, failure.type) == (f"run {run_id} names no repository", "InvalidInput")


def test_a_bookkeeping_error_of_a_non_retryable_type_is_not_retried(scenario):
    async def body(h):
        handle = await h.start(contract.RESTORE, restore_request())
        return handle.id, await failure_of(handle)

    def unknown(data):  # retryable as raised: the contract's retry policy names the type non-retryable
        raise ApplicationError("no repository with id repo-1", type="NotFound")

    fakes = FakeActivities().on(contract.START_RUN, unknown)
    run_id, failure = scenario(body, fakes)
    assert [c.attempt for c in fakes.of(run_id)] == [1]
    cause = innermost(failure)
    assert isinstance(cause, ApplicationError) and (cause.message, cause.type) == (
        "no repository with id repo-1",
        "NotFound",
    )


def test_a_transient_bookkeeping_error_is_retried(scenario):
    async def body(h):
        handle = await h.start(contract.RESTORE, restore_request())
        return handle.id, await handle.result()

    def flaky(data):
        if len(fakes.inputs(contract.START_RUN)) == 1:
            raise ApplicationError("connection to PostgreSQL lost", type="ServiceUnavailable")
        return fakes.repository

    fakes = FakeActivities()
    fakes.on(contract.START_RUN, flaky)
    run_id, result = scenario(body, fakes)
    assert [(c.name, c.attempt) for c in fakes.of(run_id)][:2] == [("start_run", 1), ("start_run", 2)]
    assert result.files == 4


def test_catalog_ingestion_records_its_entries(scenario):
    async def body(h):
        handle = await h.start(
            contract.CATALOG_INGEST, CatalogIngestRequest(repository_id="repo-1", snapshot_ids=["snap-3"])
        )
        return handle.id, await handle.result()

    fakes = FakeActivities()
    run_id, summary = scenario(body, fakes)
    assert fakes.steps(run_id) == ["start_run catalog", "catalog_ingest", "finish_run succeeded"]
    assert fakes.inputs(contract.START_RUN, run_id)[0].details == {"snapshot_ids": ["snap-3"]}
    assert fakes.inputs(contract.CATALOG_INGEST_ACTIVITY, run_id)[0].request.snapshot_ids == ["snap-3"]
    assert fakes.inputs(contract.FINISH_RUN, run_id)[0] == FinishRunInput(
        run_id=run_id, status=RunStatus.succeeded, files=77
    )
    assert summary.ingested == ["snap-1"]


def test_a_scan_is_a_run_on_a_source_and_says_what_it_could_not_read(scenario):
    async def body(h):
        clean = await h.start(contract.CATALOG_SCAN, ScanRequest(source_id="src-1", one_file_system=True))
        await clean.result()
        partial = await h.start(contract.CATALOG_SCAN, ScanRequest(source_id="src-2"))
        return clean.id, partial.id, await partial.result()

    def scan(data):
        if data.source_id == "src-1":
            return ScanSummary(scan_id="scan-1", source_id="src-1", files=30, bytes=5000)
        return ScanSummary(
            scan_id="scan-2",
            source_id="src-2",
            files=8,
            bytes=80,
            errors=2,
            error_sample=["/home/ana/.private: Permission denied", "/home/ana/x: Permission denied"],
        )

    fakes = FakeActivities().on(contract.CATALOG_SCAN_ACTIVITY, scan)
    clean, partial, summary = scenario(body, fakes)
    assert fakes.steps(clean) == ["start_run scan", "catalog_scan", "finish_run succeeded"]
    started = fakes.inputs(contract.START_RUN, clean)[0]
    assert (started.kind, started.repository_id, started.details) == (
        RunKind.scan,
        None,
        {"source_id": "src-1", "one_file_system": True},
    )
    assert fakes.inputs(contract.CATALOG_SCAN_ACTIVITY, clean)[0].one_file_system is True
    assert fakes.inputs(contract.FINISH_RUN, clean)[0] == FinishRunInput(
        run_id=clean, status=RunStatus.succeeded, files=30, bytes=5000
    )
    assert fakes.inputs(contract.FINISH_RUN, partial)[0].error == (
        "2 unreadable entries, first: /home/ana/.private: Permission denied"
    )
    assert fakes.inputs(contract.FINISH_RUN, partial)[0].status == RunStatus.succeeded and summary.errors == 2


def test_a_failed_scan_is_recorded_failed(scenario):
    async def body(h):
        handle = await h.start(contract.CATALOG_SCAN, ScanRequest(source_id="src-1"))
        return handle.id, await failure_of(handle)

    fakes = FakeActivities().on(contract.CATALOG_SCAN_ACTIVITY, fail("/home/ana does not exist", "NotFound"))
    run_id, failure = scenario(body, fakes)
    assert fakes.steps(run_id) == ["start_run scan", "catalog_scan", "finish_run failed"]
    assert isinstance(failure, ApplicationError) and failure.message == "/home/ana does not exist"


def test_a_cleanup_is_recorded_with_what_it_moved(scenario):
    async def body(h):
        handle = await h.start(contract.CLEANUP, CleanupRequest(plan_id="plan-9", action="undo"))
        return handle.id, await handle.result()

    fakes = FakeActivities()
    run_id, result = scenario(body, fakes)
    assert fakes.steps(run_id) == ["start_run cleanup", "cleanup", "finish_run succeeded"]
    started = fakes.inputs(contract.START_RUN, run_id)[0]
    assert (started.kind, started.repository_id, started.details) == (
        RunKind.cleanup,
        None,
        {"plan_id": "plan-9", "action": "undo"},
    )
    assert fakes.inputs(contract.CLEANUP_ACTIVITY, run_id) == [CleanupRequest(plan_id="plan-9", action="undo")]
    assert fakes.inputs(contract.FINISH_RUN, run_id)[0] == FinishRunInput(
        run_id=run_id, status=RunStatus.succeeded, files=3, bytes=640
    )
    assert (result.plan_id, result.moved) == ("plan-9", 3)


def test_health_returns_what_it_notified(scenario):
    async def body(h):
        handle = await h.start(contract.HEALTH, HealthRequest())
        return handle.id, await handle.result()

    fakes = FakeActivities()
    run_id, told = scenario(body, fakes)
    assert told == ["policy nightly is late"]
    assert [(c.name, c.data, c.queue) for c in fakes.of(run_id)] == [("notify_late", None, fakes.calls[0].queue)]
    assert not fakes.calls[0].queue.endswith("-engine")


def test_a_workflow_started_without_its_input_or_unsealed_is_refused_before_it_does_anything(
    scenario, temporal_address
):
    async def body(h):
        bare = await h.client.start_workflow(
            contract.HEALTH.name, id=f"bare-{uuid.uuid4().hex[:8]}", task_queue=h.queue
        )
        refused_bare = await failure_of(bare)
        plain = await Client.connect(temporal_address, data_converter=dataclasses.replace(pydantic_data_converter))
        unsealed = await plain.start_workflow(
            contract.HEALTH.name, HealthRequest(), id=f"plain-{uuid.uuid4().hex[:8]}", task_queue=h.queue
        )
        refused = await failure_of(unsealed)
        assert refused.message == "Encoded failure", "the refusal is sealed too: a client without the key reads nothing"
        return refused_bare, await failure_of(h.client.get_workflow_handle(unsealed.id))

    fakes = FakeActivities()
    bare, unsealed = scenario(body, fakes)
    assert isinstance(bare, ApplicationError) and bare.type == "PayloadNotAuthenticated"
    assert "started with 0 inputs" in bare.message
    assert isinstance(unsealed, ApplicationError) and unsealed.type == "PayloadNotAuthenticated"
    assert "not sealed" in unsealed.message
    assert not fakes.calls


def test_a_cancelled_restore_is_recorded_cancelled_once(scenario):
    async def body(h):
        handle = await h.start(contract.RESTORE, restore_request())
        await eventually(lambda: h.fakes.inputs(contract.RESTORE_ACTIVITY, handle.id), "the engine started")
        await handle.cancel()
        await failure_of(handle)
        return handle.id, await status_of(handle)

    fakes = FakeActivities().on(contract.RESTORE_ACTIVITY, until_cancelled)
    run_id, status = scenario(body, fakes)
    assert status == WorkflowExecutionStatus.CANCELED
    assert fakes.steps(run_id) == ["start_run restore", "restore", "finish_run cancelled"]
    assert fakes.inputs(contract.FINISH_RUN, run_id)[0].error == "cancelled"
