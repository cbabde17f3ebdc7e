"""The sync activity: one pass of a sync pair (list, plan, journal, transfer, record), on the engine queue.

The pass runs on a thread of its own; this activity's thread heartbeats the live status every
second and turns cancellation or worker shutdown into a stop the transfers see between chunks.
A retried attempt resumes unfinished transfers from the journal.
"""

from __future__ import annotations

import contextvars
import threading
import time

from temporalio import activity

from activities.reporting import temporal_errors
from syncoxide.config import Settings
from syncoxide.engines.process import Cancelled
from syncoxide.sync.errors import Interrupted
from syncoxide.sync.executor import Status
from syncoxide.sync.models import SyncActivityInput, SyncResult, SyncSummary
from syncoxide.sync.runner import raise_for_errors, run_sync

HEARTBEAT_EVERY_S = 1.0


class SyncActivities:
    def __init__(self, settings: Settings):
        self.settings = settings

    @activity.defn(name="sync_run")
    def sync_run(self, data: SyncActivityInput) -> SyncSummary:
        status = Status()
        stop = threading.Event()
        outcome: dict[str, object] = {}

        def check() -> None:
            if stop.is_set():
                raise Interrupted("the sync was asked to stop")

        attempt = activity.info().attempt
        run_id = data.run_id if attempt == 1 else f"{data.run_id}.{attempt}"  # each attempt is a run of its own

        def work() -> None:
            try:
                outcome["result"] = run_sync(self.settings, data.request, run_id=run_id, check=check, status=status)
            except BaseException as exc:  # handed to the activity thread
                outcome["error"] = exc

        worker = threading.Thread(target=contextvars.copy_context().run, args=(work,), name="sync-pass", daemon=True)
        with temporal_errors():
            worker.start()
            while worker.is_alive():
                activity.heartbeat(status.snapshot())
                if activity.is_cancelled() or activity.is_worker_shutdown():
                    stop.set()
                worker.join(HEARTBEAT_EVERY_S)
                time.sleep(0)
            if isinstance(outcome.get("error"), Interrupted):
                raise Cancelled() from None  # reported as cancellation or worker shutdown
            if "error" in outcome:
                raise outcome["error"]  # type: ignore[misc]
            result = outcome["result"]
            assert isinstance(result, SyncResult)
            if result.errors and result.failed == result.done + result.failed:
                raise_for_errors(result)  # nothing at all worked: fail the attempt (retried if transient)
            return SyncSummary.of(result)
