"""HealthWorkflow: run on a schedule, it notifies about policies that are late."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from syncoxide.contract import temporal as contract
    from syncoxide.contract.payloads import HealthRequest
    from workflows.common import call


@workflow.defn(name=contract.HEALTH.name)
class HealthWorkflow:
    """Notify about policies that are late (the activity looks, notifies, and returns what it told)."""

    @workflow.run
    async def run(self, request: HealthRequest) -> list[str]:
        return await call(contract.NOTIFY_LATE)
