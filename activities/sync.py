"""The sync activity: one pass of a sync pair (list, plan, journal, transfer, record), on the engine queue.

Its heartbeats carry the pass's live status; cancellation or worker shutdown stops the transfers
between chunks. A retried attempt resumes unfinished transfers from the journal.
"""

from __future__ import annotations

from temporalio import activity

from activities.reporting import Reporter, run_reported
from syncoxide.config import Settings
from syncoxide.contract import temporal as contract
from syncoxide.contract.payloads import SyncActivityInput, SyncSummary
from syncoxide.contract.temporal import implements
from syncoxide.engines.process import Cancelled
from syncoxide.sync.errors import Interrupted
from syncoxide.sync.executor import LiveProgress
from syncoxide.sync.runner import raise_for_errors, run_sync


class SyncActivities:
    def __init__(self, settings: Settings):
        self.settings = settings

    @implements(contract.SYNC_PASS)
    def sync_run(self, data: SyncActivityInput) -> SyncSummary:
        status = LiveProgress()
        attempt = activity.info().attempt
        run_id = data.run_id if attempt == 1 else f"{data.run_id}.{attempt}"  # each attempt is a run of its own

        def work(reporter: Reporter) -> SyncSummary:
            def check() -> None:
                if reporter.cancelled():
                    raise Interrupted("the sync was asked to stop")

            try:
                result = run_sync(self.settings, data.request, run_id=run_id, check=check, status=status)
            except Interrupted:
                raise Cancelled() from None  # reported as cancellation or worker shutdown
            if result.errors and result.failed == result.done + result.failed:
                raise_for_errors(result)  # nothing at all worked: fail the attempt (retried if transient)
            return SyncSummary.of(result)

        return run_reported(work, details=status.progress)
