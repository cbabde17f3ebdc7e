"""The write-ahead log of a run: every action is recorded before any runs and marked done after.

Marks are buffered and flushed in batches (every 500 or every second, and at the end): an action
done but not yet marked when the process dies is found done by the next run's comparison of both
sides, so it is not done twice. Transfer checkpoints are written at once: they are what a resumed
transfer starts from.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from syncoxide.sync.state_store import JournalStore

FLUSH_EVERY = 500
FLUSH_SECONDS = 1.0


class Journal:
    def __init__(self, store: JournalStore, run_id: str):
        self.store = store
        self.run_id = run_id
        self._lock = threading.Lock()
        self._done: list[int] = []
        self._failed: list[tuple[int, str]] = []
        self._last = time.monotonic()

    def done(self, seq: int) -> None:
        with self._lock:
            self._done.append(seq)
            if len(self._done) >= FLUSH_EVERY or time.monotonic() - self._last > FLUSH_SECONDS:
                self._flush_locked()

    def failed(self, seq: int, error: str) -> None:
        with self._lock:
            self._failed.append((seq, error))
            self._flush_locked()

    def checkpoint(self, seq: int, progress: dict[str, Any]) -> None:
        with self._lock:
            self.store.checkpoint(self.run_id, seq, progress)

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        self._last = time.monotonic()
        if self._done:
            self.store.mark(self.run_id, self._done, "done")
            self._done = []
        for seq, error in self._failed:
            self.store.mark(self.run_id, [seq], "failed", error)
        self._failed = []
