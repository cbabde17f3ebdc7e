"""Two-way plans against a baseline: each cell of the change matrix, conflicts by policy, renames, folders."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncoxide.providers.local import LocalProvider
from syncoxide.sync.bisync import Sides, conflict_name, plan_bisync
from syncoxide.sync.filters import FileFilter
from syncoxide.sync.listing import list_side
from syncoxide.sync.models import ConflictLoser, ConflictPolicy, Filters, Plan, Side, SyncOptions
from syncoxide.sync.state import FileState, PairState

NOW = datetime(2024, 5, 10, 8, 0, 0, tzinfo=UTC)
T0, T1, T2, T3 = (datetime(2024, 5, day, 8, 0, 0, tzinfo=UTC).timestamp() for day in (1, 2, 3, 4))
P1, P2 = Side.path1, Side.path2


class Pair:
    """Two folders under tmp_path, path1 and path2, and a baseline taken when they agreed."""

    def __init__(self, root: Path):
        self.roots = {P1: root / "one", P2: root / "two"}
        for folder in self.roots.values():
            folder.mkdir()
        self.baseline = PairState()

    def write(self, side: Side, rel: str, data: bytes, mtime: float = T0) -> None:
        path = self.roots[side] / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (mtime, mtime))

    def both(self, rel: str, data: bytes) -> None:
        for side in (P1, P2):
            self.write(side, rel, data)

    def delete(self, side: Side, rel: str) -> None:
        (self.roots[side] / rel).unlink()

    def touch(self, side: Side, rel: str, mtime: float = T3) -> None:
        os.utime(self.roots[side] / rel, (mtime, mtime))

    def sides(self) -> Sides:
        providers = {side: LocalProvider(root) for side, root in self.roots.items()}
        return Sides(
            providers=providers,  # type: ignore[arg-type]
            listings={side: list_side(p, FileFilter(Filters(), NOW)) for side, p in providers.items()},
        )

    def agree(self, *, hashes: bool = True) -> None:
        """Take the baseline from both sides as they are now (``hashes``: with each side's MD5, as a verified
        transfer leaves it)."""
        listings = self.sides().listings
        one, two = listings[P1], listings[P2]
        md5 = {side: self._md5(side) if hashes else {} for side in (P1, P2)}
        self.baseline = PairState(
            {
                p: FileState.of(one.files[p], two.files[p], md5[P1].get(p), md5[P2].get(p))
                for p in set(one.files) & set(two.files)
            },
            frozenset(one.dirs & two.dirs),
        )

    def _md5(self, side: Side) -> dict[str, str]:
        root = self.roots[side]
        return {
            p.relative_to(root).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
            for p in root.rglob("*")
            if p.is_file()
        }

    def plan(self, *, resync: bool = False, **options: object) -> Plan:
        return plan_bisync("pair", self.sides(), self.baseline, options=SyncOptions(**options), now=NOW, resync=resync)


def actions(plan: Plan) -> list[tuple[str, str, str]]:
    return [(a.kind.value, a.path, a.side.value) for a in plan.actions]


def with_reasons(plan: Plan) -> list[tuple[str, str, str, str]]:
    return [(a.kind.value, a.path, a.side.value, a.reason) for a in plan.actions]


def with_targets(plan: Plan) -> list[tuple[str, str, str, str | None]]:
    return [(a.kind.value, a.path, a.side.value, a.target) for a in plan.actions]


@pytest.fixture
def pair(tmp_path: Path) -> Pair:
    made = Pair(tmp_path)
    for rel in ("a.txt", "b.txt", "c.txt"):
        made.both(rel, f"original {rel}\n".encode())
    made.agree()
    return made


# -- the change matrix ---------------------------------------------------------------------------------------------


def test_nothing_changed_is_nothing_to_do(pair: Pair):
    plan = pair.plan()
    assert plan.actions == [] and plan.conflicts == [] and plan.unchanged == 3


def test_a_change_or_a_new_file_on_one_side_goes_to_the_other(pair: Pair):
    pair.write(P1, "a.txt", b"edited on path1\n", mtime=T1)
    pair.write(P2, "new.txt", b"new on path2\n", mtime=T1)
    plan = pair.plan()
    assert with_reasons(plan) == [
        ("update", "a.txt", "path2", "changed on path1"),
        ("copy", "new.txt", "path1", "new on path2"),
    ]
    assert plan.conflicts == []


def test_a_deletion_on_one_side_with_the_other_unchanged_deletes_there(pair: Pair):
    pair.delete(P1, "a.txt")
    pair.delete(P2, "b.txt")
    plan = pair.plan()
    assert with_reasons(plan) == [
        ("delete", "a.txt", "path2", "deleted on path1"),
        ("delete", "b.txt", "path1", "deleted on path2"),
    ]


def test_a_change_beats_a_deletion_on_the_other_side(pair: Pair):
    pair.delete(P1, "a.txt")
    pair.write(P2, "a.txt", b"changed on path2\n", mtime=T1)
    plan = pair.plan()
    assert actions(plan) == [("copy", "a.txt", "path1")]
    assert plan.conflicts == ["a.txt: deleted on path1, changed on path2; the changed file is kept"]


def test_a_file_deleted_on_both_sides_is_nothing_to_do(pair: Pair):
    pair.delete(P1, "a.txt")
    pair.delete(P2, "a.txt")
    assert pair.plan().actions == []


def test_the_same_change_on_both_sides_is_no_conflict(pair: Pair):
    pair.write(P1, "a.txt", b"identical edit\n", mtime=T1)
    pair.write(P2, "a.txt", b"identical edit\n", mtime=T2)
    plan = pair.plan()
    assert plan.actions == [] and plan.conflicts == [] and plan.unchanged == 3


# -- changed means the content -------------------------------------------------------------------------------------


def test_a_touch_is_no_change_so_the_other_sides_edit_wins_without_a_conflict(pair: Pair):
    pair.touch(P1, "a.txt")
    pair.write(P2, "a.txt", b"a real edit\n", mtime=T1)
    plan = pair.plan()
    assert actions(plan) == [("update", "a.txt", "path1")] and plan.conflicts == []


def test_without_a_known_hash_a_moved_time_is_a_change(tmp_path: Path):
    pair = Pair(tmp_path)
    pair.both("a.txt", b"the same on both\n")
    pair.agree(hashes=False)
    pair.touch(P1, "a.txt")
    assert actions(pair.plan()) == [("update", "a.txt", "path2")]
    pair.write(P2, "a.txt", b"edited on path2\n", mtime=T1)
    plan = pair.plan()
    assert plan.conflicts and [a.kind.value for a in plan.actions] == ["rename", "copy", "copy"]  # nothing lost


def test_checksum_sees_an_edit_that_kept_size_and_time(pair: Pair):
    pair.write(P1, "a.txt", b"ORIGINAL a.txt\n")  # same size, same time T0
    assert pair.plan().actions == []
    assert actions(pair.plan(checksum=True)) == [("update", "a.txt", "path2")]


# -- conflicts -----------------------------------------------------------------------------------------------------


def both_edited(pair: Pair) -> None:
    pair.write(P1, "a.txt", b"path1: older but larger, much larger\n", mtime=T1)
    pair.write(P2, "a.txt", b"path2: newer, smaller\n", mtime=T2)


@pytest.mark.parametrize(
    "policy,winner",
    [
        (ConflictPolicy.newer, P2),
        (ConflictPolicy.larger, P1),
        (ConflictPolicy.path1, P1),
        (ConflictPolicy.path2, P2),
    ],
)
def test_the_policy_picks_the_winner_and_discard_lets_it_replace_the_loser(pair: Pair, policy, winner):
    both_edited(pair)
    plan = pair.plan(conflict=policy, conflict_loser=ConflictLoser.discard)
    loser = Side.path2 if winner is P1 else P1
    assert [(a.kind.value, a.path, a.side) for a in plan.actions] == [("update", "a.txt", loser)]
    assert plan.conflicts == [
        f"a.txt: changed on path1, changed on path2; {winner.value} wins ({policy.value}), "
        f"{loser.value}'s version is discarded (conflict-loser discard)"
    ]


def test_newer_breaks_a_tie_for_path1_and_larger_falls_back_to_newer(pair: Pair):
    pair.write(P1, "a.txt", b"one\n", mtime=T1)
    pair.write(P2, "a.txt", b"two\n", mtime=T1)
    assert actions(pair.plan(conflict_loser=ConflictLoser.discard)) == [("update", "a.txt", "path2")]
    pair.write(P2, "a.txt", b"two\n", mtime=T2)
    assert actions(pair.plan(conflict=ConflictPolicy.larger, conflict_loser=ConflictLoser.discard)) == [
        ("update", "a.txt", "path1")
    ]


def test_the_loser_is_kept_as_a_conflict_copy_on_both_sides(pair: Pair):
    both_edited(pair)
    plan = pair.plan()
    renamed = conflict_name("a.txt", NOW, P1)
    assert with_targets(plan) == [
        ("rename", "a.txt", "path1", renamed),  # path1's version goes aside on path1...
        ("copy", renamed, "path2", None),  # ...and to path2 under that name
        ("copy", "a.txt", "path1", None),  # the winner takes the name on path1
    ]
    assert plan.conflicts == [
        f"a.txt: changed on path1, changed on path2; path2 keeps the name, path1's version is kept as {renamed}"
    ]


def test_with_a_backup_dir_the_loser_is_kept_there_unless_keep_both(pair: Pair):
    both_edited(pair)
    plan = pair.plan(backup_dir=".versions")
    assert actions(plan) == [("update", "a.txt", "path1")]
    assert plan.conflicts[0].endswith("path1's version is kept in .versions")
    kept_both = pair.plan(backup_dir=".versions", conflict=ConflictPolicy.keep_both)
    assert [a.kind.value for a in kept_both.actions] == ["rename", "copy", "copy"]


def test_a_resync_copies_what_is_missing_and_keeps_both_of_what_differs_and_deletes_nothing(pair: Pair):
    pair.delete(P2, "a.txt")  # the baseline had it: a resync does not read that as a deletion
    pair.write(P1, "only1.txt", b"1\n")
    pair.write(P2, "b.txt", b"path2's b\n", mtime=T1)
    plan = pair.plan(resync=True)
    assert with_reasons(plan) == [
        ("copy", "a.txt", "path2", "resync: only on path1"),
        ("rename", "b.txt", "path1", "conflict (different on both sides at resync): keep both"),
        ("copy", conflict_name("b.txt", NOW, P1), "path2", "conflict: the other version"),
        ("copy", "b.txt", "path1", "conflict: winner"),
        ("copy", "only1.txt", "path2", "resync: only on path1"),
    ]
    assert plan.unchanged == 1  # c.txt


# -- renames and folders -------------------------------------------------------------------------------------------


def test_a_rename_on_one_side_is_a_rename_on_the_other(pair: Pair):
    (pair.roots[P1] / "a.txt").rename(pair.roots[P1] / "renamed.txt")
    plan = pair.plan()
    assert with_targets(plan) == [("rename", "a.txt", "path2", "renamed.txt")]


def test_new_folders_are_made_and_one_deleted_goes_once_nothing_new_is_in_it(pair: Pair):
    pair.both("old/x.txt", b"x\n")
    pair.both("busy/y.txt", b"y\n")
    pair.agree()
    for rel in ("old/x.txt", "busy/y.txt"):
        pair.delete(P1, rel)
        (pair.roots[P1] / rel).parent.rmdir()
    pair.write(P2, "busy/new.txt", b"new on path2\n", mtime=T1)
    (pair.roots[P1] / "fresh").mkdir()
    plan = pair.plan()
    assert with_reasons(plan) == [
        ("copy", "busy/new.txt", "path1", "new on path2"),
        ("delete", "busy/y.txt", "path2", "deleted on path1"),
        ("delete", "old/x.txt", "path2", "deleted on path1"),
        ("mkdir", "fresh", "path2", "new directory on path1"),
        ("mkdir", "busy", "path1", "kept: something new in it on path2"),
        ("rmdir", "old", "path2", "deleted on path1"),
    ]


def test_a_file_replaced_by_a_folder_on_one_side_is_replaced_on_the_other(pair: Pair):
    pair.delete(P1, "a.txt")
    pair.write(P1, "a.txt/inside.txt", b"a is a folder now\n", mtime=T1)
    plan = pair.plan()
    assert actions(plan) == [
        ("delete", "a.txt", "path2"),
        ("copy", "a.txt/inside.txt", "path2"),
        ("mkdir", "a.txt", "path2"),
    ]
    assert plan.conflicts == []


@pytest.mark.parametrize(
    "path,loser,renamed",
    [
        ("notes/plan.md", P1, "notes/plan.conflict-20240510T080000Z-path1.md"),
        ("README", P2, "README.conflict-20240510T080000Z-path2"),
        ("archive.tar.gz", P2, "archive.tar.conflict-20240510T080000Z-path2.gz"),
        (".bashrc", P1, ".bashrc.conflict-20240510T080000Z-path1"),
    ],
)
def test_a_conflict_copy_is_named_after_the_run_and_the_losing_side(path, loser, renamed):
    assert conflict_name(path, NOW, loser) == renamed
