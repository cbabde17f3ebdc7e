"""Whole runs between two local folders, with the pair's store in memory: the lock, the run's record, the journal,
the state a run leaves and what the next run decides from it."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from syncoxide.config import Settings
from syncoxide.providers import ProviderSpec
from syncoxide.sync.errors import GuardTripped, NeedsResync, SyncBusy
from syncoxide.sync.models import MaxDelete, Mode, SyncOptions, SyncRequest
from syncoxide.sync.runner import pair_id, run_sync
from syncoxide.sync.state import FileState, PairState
from syncoxide.sync.state_store import StateStore

T0 = 1_714_550_400  # 2024-05-01T08:00:00Z
OPEN = ("planned", "running", "failed")


class MemoryStore:
    """A ``StateStore`` in dicts, as the PostgreSQL one keeps it in tables."""

    def __init__(self) -> None:
        self.held: set[str] = set()
        self.baselines: set[str] = set()
        self.runs: dict[str, dict[str, Any]] = {}
        self.states: dict[str, PairState] = {}
        self.saves = 0
        self.journal: dict[tuple[str, int], dict[str, Any]] = {}

    def ensure_pair(self, pair: str, mode: str, source: dict, destination: dict) -> None:
        pass

    def try_lock(self, pair: str) -> bool:
        if pair in self.held:
            return False
        self.held.add(pair)
        return True

    def unlock(self, pair: str) -> None:
        self.held.discard(pair)

    def has_baseline(self, pair: str) -> bool:
        return pair in self.baselines

    def start_run(self, run_id: str, pair: str, mode: str, dry_run: bool) -> int:
        stale = [run for run in self.runs.values() if run["pair"] == pair and run["status"] == "running"]
        for run in stale:
            run["status"] = "interrupted"
        self.runs[run_id] = {"pair": pair, "status": "running", "summary": None, "error": None}
        return len(stale)

    def finish_run(self, run_id: str, status: str, summary: dict, error: str | None = None) -> None:
        self.runs[run_id].update(status=status, summary=summary, error=error)

    def load_state(self, pair: str) -> PairState:
        return self.states.get(pair, PairState())

    def save_state(
        self, pair: str, files: Iterable[FileState], *, baseline: bool = False, dirs: Iterable[str] = ()
    ) -> None:
        self.saves += 1
        self.states[pair] = PairState({file.path: file for file in files}, frozenset(dirs))
        if baseline:
            self.baselines.add(pair)

    def open_actions(self, pair: str) -> list[dict[str, Any]]:
        return [
            {"run_id": run_id, "seq": seq, **row}
            for (run_id, seq), row in sorted(self.journal.items())
            if row["pair"] == pair and row["state"] in OPEN
        ]

    def write_plan(self, run_id: str, pair: str, actions: Iterable[tuple[int, dict, dict]]) -> None:
        for row in self.journal.values():
            if row["pair"] == pair and row["state"] in OPEN:
                row["state"] = "superseded"
        for seq, action, progress in actions:
            self.journal[(run_id, seq)] = {
                "pair": pair,
                "action": action,
                "state": "planned",
                "progress": progress,
                "error": None,
            }

    def mark(self, run_id: str, seqs: list[int], state: str, error: str | None = None) -> None:
        for seq in seqs:
            self.journal[(run_id, seq)].update(state=state, error=error)

    def checkpoint(self, run_id: str, seq: int, progress: dict[str, Any]) -> None:
        self.journal[(run_id, seq)].update(state="running", progress=progress)

    def states_of(self, run_id: str) -> list[str]:
        return [row["state"] for (run, _), row in sorted(self.journal.items()) if run == run_id]


class Folder:
    def __init__(self, root: Path):
        self.root = root
        root.mkdir()
        self.spec = ProviderSpec(kind="local", location=str(root))

    def write(self, rel: str, data: bytes, mtime: float = T0) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (mtime, mtime))

    def files(self) -> dict[str, bytes]:
        return {
            p.relative_to(self.root).as_posix(): p.read_bytes() for p in sorted(self.root.rglob("*")) if p.is_file()
        }


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def sides(tmp_path: Path) -> tuple[Folder, Folder]:
    return Folder(tmp_path / "one"), Folder(tmp_path / "two")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")


def run(settings: Settings, store: StateStore, one: Folder, two: Folder, mode: Mode, **options: object):
    request = SyncRequest(source=one.spec, destination=two.spec, mode=mode, options=SyncOptions(**options))
    return run_sync(settings, request, store=store)


def pair_of(one: Folder, two: Folder, mode: Mode) -> str:
    return pair_id(SyncRequest(source=one.spec, destination=two.spec, mode=mode))


def test_a_copy_journals_every_action_records_what_it_verified_and_a_rerun_decides_from_that(settings, store, sides):
    one, two = sides
    one.write("a.txt", b"alpha\n")
    one.write("docs/b.md", b"bravo\n")
    result = run(settings, store, one, two, Mode.copy)
    assert result.errors == [] and result.transferred_files == 2 and two.files() == one.files()
    assert store.runs[result.run_id]["status"] == "succeeded" and not store.held
    assert store.states_of(result.run_id) == ["done", "done", "done"]  # mkdir docs, two copies
    state = store.load_state(pair_of(one, two, Mode.copy))
    assert set(state.files) == {"a.txt", "docs/b.md"}
    assert state.files["a.txt"].path2.md5 == hashlib.md5(b"alpha\n").hexdigest()  # as the transfer verified it
    assert state.files["a.txt"].path1.mtime_ns == state.files["a.txt"].path2.mtime_ns == T0 * 10**9
    saves = store.saves
    again = run(settings, store, one, two, Mode.copy)
    assert again.plan.actions == [] and again.plan.unchanged == 2
    assert store.saves == saves  # a no-change run leaves the state as it was


def test_a_pair_whose_lock_is_held_is_refused_before_anything_is_recorded(settings, store, sides):
    one, two = sides
    one.write("a.txt", b"alpha\n")
    store.held.add(pair_of(one, two, Mode.copy))
    with pytest.raises(SyncBusy, match="another run of sync pair copy-.* is in progress"):
        run(settings, store, one, two, Mode.copy)
    assert store.runs == {} and two.files() == {}


def test_the_lock_is_released_and_the_run_recorded_as_aborted_when_the_guard_trips(settings, store, sides):
    one, two = sides
    for n in range(4):
        one.write(f"f{n}.txt", b"x\n")
    run(settings, store, one, two, Mode.sync)
    for n in range(3):
        (one.root / f"f{n}.txt").unlink()
    with pytest.raises(GuardTripped, match=r"would delete 3 of 4 files \(75%\)"):
        run(settings, store, one, two, Mode.sync, max_delete=MaxDelete(percent=50))
    aborted = [r for r in store.runs.values() if r["status"] == "aborted"]
    assert len(aborted) == 1 and "nothing was changed" in aborted[0]["error"]
    assert len(two.files()) == 4 and not store.held
    assert run(settings, store, one, two, Mode.sync, max_delete=None).deleted == 3


def test_a_dry_run_is_recorded_but_journals_and_changes_nothing(settings, store, sides):
    one, two = sides
    one.write("a.txt", b"alpha\n")
    result = run(settings, store, one, two, Mode.copy, dry_run=True)
    assert [a.path for a in result.plan.actions] == ["a.txt"]
    assert two.files() == {} and store.journal == {} and store.states == {}
    assert store.runs[result.run_id]["status"] == "succeeded"


def test_bisync_needs_a_resync_first_then_propagates_changes_both_ways(settings, store, sides):
    one, two = sides
    one.write("a.txt", b"a\n")
    one.write("b.txt", b"b\n")
    one.write("c.txt", b"c\n")
    with pytest.raises(NeedsResync, match="run it once with --resync"):
        run(settings, store, one, two, Mode.bisync)
    assert store.runs == {}
    run(settings, store, one, two, Mode.bisync, resync=True)
    assert store.has_baseline(pair_of(one, two, Mode.bisync)) and two.files() == one.files()
    one.write("a.txt", b"a edited on path1\n", mtime=T0 + 60)
    (two.root / "b.txt").unlink()
    result = run(settings, store, one, two, Mode.bisync)
    assert result.errors == []
    assert one.files() == two.files() == {"a.txt": b"a edited on path1\n", "c.txt": b"c\n"}
    assert set(store.load_state(pair_of(one, two, Mode.bisync)).files) == {"a.txt", "c.txt"}
    assert run(settings, store, one, two, Mode.bisync).plan.actions == []


def test_a_run_takes_over_from_one_that_died(settings, store, sides):
    one, two = sides
    one.write("a.txt", b"alpha\n")
    pair = pair_of(one, two, Mode.copy)
    store.start_run("dead", pair, "copy", False)
    store.write_plan("dead", pair, [(0, {"kind": "copy", "path": "a.txt", "side": "path2"}, {})])
    result = run(settings, store, one, two, Mode.copy)
    assert result.resumes == 1 and result.reconciled == 1
    assert store.runs["dead"]["status"] == "interrupted" and store.states_of("dead") == ["superseded"]
    assert two.files() == {"a.txt": b"alpha\n"}


def test_a_move_leaves_no_state(settings, store, sides):
    one, two = sides
    one.write("a.txt", b"alpha\n")
    run(settings, store, one, two, Mode.move)
    assert one.files() == {} and two.files() == {"a.txt": b"alpha\n"}
    assert store.load_state(pair_of(one, two, Mode.move)).files == {}
