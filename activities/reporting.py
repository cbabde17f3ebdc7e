"""What every long activity shares: throttled heartbeats with progress, cancellation, error classes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError, CancelledError

from syncoxide.engines.process import Cancelled
from syncoxide.errors import SyncoxideError
from syncoxide.models import Progress

HEARTBEAT_EVERY_S = 1.0
T = TypeVar("T")


class Reporter:
    """Feeds engine progress into heartbeats and tells the engine when to stop."""

    def __init__(self) -> None:
        self.last = Progress()
        self._sent_at = 0.0

    def progress(self, progress: Progress) -> None:
        self.last = progress
        self._beat()

    def _beat(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._sent_at >= HEARTBEAT_EVERY_S:
            self._sent_at = now
            activity.heartbeat(self.last.model_dump())

    def cancelled(self) -> bool:
        """Polled by the engine runner: keeps heartbeats flowing and reports cancellation."""
        self._beat()
        return activity.is_cancelled() or activity.is_worker_shutdown()

    def waiting(self) -> None:
        """Between attempts to take the repository's gate: say so, and give up if cancelled."""
        if self.last.phase != "waiting for the repository":
            self.phase("waiting for the repository")
        if self.cancelled():
            raise Cancelled()

    def phase(self, name: str) -> None:
        self.last = self.last.model_copy(update={"phase": name})
        self._beat(force=True)


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


def run_reported(work: Callable[[Reporter], T]) -> T:
    reporter = Reporter()
    reporter.phase("starting")
    with temporal_errors():
        return work(reporter)
