"""HealthWorkflow: run on a schedule, it notifies about policies that are late."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from syncoxide.models import HealthRequest


@workflow.defn(name="HealthWorkflow")
class HealthWorkflow:
    """Notify about policies that are late (the activity looks, notifies, and returns what it told)."""

    @workflow.run
    async def run(self, request: HealthRequest) -> list[str]:
        return await workflow.execute_activity(
            "notify_late", start_to_close_timeout=timedelta(minutes=5), retry_policy=RetryPolicy(maximum_attempts=3)
        )
