"""The one way a long activity heartbeats: its work runs on a thread of its own and reports into a
Reporter; the activity's thread sends what was reported as a heartbeat every second, and turns
cancellation or worker shutdown into a stop the work sees at its next ``cancelled()`` poll (the
activity ends only once the work has stopped: an engine interrupted cleanly, never left running).

Core errors become ApplicationErrors whose type is the error class name; a clean stop becomes a
cancellation (or a retryable WorkerShutdown when the worker is going away).
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError, CancelledError

from syncoxide.contract.payloads import Progress
from syncoxide.engines.process import Cancelled
from syncoxide.errors import SyncoxideError

HEARTBEAT_EVERY_S = 1.0
STOP_POLL_S = 0.05  # a cancellation reaches the work this soon after the SDK delivers it
T = TypeVar("T")


class Reporter:
    """What the work tells its activity (progress, phase) and asks it (whether to stop)."""

    def __init__(self, details: Callable[[], Progress] | None = None) -> None:
        self.last = Progress()
        self.stop = threading.Event()
        self._details = details

    def progress(self, progress: Progress) -> None:
        self.last = progress

    def phase(self, name: str) -> None:
        self.last = self.last.model_copy(update={"phase": name})

    def details(self) -> dict[str, Any]:
        """What the next heartbeat carries: the work's own status, or its latest progress."""
        return (self._details() if self._details is not None else self.last).model_dump()

    def cancelled(self) -> bool:
        return self.stop.is_set()

    def waiting(self) -> None:
        """Between attempts to take the repository's gate: say so, and give up if cancelled."""
        self.phase("waiting for the repository")
        if self.cancelled():
            raise Cancelled()


@contextmanager
def temporal_errors() -> Iterator[None]:
    """Translate core errors into ApplicationErrors whose type is the error class name."""
    try:
        yield
    except SyncoxideError as exc:
        raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=not exc.retryable) from None
    except Cancelled:
        if activity.is_worker_shutdown() and not activity.is_cancelled():
            raise ApplicationError("worker shut down during the run", type="WorkerShutdown") from None
        raise CancelledError("cancelled; the engine was stopped cleanly") from None


def run_reported(work: Callable[[Reporter], T], details: Callable[[], Progress] | None = None) -> T:
    """Run ``work`` on its own thread (in this activity's context) while this thread heartbeats."""
    reporter = Reporter(details)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = work(reporter)
        except BaseException as exc:  # handed to the activity's thread
            outcome["error"] = exc

    thread = threading.Thread(target=contextvars.copy_context().run, args=(run,), name="activity-work", daemon=True)
    with temporal_errors(), activity.shield_thread_cancel_exception():  # the SDK would raise it in this thread,
        thread.start()  # leaving the work running: it is told to stop instead, and the cancellation follows
        beat_at = 0.0
        while thread.is_alive():
            if time.monotonic() >= beat_at:
                activity.heartbeat(reporter.details())
                beat_at = time.monotonic() + HEARTBEAT_EVERY_S
            if activity.is_cancelled() or activity.is_worker_shutdown():
                reporter.stop.set()
            thread.join(STOP_POLL_S)
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]
