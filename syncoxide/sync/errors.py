"""Sync errors: one line each, retryable or not like the core's."""

from __future__ import annotations

from syncoxide.errors import InvalidInput, SyncoxideError


class GuardTripped(InvalidInput):
    """A run would delete more than the max-delete guard allows; nothing was changed."""


class NeedsResync(InvalidInput):
    """bisync has no baseline for this pair yet: the first run must be an explicit resync."""


class SyncBusy(SyncoxideError):
    """Another run of the same pair is in progress."""

    retryable = True


class SyncFailed(SyncoxideError):
    """Some actions failed; the rest were done and the journal lets the next run finish the job."""

    def __init__(self, message: str, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable


class Interrupted(Exception):  # noqa: N818 - what happened, not an error of the data
    """The run was asked to stop (cancellation, worker shutdown); what is done stays done and journaled."""
