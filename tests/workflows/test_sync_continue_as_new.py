"""SyncWorkflow continues as new when Temporal suggests it, carrying the paused flag, the pass count and the last
summary. A dev server of this module's own suggests it after a dozen history events (its dynamic config), so each
run of the pair continues as new after a pass or two; the real PASSES_PER_RUN is left alone (the workflow module is
re-imported inside the sandbox, where a monkeypatch would not reach)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from temporalio.client import WorkflowExecutionStatus

from syncoxide.contract import temporal as contract
from syncoxide.contract.payloads import SyncWorkflowInput
from syncoxide.orchestration.payload_keys import PayloadKey
from tests.workflows.conftest import DevServer, harness
from tests.workflows.fakes import FakeActivities
from tests.workflows.test_sync import pair, until

SUGGEST_AFTER_EVENTS = 12


@pytest.fixture(scope="module")
def eager_server() -> Iterator[str]:
    server = DevServer("--dynamic-config-value", f"limit.historyCount.suggestContinueAsNew={SUGGEST_AFTER_EVENTS}")
    try:
        yield server.start()
    finally:
        server.stop()


def test_a_continuous_pair_continues_as_new_carrying_its_state(eager_server: str, test_key: PayloadKey):
    fakes = FakeActivities()

    async def main():
        async with harness(eager_server, test_key, fakes) as h:
            started = await h.start(contract.SYNC, SyncWorkflowInput(request=pair(), interval_s=1))
            latest = h.client.get_workflow_handle(started.id)  # follows the chain of runs
            await until(latest, lambda s: s.runs >= 3, "three passes", timeout=30)
            await latest.signal(contract.SYNC_PAUSE.name)
            paused = await until(latest, lambda s: s.phase == "paused", "a paused run", timeout=30)
            description = await latest.describe()
            carried = await _input_of(h.client, started.id, description.run_id)
            runs_of_chain = [r async for r in h.client.list_workflows(f"WorkflowId = '{started.id}'")]
            await latest.signal(contract.SYNC_RUN_NOW.name)
            after = await until(latest, lambda s: s.runs == paused.runs + 1, "a pass on run-now", timeout=30)
            await latest.cancel()
            return started, description, paused, carried, runs_of_chain, after

    started, description, paused, carried, chain, after = asyncio.run(asyncio.wait_for(main(), 90))
    first_run = started.result_run_id
    assert description.run_id != first_run, "the pair continued as new"
    continued = [r for r in chain if r.status == WorkflowExecutionStatus.CONTINUED_AS_NEW]
    assert continued, chain
    assert carried.paused and carried.runs == paused.runs and carried.last == paused.last
    assert carried.request == pair() and carried.interval_s == 1
    pass_ids = [d.run_id for d in fakes.inputs(contract.SYNC_PASS, started.id)]
    assert pass_ids == [f"{started.id}-{first_run[:8]}-{n}" for n in range(1, len(pass_ids) + 1)], (
        "every run numbers its passes on from the first execution's"
    )
    assert after.last is not None and after.last.run_id == pass_ids[-1] and not after.paused


async def _input_of(client, workflow_id: str, run_id: str) -> SyncWorkflowInput:
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    (decoded,) = await client.data_converter.decode(started.input.payloads, [SyncWorkflowInput])
    return decoded
