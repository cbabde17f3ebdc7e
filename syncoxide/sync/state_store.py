"""What a run keeps about its pair, and where: the pair, its lock, its runs, its state and the journal.

The PostgreSQL store (``syncoxide.store.sync.PgStateStore``) is the real one; the protocol lets the runner
run against another (an in-memory one in the unit tests).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from syncoxide.sync.state import FileState, PairState


class JournalStore(Protocol):
    """Where a run's journal marks its actions and transfers write their checkpoints."""

    def mark(self, run_id: str, seqs: list[int], state: str, error: str | None = None) -> None: ...

    def checkpoint(self, run_id: str, seq: int, progress: dict[str, Any]) -> None: ...


class StateStore(JournalStore, Protocol):
    """Everything a run reads and writes about its pair besides the two sides."""

    def ensure_pair(self, pair: str, mode: str, source: dict, destination: dict) -> None:
        """Record the pair, or refuse a name already taken by another mode or other sides."""
        ...

    def try_lock(self, pair: str) -> bool:
        """Take the pair's lock without waiting: one run per pair at a time, released if the process dies."""
        ...

    def unlock(self, pair: str) -> None: ...

    def has_baseline(self, pair: str) -> bool:
        """A bisync run of the pair (the first with ``resync``) ended with no failed action."""
        ...

    def start_run(self, run_id: str, pair: str, mode: str, dry_run: bool) -> int:
        """Record the run; returns how many runs of the pair were still marked running (now interrupted)."""
        ...

    def finish_run(self, run_id: str, status: str, summary: dict, error: str | None = None) -> None: ...

    def load_state(self, pair: str) -> PairState: ...

    def save_state(
        self, pair: str, files: Iterable[FileState], *, baseline: bool = False, dirs: Iterable[str] = ()
    ) -> None:
        """Replace the pair's state at once (``baseline``: and mark bisync's baseline as made)."""
        ...

    def open_actions(self, pair: str) -> list[dict[str, Any]]:
        """Actions of earlier runs never marked done: run_id, seq, action, state, progress, error."""
        ...

    def write_plan(self, run_id: str, pair: str, actions: Iterable[tuple[int, dict, dict]]) -> None:
        """Journal every action (seq, action, progress) before any runs, superseding earlier open ones."""
        ...
