"""Two-way sync: the conflict matrix, each case with its expected outcome, on real providers."""

from __future__ import annotations

import re

import pytest

from syncoxide.sync import ConflictPolicy, MaxDelete, Mode, NeedsResync, SyncOptions, SyncRequest, run_sync
from syncoxide.sync.errors import GuardTripped
from tests.integration.sync_helpers import *  # noqa: F403 - fixtures
from tests.integration.sync_helpers import SideMaker, SyncSide, ts

T0, T1, T2 = ts("2024-05-01T08:00:00"), ts("2024-05-02T08:00:00"), ts("2024-05-03T08:00:00")
CONFLICT = re.compile(r"\.conflict-\d{8}T\d{6}Z-path[12]")


def bisync(settings, one: SyncSide, two: SyncSide, **options: object):
    opts = {"max_delete": MaxDelete(percent=60), **options}
    request = SyncRequest(source=one.spec, destination=two.spec, mode=Mode.bisync, options=SyncOptions(**opts))
    result = run_sync(settings, request)
    assert result.errors == []
    return result


@pytest.fixture(params=["local", "sftp"])
def pair(request: pytest.FixtureRequest, sync_settings, make_side: SideMaker) -> tuple[SyncSide, SyncSide]:
    """path1 local, path2 local or SFTP, in sync after a resync with a few files."""
    one, two = make_side("local", "one"), make_side(request.param, "two")
    for rel in ["keep.txt", "both.txt", "del-change.txt", "same.txt", "docs/rename-me.bin", "thing", "gone.txt"]:
        one.write(rel, f"original {rel}\n".encode() * 3, mtime=T0)
    with pytest.raises(NeedsResync, match="run it once with --resync"):
        bisync(sync_settings, one, two)
    first = bisync(sync_settings, one, two, resync=True)
    assert first.transferred_files == 7 and one.files() == two.files()
    return one, two


def test_the_conflict_matrix_with_newer_wins(sync_settings, pair):
    one, two = pair
    # changed on both sides (different content): newer wins
    one.write("both.txt", b"path1 edit\n", mtime=T1)
    two.write("both.txt", b"path2 edit, later\n", mtime=T2)
    # deleted on one side, changed on the other: the change is kept
    one.delete("del-change.txt")
    two.write("del-change.txt", b"changed on path2\n", mtime=T1)
    # the same change on both sides: nothing to send
    one.write("same.txt", b"identical edit\n", mtime=T1)
    two.write("same.txt", b"identical edit\n", mtime=T2)
    # renamed on one side: renamed on the other, not re-sent
    (one.root / "docs/rename-me.bin").rename(one.root / "docs/renamed.bin")
    # a file on one side, a directory on the other
    one.delete("thing")
    two.delete("thing")
    (one.root / "thing").write_bytes(b"thing is a file on path1\n")
    two.write("thing/inside.txt", b"thing is a directory on path2\n", mtime=T1)
    # deleted on one side only: deleted on the other
    two.delete("gone.txt")
    # new on each side
    one.write("new1.txt", b"new on path1\n", mtime=T1)
    two.write("new2.txt", b"new on path2\n", mtime=T1)

    result = bisync(sync_settings, one, two)
    left, right = one.files(), two.files()
    assert left == right
    assert left["both.txt"] == b"path2 edit, later\n"
    assert left["del-change.txt"] == b"changed on path2\n"
    assert left["same.txt"] == b"identical edit\n"
    assert "docs/rename-me.bin" not in left and left["docs/renamed.bin"] == b"original docs/rename-me.bin\n" * 3
    assert left["thing/inside.txt"] == b"thing is a directory on path2\n"
    kept = [p for p in left if p.startswith("thing.conflict-")]
    assert len(kept) == 1 and CONFLICT.search(kept[0]) and left[kept[0]] == b"thing is a file on path1\n"
    assert "gone.txt" not in left
    assert left["new1.txt"] == b"new on path1\n" and left["new2.txt"] == b"new on path2\n"
    kinds = {(a.kind.value, a.path) for a in result.plan.actions}
    assert ("rename", "docs/rename-me.bin") in kinds  # a rename on path2, no transfer of its bytes
    assert not any(a.path == "same.txt" for a in result.plan.actions)
    assert any("deleted on path1, changed on path2" in c for c in result.plan.conflicts)
    # and the next run finds nothing to do
    again = bisync(sync_settings, one, two)
    assert again.plan.actions == [], again.plan.actions


@pytest.mark.parametrize(
    "policy,expected",
    [
        (ConflictPolicy.newer, b"path2: newer, smaller\n"),
        (ConflictPolicy.larger, b"path1: older but larger, much larger\n"),
        (ConflictPolicy.path1, b"path1: older but larger, much larger\n"),
        (ConflictPolicy.path2, b"path2: newer, smaller\n"),
    ],
)
def test_conflict_policies_pick_the_winner(sync_settings, make_side: SideMaker, policy, expected):
    one, two = make_side("local", "one"), make_side("local", "two")
    one.write("doc.txt", b"base\n", mtime=T0)
    bisync(sync_settings, one, two, resync=True)
    one.write("doc.txt", b"path1: older but larger, much larger\n", mtime=T1)
    two.write("doc.txt", b"path2: newer, smaller\n", mtime=T2)
    result = bisync(sync_settings, one, two, conflict=policy)
    assert one.read("doc.txt") == two.read("doc.txt") == expected
    assert result.plan.conflicts


def test_keep_both_renames_the_loser_with_a_conflict_suffix(sync_settings, make_side: SideMaker):
    one, two = make_side("local", "one"), make_side("local", "two")
    one.write("notes/plan.md", b"base\n", mtime=T0)
    bisync(sync_settings, one, two, resync=True)
    one.write("notes/plan.md", b"path1 version\n", mtime=T1)
    two.write("notes/plan.md", b"path2 version (newer)\n", mtime=T2)
    bisync(sync_settings, one, two, conflict=ConflictPolicy.keep_both)
    left = one.files()
    assert left == two.files()
    assert left["notes/plan.md"] == b"path2 version (newer)\n"
    losers = [p for p in left if p != "notes/plan.md"]
    assert len(losers) == 1 and re.fullmatch(r"notes/plan\.conflict-\d{8}T\d{6}Z-path1\.md", losers[0])
    assert left[losers[0]] == b"path1 version\n"


def test_bisync_guard_stops_mass_deletion_before_anything_changes(sync_settings, make_side: SideMaker):
    one, two = make_side("local", "one"), make_side("local", "two")
    for i in range(10):
        one.write(f"f{i}.txt", b"x" * i, mtime=T0)
    bisync(sync_settings, one, two, resync=True)
    for i in range(8):
        one.delete(f"f{i}.txt")
    one.write("new.txt", b"must not be sent either", mtime=T1)
    before = two.files()
    with pytest.raises(GuardTripped, match=r"would delete 8 of 10 files \(80%\).*nothing was changed"):
        bisync(sync_settings, one, two, max_delete=MaxDelete(percent=50))
    assert two.files() == before
