"""Copy, sync, move and two-way sync between any two providers: planned, journaled, verified, resumable."""

from syncoxide.sync.errors import GuardTripped, NeedsResync, SyncBusy, SyncFailed
from syncoxide.sync.models import (
    Action,
    ActionKind,
    ConflictPolicy,
    Filters,
    MaxDelete,
    Mode,
    Plan,
    SyncOptions,
    SyncRequest,
    SyncResult,
)
from syncoxide.sync.runner import pair_id, raise_for_errors, run_sync

__all__ = [
    "Action",
    "ActionKind",
    "ConflictPolicy",
    "Filters",
    "GuardTripped",
    "MaxDelete",
    "Mode",
    "NeedsResync",
    "Plan",
    "SyncBusy",
    "SyncFailed",
    "SyncOptions",
    "SyncRequest",
    "SyncResult",
    "pair_id",
    "raise_for_errors",
    "run_sync",
]
