"""Replay every recorded history (histories/*.json, real runs recorded by tests/workflows/record.py) against the
workflows as they are now: a change that would make a running workflow non-deterministic fails here.

The histories hold opened payloads (histories.py says why), so the replayer reads them with the plain pydantic
converter; it runs the worker's workflows with the worker's interceptor, as workers/main.py registers them.
"""

from __future__ import annotations

import asyncio

import pytest
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from syncoxide.orchestration import codec
from syncoxide.orchestration.payload_keys import PayloadKey, new_key_text
from tests.workflows.altered import ReorderedBackupWorkflow
from tests.workflows.histories import is_sealed, load, open_sealed, payloads_in, plain_converter, recorded
from workers.main import WORKFLOWS
from workers.sealed_input import RequireSealedInput

HISTORY_FILES = recorded()


def replayer(workflows=WORKFLOWS) -> Replayer:
    return Replayer(workflows=workflows, interceptors=[RequireSealedInput()], data_converter=plain_converter())


@pytest.mark.parametrize("path", HISTORY_FILES, ids=lambda p: p.stem)
def test_a_recorded_history_replays(path):
    history = load(path)
    assert not [p for event in history.history.events for p in payloads_in(event) if is_sealed(p)]
    result = asyncio.run(replayer().replay_workflow(history.history))
    assert result.replay_failure is None


def test_every_workflow_the_worker_runs_has_a_recorded_history():
    recorded_types = {load(path).workflow_type for path in HISTORY_FILES}
    missing = {w.__temporal_workflow_definition.name for w in WORKFLOWS} - recorded_types
    assert not missing, f"record a history of {sorted(missing)}: python -m tests.workflows.record (README.md)"


def test_the_histories_cover_the_paths_that_matter():
    """Failure, cancellation and continue-as-new each happen in at least one recorded run, so the replay covers
    the branches of the workflows that handle them, not only the happy path."""
    endings = {load(path).history.events[-1].event_type for path in HISTORY_FILES}
    wanted = {
        HistoryEvent.DESCRIPTOR.fields_by_name["event_type"].enum_type.values_by_name[f"EVENT_TYPE_{name}"].number
        for name in (
            "WORKFLOW_EXECUTION_COMPLETED",
            "WORKFLOW_EXECUTION_FAILED",
            "WORKFLOW_EXECUTION_CANCELED",
            "WORKFLOW_EXECUTION_CONTINUED_AS_NEW",
        )
    }
    assert wanted <= endings


def test_a_non_deterministic_change_fails_the_replay():
    history = load(next(p for p in HISTORY_FILES if p.stem == "backup-restic")).history
    with pytest.raises(NondeterminismError):
        asyncio.run(replayer([ReorderedBackupWorkflow]).replay_workflow(history))


def test_opening_a_history_opens_every_sealed_payload_and_leaves_the_rest():
    """``open_sealed`` on a history event sealed as the worker seals them: inputs, a failure's encoded attributes
    and a nested cause, a memo (map values); search attributes are never sealed and stay as they were."""
    sealer = codec.EncryptionCodec([PayloadKey.from_text(new_key_text())])
    converter = plain_converter()
    event = HistoryEvent()
    started = event.workflow_execution_started_event_attributes
    started.input.payloads.extend(converter.payload_converter.to_payloads([{"repository_id": "r"}, 7]))
    started.memo.fields["note"].CopyFrom(converter.payload_converter.to_payload("hello"))
    started.search_attributes.indexed_fields["RunKind"].CopyFrom(converter.payload_converter.to_payload("backup"))
    failure = Failure(message="Encoded failure", cause=Failure(message="Encoded failure"))
    failure.encoded_attributes.CopyFrom(converter.payload_converter.to_payload({"message": "outer"}))
    failure.cause.encoded_attributes.CopyFrom(converter.payload_converter.to_payload({"message": "inner"}))
    started.continued_failure.CopyFrom(failure)
    plain = HistoryEvent()
    plain.CopyFrom(event)

    for payload in payloads_in(event):
        if payload is not started.search_attributes.indexed_fields["RunKind"]:
            payload.CopyFrom(sealer.seal(payload))
    assert sum(is_sealed(p) for p in payloads_in(event)) == 5  # two inputs, the memo, two failures
    assert not is_sealed(started.search_attributes.indexed_fields["RunKind"])

    opened = asyncio.run(open_sealed(event, sealer))
    assert opened == 5 and event == plain
