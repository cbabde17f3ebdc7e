"""SyncWorkflow: one sync pair, once or continuously; pause, resume and run-now signals; a status query.

Each pass is one ``sync_run`` activity on the engine queue (heartbeats carry the live status;
cancellation stops the transfers between chunks; a retry resumes from the journal). Continuous
pairs wait between passes (or until run-now): ``interval_s`` after each pass, or until the next time
of their ``cron`` expression (a durable timer to a time computed from ``workflow.now()``; a pair on a
cron waits for its first time before its first pass). They continue as new when the history grows,
carrying the paused flag, the pass count and the last summary. A bisync ``resync`` applies until a
pass has made the baseline; later passes are ordinary two-way syncs. Cancelling ends the workflow,
during a pass too.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ApplicationError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from syncoxide.contract import temporal as contract
    from syncoxide.contract.payloads import SyncActivityInput, SyncPhase, SyncStatus, SyncSummary, SyncWorkflowInput
    from syncoxide.sync.models import SyncRequest
    from workflows.common import call

PASSES_PER_RUN = 100


@workflow.defn(name=contract.SYNC.name)
class SyncWorkflow:
    def __init__(self) -> None:
        self.phase: SyncPhase = "starting"
        self.paused = False
        self.run_now = False
        self.runs = 0
        self.last: SyncSummary | None = None
        self.error: str | None = None
        self.schedule = "once"
        self.next_pass: datetime | None = None

    @workflow.run
    async def run(self, data: SyncWorkflowInput) -> SyncSummary | None:
        self.paused, self.runs, self.last, self.schedule = data.paused, data.runs, data.last, data.describe()
        passes = 0
        if data.cron is not None and data.runs == 0:
            await self._until_due(data)  # after a continue-as-new the pass that was due runs at once
        while True:
            if self.paused:
                self.phase = "paused"
                await workflow.wait_condition(lambda: not self.paused)
            self.phase = "running"
            info = workflow.info()
            run_id = f"{info.workflow_id}-{info.first_execution_run_id[:8]}-{self.runs + 1}"
            try:
                self.last = await call(contract.SYNC_PASS, SyncActivityInput(request=data.request, run_id=run_id))
                self.error = None
                if data.request.options.resync and not self.last.failed:  # the baseline is made
                    data = data.model_copy(update={"request": _without_resync(data.request)})
            except Exception as exc:  # noqa: BLE001 - a continuous pair keeps going; a one-shot run fails
                if not data.continuous or is_cancelled_exception(exc):
                    raise
                self.error = str(getattr(exc, "cause", None) or exc)
            self.runs += 1
            passes += 1
            if not data.continuous:
                self.phase = "done"
                return self.last
            await self._until_due(data)
            if passes >= PASSES_PER_RUN or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    data.model_copy(update={"paused": self.paused, "runs": self.runs, "last": self.last})
                )

    async def _until_due(self, data: SyncWorkflowInput) -> None:
        """Wait until the next pass is due (``interval_s`` from now, or the cron's next time), or run-now."""
        now = workflow.now()
        due = data.next_pass(now)
        if due is None:  # a cron that fires no more (the expression was checked to fire within years)
            raise ApplicationError(f"cron {data.cron} has no time after {now:%Y-%m-%d %H:%M} UTC", non_retryable=True)
        self.phase, self.next_pass, self.run_now = "waiting", due, False
        try:
            await workflow.wait_condition(lambda: self.run_now, timeout=due - now)
        except TimeoutError:
            pass
        self.next_pass = None

    @workflow.signal(name=contract.SYNC_PAUSE.name)
    def pause(self) -> None:
        self.paused = True

    @workflow.signal(name=contract.SYNC_RESUME.name)
    def resume(self) -> None:
        self.paused = False

    @workflow.signal(name=contract.SYNC_RUN_NOW.name)
    def run_now_signal(self) -> None:
        self.run_now = True
        self.paused = False

    @workflow.query(name=contract.SYNC_STATUS.name)
    def status(self) -> SyncStatus:
        return SyncStatus(
            phase=self.phase,
            paused=self.paused,
            runs=self.runs,
            error=self.error,
            last=self.last,
            schedule=self.schedule,
            next_pass=self.next_pass,
        )


def _without_resync(request: SyncRequest) -> SyncRequest:
    return request.model_copy(update={"options": request.options.model_copy(update={"resync": False})})
