"""The one-way plans (copy, sync, move), special files left alone, and the guards that stop a run before it starts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from syncoxide.providers.base import Capabilities, Entry
from syncoxide.sync.compare import Signature
from syncoxide.sync.errors import GuardTripped
from syncoxide.sync.listing import Listing
from syncoxide.sync.models import Action, ActionKind, MaxDelete, Mode, Plan, Side
from syncoxide.sync.planner import check_empty, check_guard, plan_one_way, skip_specials
from syncoxide.sync.state import FileState

T0 = datetime(2024, 5, 1, 8, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=1)


@dataclass
class Place:
    """As much of a provider as planning asks of it."""

    display: str
    capabilities: Capabilities = field(default_factory=Capabilities)
    stored: dict[str, Entry] = field(default_factory=dict)
    """what ``stat`` says where the listing does not show stored times"""

    def stat(self, path: str) -> Entry:
        return self.stored[path]


def f(path: str, data: bytes = b"x" * 10, mtime: datetime = T0, **extra: object) -> Entry:
    return Entry(path=path, size=len(data), mtime=mtime, **extra)


def listing(*files: Entry, dirs: tuple[str, ...] = (), specials: dict[str, str] | None = None) -> Listing:
    return Listing(files={e.path: e for e in files}, dirs=set(dirs), specials=specials or {})


def plan(
    mode: Mode,
    left: Listing,
    right: Listing,
    *,
    state: dict[str, FileState] | None = None,
    checksum: bool = False,
    dst: Place | None = None,
) -> tuple[Plan, set[str]]:
    made, same = plan_one_way(
        mode, "pair", Place("/src"), dst or Place("/dst"), left, right, state or {}, checksum=checksum
    )
    return made, set(same)


def decisions(made: Plan) -> list[tuple[str, str, str]]:
    return [(a.kind.value, a.path, a.reason) for a in made.actions]


# -- copy ----------------------------------------------------------------------------------------------------------


def test_copy_sends_what_is_new_or_changed_and_leaves_the_rest():
    left = listing(f("new.txt"), f("grown.txt", b"x" * 20), f("touched.txt", mtime=T1), f("same.txt"), dirs=("docs",))
    right = listing(f("grown.txt"), f("touched.txt"), f("same.txt"), f("extra.txt"))
    made, same = plan(Mode.copy, left, right)
    assert decisions(made) == [
        ("mkdir", "docs", "new directory"),
        ("update", "grown.txt", "size 10 -> 20"),
        ("copy", "new.txt", "new"),
        ("update", "touched.txt", "modification time differs"),
    ]
    assert same == {"same.txt"} and made.unchanged == 1
    assert all(a.side is Side.path2 for a in made.actions)  # and nothing is deleted: extra.txt stays


def test_a_time_within_the_coarser_sides_precision_is_the_same_time():
    sftp = Place("/dst", Capabilities(mtime_precision=1.0))
    made, same = plan(Mode.copy, listing(f("a", mtime=T0 + timedelta(milliseconds=600))), listing(f("a")), dst=sftp)
    assert made.actions == [] and same == {"a"}


def test_same_content_under_another_time_only_gets_its_time_fixed():
    left = listing(f("a", mtime=T1, hashes={"md5": "m"}), f("b", mtime=T1, hashes={"md5": "m"}))
    right = listing(f("a", hashes={"md5": "m"}), f("b", hashes={"md5": "other"}))
    assert decisions(plan(Mode.copy, left, right)[0]) == [
        ("set-mtime", "a", "same content, modification time differs"),
        ("update", "b", "modification time differs"),
    ]


def test_where_the_listing_shows_upload_times_the_stored_time_is_asked_for():
    s3 = Place("s3://b", Capabilities(listed_mtime=False, directories=False), stored={"a": f("a")})
    made, same = plan(Mode.copy, listing(f("a")), listing(f("a", mtime=T1)), dst=s3)
    assert made.actions == [] and same == {"a"}


def test_the_state_decides_from_both_listings_alone_unless_checksum():
    uploaded = f("a", mtime=T1)  # the destination lists its upload time
    state = {"a": FileState.of(f("a"), uploaded)}
    nothing_stored = Place("s3://b", Capabilities(listed_mtime=False))  # a stat would fail: it is not asked
    made, same = plan(Mode.copy, listing(f("a")), listing(uploaded), state=state, dst=nothing_stored)
    assert made.actions == [] and same == {"a"}
    made, _ = plan(Mode.copy, listing(f("a")), listing(uploaded), state=state, checksum=True, dst=nothing_stored)
    assert decisions(made) == [("update", "a", "check hash")]  # the executor compares before sending


def test_a_state_the_listings_no_longer_agree_with_is_not_trusted():
    state = {"a": FileState("a", Signature(10, 1, None), Signature(10, 1, None))}
    assert decisions(plan(Mode.copy, listing(f("a", mtime=T1)), listing(f("a")), state=state)[0]) == [
        ("update", "a", "modification time differs")
    ]


def test_a_change_of_permission_bits_alone_is_a_set_mode():
    made, same = plan(Mode.copy, listing(f("run.sh", mode=0o100755)), listing(f("run.sh", mode=0o100644)))
    assert decisions(made) == [("set-mode", "run.sh", "permission bits 644 -> 755")] and same == {"run.sh"}


def test_a_file_against_a_directory_of_its_name_is_skipped_in_copy():
    made, _ = plan(Mode.copy, listing(f("x"), dirs=("d",)), listing(f("d"), dirs=("x",)))
    assert made.actions == []
    assert made.conflicts == [
        "d: a directory at the source, a file at the destination: skipped",
        "x: a file at the source, a directory at the destination: skipped",
    ]


def test_no_directories_are_made_where_a_side_has_none():
    s3 = Place("s3://b", Capabilities(directories=False))
    assert decisions(plan(Mode.copy, listing(f("d/a"), dirs=("d",)), listing(), dst=s3)[0]) == [("copy", "d/a", "new")]


# -- sync ----------------------------------------------------------------------------------------------------------


def test_sync_also_deletes_what_the_source_lacks_files_then_the_deepest_directories():
    left = listing(f("keep/a"), dirs=("keep",))
    right = listing(f("keep/a"), f("gone.txt"), f("old/deep/b"), dirs=("keep", "old", "old/deep", "empty"))
    assert decisions(plan(Mode.sync, left, right)[0]) == [
        ("delete", "gone.txt", "not at the source"),
        ("delete", "old/deep/b", "not at the source"),
        ("rmdir", "old/deep", "not at the source"),
        ("rmdir", "empty", "not at the source"),
        ("rmdir", "old", "not at the source"),
    ]


def test_sync_keeps_a_directory_a_source_file_needs_and_replaces_a_file_where_the_source_has_a_folder():
    left = listing(f("d/inside"), dirs=("d", "kept"))
    right = listing(f("kept"), dirs=("d", "d/empty"))
    made, _ = plan(Mode.sync, left, right)
    assert decisions(made) == [
        ("copy", "d/inside", "new"),
        ("delete", "kept", "not at the source"),
        ("rmdir", "d/empty", "not at the source"),
    ]
    assert made.conflicts == [
        "kept: a directory at the source, a file at the destination: skipped",
        "kept: a directory at the source, a file at the destination: replaced",
    ]


# -- move ----------------------------------------------------------------------------------------------------------


def test_move_removes_each_source_file_after_its_copy_or_when_the_destination_has_it():
    made, same = plan(Mode.move, listing(f("new"), f("there", mode=0o100755)), listing(f("there", mode=0o100644)))
    assert [(a.kind.value, a.path, a.side.value, a.reason) for a in made.actions] == [
        ("copy", "new", "path2", "new"),
        ("delete-source", "new", "path1", "moved"),
        ("delete-source", "there", "path1", "already at the destination (verified by hash)"),
    ]  # no set-mode: the source goes
    assert same == {"there"}


# -- special files -------------------------------------------------------------------------------------------------


def test_special_files_are_named_and_nothing_is_done_at_or_below_their_paths():
    left = listing(f("ok"), f("link/inside"), f("pipe"), specials={"fifo": "FIFO"})
    right = listing(specials={"link": "symlink", "pipe": "socket"})
    made, _ = plan(Mode.copy, left, right)
    skip_specials(made, {Side.path1: left, Side.path2: right})
    assert [a.path for a in made.actions] == ["ok"]
    assert made.skipped == [
        "fifo: a FIFO at /src, left alone",
        "link: a symlink at /dst, left alone",
        "pipe: a socket at /dst, left alone",
    ]
    assert made.conflicts == [
        "link/inside: a symlink or special file stands at this path on one side: copy on path2 skipped",
        "pipe: a symlink or special file stands at this path on one side: copy on path2 skipped",
    ]


# -- guards --------------------------------------------------------------------------------------------------------


def deleting(count: int, side: Side = Side.path2, mode: Mode = Mode.sync) -> Plan:
    made = Plan(pair="pair", mode=mode, source="/src", destination="/dst")
    made.actions = [Action(kind=ActionKind.delete, path=f"f{n}", side=side) for n in range(count)]
    return made


def test_the_max_delete_guard_trips_over_a_share_or_a_count_of_what_the_side_held():
    with pytest.raises(
        GuardTripped,
        match=r"sync would delete 4 of 5 files \(80%\) at /dst, more than --max-delete "
        r"50%: nothing was changed",
    ):
        check_guard(deleting(4), MaxDelete(percent=50), {Side.path2: 5})
    check_guard(deleting(2), MaxDelete(percent=50), {Side.path2: 5})  # 40%
    with pytest.raises(GuardTripped, match="more than --max-delete 3"):
        check_guard(deleting(4), MaxDelete(count=3), {Side.path2: 100})
    check_guard(deleting(3), MaxDelete(count=3), {Side.path2: 3})
    check_guard(deleting(5), None, {Side.path2: 5})  # --max-delete none


def test_the_guard_counts_each_side_against_its_own_files():
    with pytest.raises(GuardTripped, match=r"bisync would delete 3 of 4 files \(75%\) at /src"):
        check_guard(deleting(3, Side.path1, Mode.bisync), MaxDelete(percent=50), {Side.path1: 4, Side.path2: 100})
    with pytest.raises(GuardTripped, match=r"delete 1 of 0 files \(100%\)"):
        check_guard(deleting(1), MaxDelete(percent=50), {})


def test_an_empty_side_that_would_empty_the_other_is_refused():
    with pytest.raises(GuardTripped, match="bisync: /src lists no files but held 7 at the baseline"):
        check_empty(
            deleting(3, Side.path2, Mode.bisync), {Side.path1: 0, Side.path2: 7}, {Side.path1: 7, Side.path2: 7}, None
        )  # whatever --max-delete says
    with pytest.raises(GuardTripped, match="the source /src lists no files; it would delete all 2 at the destination"):
        check_empty(deleting(2), {Side.path1: 0, Side.path2: 2}, {Side.path1: 0, Side.path2: 2}, MaxDelete(count=10))
    check_empty(deleting(2), {Side.path1: 0, Side.path2: 2}, {Side.path1: 0, Side.path2: 2}, None)
    check_empty(deleting(0), {Side.path1: 0, Side.path2: 2}, {Side.path1: 0, Side.path2: 2}, MaxDelete(count=10))
