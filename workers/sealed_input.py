"""Refuse a workflow started without its input. The codec refuses unsealed payloads; a start with no
payload at all carries nothing to refuse, so this interceptor fails it (every workflow takes one input)."""

from __future__ import annotations

from typing import Any

from temporalio.worker import (
    ExecuteWorkflowInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from syncoxide.orchestration.codec import PayloadNotAuthenticated


class _RequireInput(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        if len(input.args) != 1:
            given = len(input.args)
            raise PayloadNotAuthenticated(f"the workflow was started with {given} inputs, not one sealed input")
        return await super().execute_workflow(input)


class RequireSealedInput(Interceptor):
    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _RequireInput
