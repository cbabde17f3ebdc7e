"""Copy, sync, move and two-way sync between any two providers: planned, journaled, verified, resumable.

The names below are loaded on first use, so importing one light submodule (``syncoxide.sync.inputs``,
as every CLI start does) does not load the runner and everything it needs.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    **dict.fromkeys(("GuardTripped", "NeedsResync", "SyncBusy", "SyncFailed"), "syncoxide.sync.errors"),
    **dict.fromkeys(
        (
            "Action",
            "ActionKind",
            "ConflictLoser",
            "ConflictPolicy",
            "Filters",
            "MaxDelete",
            "Mode",
            "Plan",
            "SyncOptions",
            "SyncRequest",
            "SyncResult",
        ),
        "syncoxide.sync.models",
    ),
    **dict.fromkeys(("pair_id", "raise_for_errors", "run_sync"), "syncoxide.sync.runner"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
