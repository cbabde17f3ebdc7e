"""Nothing lost, nothing written outside its place: two-way cases after rclone's bisync suite, guards, overlapping
sides, names that are bytes, special files, symlinks at the destination, permissions and runs that died."""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from pathlib import Path

import pytest

from syncoxide.errors import InvalidInput
from syncoxide.providers import open_provider
from syncoxide.providers.errors import ProviderError
from syncoxide.store import open_store
from syncoxide.store import sync as store
from syncoxide.sync import ConflictLoser, MaxDelete, Mode, SyncOptions, SyncRequest, pair_id, run_sync
from syncoxide.sync.errors import GuardTripped
from tests.adversarial import CONTROL, FIFO, NEWLINE, SOCKET, compare_bytes_trees, make_adversarial_tree
from tests.integration.killed_run import kill_when
from tests.integration.sync_helpers import *  # noqa: F403 - fixtures
from tests.integration.sync_helpers import SideMaker, SyncSide, ts
from tests.integration.test_provider_contract import case_builder  # noqa: F401,F811 - the fixture

T0, T1, T2, T3 = (
    ts(t) for t in ("2024-05-01T08:00:00", "2024-05-02T08:00:00", "2024-05-03T08:00:00", "2024-05-04T08:00:00")
)
CONFLICT = re.compile(r"\.conflict-\d{8}T\d{6}Z-path[12]")
LEAF = b"dir-\xff\xfe-back\\slash/inner \\ new\nline/leaf-\x80.bin"


def request(one: SyncSide, two: SyncSide, mode: Mode = Mode.bisync, **options: object) -> SyncRequest:
    return SyncRequest(source=one.spec, destination=two.spec, mode=mode, options=SyncOptions(**options))


def bisync(settings, one: SyncSide, two: SyncSide, **options: object):
    result = run_sync(settings, request(one, two, **options))
    assert result.errors == []
    return result


def tree(side: SyncSide) -> dict[str, bytes]:
    return side.files()


def dirs(side: SyncSide) -> set[str]:
    return {p.relative_to(side.root).as_posix() for p in side.root.rglob("*") if p.is_dir()}


@pytest.fixture(params=["local", "sftp"])
def pair(request: pytest.FixtureRequest, sync_settings, make_side: SideMaker) -> tuple[SyncSide, SyncSide]:
    """path1 local, path2 local or SFTP, with a baseline made by copying path1's files (so it knows their MD5)."""
    one, two = make_side("local", "one"), make_side(request.param, "two")
    for rel in ("a.txt", "b.txt", "c.txt", "d.txt", "e.txt", "docs/keep.txt", "docs/old/x.txt"):
        one.write(rel, f"original {rel}\n".encode(), mtime=T0)
    (one.root / "empty").mkdir()
    bisync(sync_settings, one, two, resync=True)
    assert tree(one) == tree(two)
    return one, two


# -- 1. a timestamp never beats an edit; the loser of a conflict is kept -----------------------------------------


def test_a_touched_file_is_not_a_change_and_the_other_sides_edit_wins(sync_settings, pair):
    one, two = pair
    os.utime(one.root / "a.txt", (T3, T3))  # touch: newer, same content
    two.write("a.txt", b"a real edit on path2\n", mtime=T1)
    result = bisync(sync_settings, one, two)
    assert result.plan.conflicts == []
    assert one.read("a.txt") == two.read("a.txt") == b"a real edit on path2\n"
    assert not [p for p in tree(one) if CONFLICT.search(p)]


def test_the_loser_of_a_conflict_is_kept_as_a_conflict_copy_on_both_sides(sync_settings, pair):
    one, two = pair
    one.write("a.txt", b"edit on path1, later\n", mtime=T2)
    two.write("a.txt", b"edit on path2\n", mtime=T1)
    result = bisync(sync_settings, one, two)
    assert len(result.plan.conflicts) == 1
    assert one.read("a.txt") == two.read("a.txt") == b"edit on path1, later\n"
    copies = {p: data for p, data in tree(one).items() if CONFLICT.search(p)}
    assert list(copies.values()) == [b"edit on path2\n"]
    assert {p: d for p, d in tree(two).items() if CONFLICT.search(p)} == copies


def test_with_a_backup_dir_the_loser_goes_there_and_discard_is_only_when_asked(sync_settings, pair):
    one, two = pair
    one.write("a.txt", b"edit on path1, later\n", mtime=T2)
    two.write("a.txt", b"edit on path2\n", mtime=T1)
    result = bisync(sync_settings, one, two, backup_dir=".versions")
    assert "kept in .versions" in result.plan.conflicts[0]
    kept = [p for p in (two.root / ".versions").rglob("a.txt")]
    assert len(kept) == 1 and kept[0].read_bytes() == b"edit on path2\n"
    one.write("b.txt", b"b on path1, later\n", mtime=T2)
    two.write("b.txt", b"b on path2\n", mtime=T1)
    result = bisync(sync_settings, one, two, conflict_loser=ConflictLoser.discard)
    assert "discarded" in result.plan.conflicts[0]
    assert two.read("b.txt") == b"b on path1, later\n"
    assert not [p for p in tree(two) if CONFLICT.search(p) and "b" in p]


def test_without_a_known_hash_a_touch_against_an_edit_is_a_conflict_that_loses_nothing(sync_settings, make_side):
    one, two = make_side("local", "one"), make_side("local", "two")
    for side in (one, two):  # both had it already: the resync compares times, learns no hash
        side.write("a.txt", b"the same on both\n", mtime=T0)
    bisync(sync_settings, one, two, resync=True)
    os.utime(one.root / "a.txt", (T3, T3))
    two.write("a.txt", b"edited on path2\n", mtime=T1)
    bisync(sync_settings, one, two)
    contents = sorted(tree(one).values())
    assert contents == sorted(tree(two).values())
    assert b"edited on path2\n" in contents  # under its name or as the conflict copy: not gone


# -- 2. the max-delete guard counts against each side's own baseline ---------------------------------------------


def test_an_emptied_side_is_refused_outright_even_while_the_other_gains_files(sync_settings, pair):
    one, two = pair
    for path in list(tree(one)):
        one.delete(path)
    for n in range(5):
        two.write(f"new-{n}.txt", b"new on path2\n", mtime=T1)
    before = tree(two)
    with pytest.raises(GuardTripped, match="lists no files but held 7 at the baseline"):
        run_sync(sync_settings, request(one, two, max_delete=None))
    assert tree(two) == before


def test_deletions_are_counted_against_the_baseline_not_the_grown_listing(sync_settings, pair):
    one, two = pair
    for rel in ("a.txt", "b.txt", "c.txt", "d.txt"):
        one.delete(rel)  # 4 of the 7 the baseline had (57%)
    one.write("fresh.txt", b"one new file\n", mtime=T1)
    for n in range(3):
        two.write(f"new-{n}.txt", b"new on path2\n", mtime=T1)
    before = tree(two)
    with pytest.raises(GuardTripped, match="delete 4 of 7 files"):
        run_sync(sync_settings, request(one, two, max_delete=MaxDelete(percent=50)))
    assert tree(two) == before


def test_a_one_way_sync_from_an_empty_source_needs_max_delete_none(sync_settings, make_side):
    src, dst = make_side("local", "src"), make_side("local", "dst")
    src.write("a.txt", b"a\n")
    assert run_sync(sync_settings, request(src, dst, Mode.sync)).errors == []
    src.delete("a.txt")
    with pytest.raises(GuardTripped, match="lists no files"):
        run_sync(sync_settings, request(src, dst, Mode.sync, max_delete=MaxDelete(count=10)))
    assert tree(dst) == {"a.txt": b"a\n"}
    assert run_sync(sync_settings, request(src, dst, Mode.sync, max_delete=None)).deleted == 1


# -- 3. --checksum sees a change that keeps size and time ---------------------------------------------------------


def test_checksum_sees_a_content_change_with_the_same_size_and_time(sync_settings, make_side):
    one, two = make_side("local", "one"), make_side("local", "two")
    for side in (one, two):
        side.write("same-size.txt", b"AAAA\n", mtime=T0)
    bisync(sync_settings, one, two, resync=True, checksum=True)
    with open_store(sync_settings) as conn:
        state = store.PgStateStore(conn).load_state(pair_id(request(one, two))).files
    assert state["same-size.txt"].path1.md5 and state["same-size.txt"].path2.md5  # the resync stored both hashes
    one.write("same-size.txt", b"BBBB\n", mtime=T0)  # same size, same time
    assert bisync(sync_settings, one, two).plan.actions == []  # by size and time: nothing to see
    bisync(sync_settings, one, two, checksum=True)
    assert two.read("same-size.txt") == b"BBBB\n"


# -- 4. sides that hold each other are refused --------------------------------------------------------------------


def test_sides_that_hold_each_other_are_refused_before_anything_is_listed(sync_settings, make_side, scratch):
    outer = make_side("local", "outer")
    (outer.root / "inner").mkdir()
    outer.write("inner/a.txt", b"a\n")
    inner = SyncSide(outer.spec.model_copy(update={"location": str(outer.root / "inner")}), outer.root / "inner")
    for one, two, mode in ((outer, inner, Mode.bisync), (inner, outer, Mode.sync), (outer, inner, Mode.copy)):
        with pytest.raises(ValueError, match="overlap"):
            request(one, two, mode, max_delete=None)
    link = scratch / "link-to-outer"
    link.symlink_to(outer.root)
    aliased = SyncSide(outer.spec.model_copy(update={"location": str(link / "inner")}), link / "inner")
    with pytest.raises(InvalidInput, match="overlap"):
        run_sync(sync_settings, request(outer, aliased, Mode.sync, max_delete=None))
    assert tree(outer) == {"inner/a.txt": b"a\n"}


# -- 5. folders: deletions propagate, a file/folder swap converges in one run -------------------------------------


def test_folder_deletions_propagate_and_a_folder_with_something_new_comes_back(sync_settings, pair):
    one, two = pair
    (one.root / "empty").rmdir()
    one.delete("docs/old/x.txt")
    (one.root / "docs/old").rmdir()
    bisync(sync_settings, one, two)
    assert "empty" not in dirs(two) and "docs/old" not in dirs(two)
    assert bisync(sync_settings, one, two).plan.actions == []
    assert "empty" not in dirs(one)  # not brought back
    (one.root / "gone").mkdir()
    one.write("gone/x.txt", b"x\n", mtime=T0)
    bisync(sync_settings, one, two)
    one.delete("gone/x.txt")
    (one.root / "gone").rmdir()
    two.write("gone/new.txt", b"new on path2\n", mtime=T1)
    bisync(sync_settings, one, two)
    assert one.read("gone/new.txt") == two.read("gone/new.txt") == b"new on path2\n"
    assert "gone/x.txt" not in tree(two)


def test_a_file_replaced_by_a_folder_and_back_converges_in_one_run(sync_settings, pair):
    one, two = pair
    one.delete("a.txt")
    one.write("a.txt/inside.txt", b"a is a folder now\n", mtime=T1)
    bisync(sync_settings, one, two)
    assert tree(one) == tree(two) and two.read("a.txt/inside.txt") == b"a is a folder now\n"
    assert bisync(sync_settings, one, two).plan.actions == []
    one.delete("docs/keep.txt")
    one.delete("docs/old/x.txt")
    (one.root / "docs/old").rmdir()
    (one.root / "docs").rmdir()
    one.write("docs", b"docs is a file now\n", mtime=T1)
    bisync(sync_settings, one, two)
    assert tree(one) == tree(two) and two.read("docs") == b"docs is a file now\n"
    assert not [p for p in tree(two) if CONFLICT.search(p)]
    assert bisync(sync_settings, one, two).plan.actions == []


# -- 6. one name in two Unicode forms -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [Mode.sync, Mode.bisync])
def test_nfc_and_nfd_forms_of_a_name_are_one_name(sync_settings, make_side, mode):
    nfc, nfd = (unicodedata.normalize(form, "café") for form in ("NFC", "NFD"))
    one, two = make_side("local", "one"), make_side("local", "two")
    one.write(f"{nfc}.txt", b"new text\n", mtime=T2)
    one.write(f"{nfc}/inside.txt", b"inside\n", mtime=T2)
    two.write(
        f"{nfd}.txt", b"old text\n" if mode is Mode.sync else b"new text\n", mtime=T1 if mode is Mode.sync else T2
    )
    two.write(f"{nfd}/inside.txt", b"inside\n", mtime=T2)
    options = {"resync": True} if mode is Mode.bisync else {}
    result = run_sync(sync_settings, request(one, two, mode, **options))
    assert result.errors == []
    if mode is Mode.bisync:  # the baseline holds one name; an edit on path1 reaches path2's own form
        one.write(f"{nfc}.txt", b"new text, edited\n", mtime=T3)
        assert run_sync(sync_settings, request(one, two, mode)).errors == []
    assert any("another Unicode form" in line for line in result.plan.conflicts)
    assert sorted(os.listdir(two.root)) == sorted([f"{nfd}.txt", nfd])  # no second, look-alike name
    assert two.read(f"{nfd}.txt") == (b"new text, edited\n" if mode is Mode.bisync else b"new text\n")
    one.write(f"{nfc}/later.txt", b"later\n", mtime=T3)
    again = run_sync(sync_settings, request(one, two, mode))
    assert again.errors == []
    assert sorted(os.listdir(two.root / nfd)) == ["inside.txt", "later.txt"]
    assert sorted(os.listdir(two.root)) == sorted([f"{nfd}.txt", nfd])
    if mode is Mode.bisync:
        assert sorted(os.listdir(one.root)) == sorted([f"{nfc}.txt", nfc])


# -- names, special files, symlinks, permissions ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["local", "sftp"])
def test_names_are_bytes_through_every_mode(sync_settings, make_side, kind):
    src = make_side("local", "src")
    made = make_adversarial_tree(src.root, extreme_mtimes=True)
    try:
        skip = set(made.special)
        for mode in (Mode.copy, Mode.sync, Mode.bisync):
            dst = make_side(kind, f"dst-{mode.value}")
            options = {"resync": True} if mode is Mode.bisync else {}
            result = run_sync(sync_settings, request(src, dst, mode, **options))
            assert result.errors == [], result.errors
            assert {line.split(":")[0] for line in result.plan.skipped} >= {FIFO.decode(), SOCKET.decode()}
            problems = compare_bytes_trees(
                src.root, dst.root, skip=skip, links=False, mtime_within_ns=1000 if kind == "local" else 10**9
            )
            assert problems == [], problems
            again = run_sync(sync_settings, request(src, dst, mode))
            assert again.errors == [] and [a for a in again.plan.actions if a.kind.value != "mkdir"] == []
            result.model_dump_json()  # every name goes into JSON (and went into the journal and the state)
    finally:
        made.close()


@pytest.mark.parametrize("kind", ["local", "sftp"])
def test_a_symlink_at_the_destination_is_never_written_through(sync_settings, make_side, scratch, kind):
    src, dst = make_side("local", "src"), make_side(kind, "dst")
    elsewhere = scratch / "elsewhere"
    elsewhere.mkdir()
    (dst.root / "a").symlink_to(elsewhere)
    (dst.root / "f.txt").symlink_to(elsewhere / "target.txt")
    src.write("a/evil.txt", b"must not land outside\n")
    src.write("f.txt", b"must not go through the link\n")
    src.write("ok.txt", b"fine\n")
    result = run_sync(sync_settings, request(src, dst, Mode.sync))
    assert result.errors == []
    assert list(elsewhere.iterdir()) == []
    assert (dst.root / "a").is_symlink() and (dst.root / "f.txt").is_symlink()
    assert dst.read("ok.txt") == b"fine\n"
    assert any("a/evil.txt" in line and "skipped" in line for line in result.plan.conflicts)
    assert any(line.startswith("a: a symlink") for line in result.plan.skipped)


def test_a_fifo_in_the_source_is_skipped_and_named_not_opened(sync_settings, make_side):
    src, dst = make_side("local", "src"), make_side("local", "dst")
    os.mkfifo(src.root / "pipe")
    src.write("file.txt", b"data\n")
    result = run_sync(sync_settings, request(src, dst, Mode.copy))  # would hang forever if it opened the FIFO
    assert result.errors == [] and tree(dst) == {"file.txt": b"data\n"}
    assert result.plan.skipped == [f"pipe: a FIFO at {src.root}, left alone"]


@pytest.mark.parametrize("kind", ["local", "sftp"])
def test_permission_bits_are_kept_and_never_widened(sync_settings, make_side, kind):
    src, dst = make_side("local", "src"), make_side(kind, "dst")
    for name, mode in (("private", 0o600), ("script", 0o750), ("shared", 0o644)):
        src.write(name, b"x" * 100)
        os.chmod(src.root / name, mode)
    assert run_sync(sync_settings, request(src, dst, Mode.copy)).errors == []
    got = {name: stat.S_IMODE((dst.root / name).stat().st_mode) for name in ("private", "script", "shared")}
    assert got == {"private": 0o600, "script": 0o750, "shared": 0o644}
    os.chmod(src.root / "shared", 0o600)  # a change of bits alone reaches the copy too
    again = run_sync(sync_settings, request(src, dst, Mode.sync))
    assert again.errors == [] and [a.kind.value for a in again.plan.actions] == ["set-mode"]
    assert stat.S_IMODE((dst.root / "shared").stat().st_mode) == 0o600


# -- 19. a run whose process died --------------------------------------------------------------------------------


def test_a_killed_run_is_shown_as_interrupted_and_the_next_one_resumes_it(sync_settings, make_side):
    src, dst = make_side("local", "src"), make_side("local", "dst")
    src.write("big.bin", os.urandom(64 * 1024 * 1024))
    req = request(src, dst, Mode.copy, bwlimit=4 * 1024 * 1024, large_file=16 * 1024 * 1024, chunk_size=8 * 1024 * 1024)
    pair = pair_id(req)

    def running() -> bool:
        with open_store(sync_settings) as conn:
            return any(r["status"] == "running" for r in store.recent_runs(conn, pair)) and bool(
                store.open_actions(conn, pair)
            )

    kill_when(sync_settings, req, running)
    with open_store(sync_settings) as conn:
        assert [r["status"] for r in store.recent_runs(conn, pair)] == ["interrupted"]
        assert [p["last_status"] for p in store.pairs_with_last_run(conn) if p["id"] == pair] == ["interrupted"]
    result = run_sync(
        sync_settings, req.model_copy(update={"options": req.options.model_copy(update={"bwlimit": None})})
    )
    assert result.errors == [] and result.resumes == 1
    assert dst.read("big.bin") == src.read("big.bin")
    assert Path(dst.root / "big.bin").stat().st_size == 64 * 1024 * 1024


def test_names_round_trip_through_an_object_store(sync_settings, make_side):
    """Local -> S3 -> another local: every name comes back as the same bytes (a name that is not UTF-8 is
    stored in the bucket in its stored form, which is valid UTF-8)."""
    src, bucket, back = make_side("local", "src"), make_side("s3", "bucket"), make_side("local", "back")
    made = make_adversarial_tree(src.root, extreme_mtimes=False)
    try:
        for one, two in ((src, bucket), (bucket, back)):
            result = run_sync(sync_settings, request(one, two, Mode.sync))
            assert result.errors == [], result.errors
        empty = {b"empty-dir", b"nested-empty", b"nested-empty/deeper"}  # an object store has no empty folders
        problems = compare_bytes_trees(
            src.root, back.root, skip=set(made.special) | empty, links=False, mode=False, mtime_within_ns=10**6
        )
        assert problems == [], problems
    finally:
        made.close()


@pytest.mark.parametrize("kind", ["webdav", "rclone-local", "rclone-s3"])
def test_names_round_trip_through_webdav_and_rclone_remotes(sync_settings, make_side, case_builder, kind):  # noqa: F811
    src, back = make_side("local", "src"), make_side("local", "back")
    remote = case_builder(kind).make(f"names-{kind}")
    made = make_adversarial_tree(src.root, extreme_mtimes=False)
    if kind.startswith("rclone"):
        # rclone encodes control characters in names as look-alikes (its "restricted characters"), so through
        # an rclone remote they do not come back as the same bytes: docs/providers.md says so
        top = os.fsencode(src.root)
        for name in (CONTROL, NEWLINE):
            os.unlink(os.path.join(top, name))
        os.unlink(os.path.join(top, LEAF))
        os.rmdir(os.path.join(top, os.path.dirname(LEAF)))
        os.rmdir(os.path.join(top, os.path.dirname(os.path.dirname(LEAF))))
    try:
        there = SyncRequest(source=src.spec, destination=remote, mode=Mode.sync)
        home = SyncRequest(source=remote, destination=back.spec, mode=Mode.sync)
        for req in (there, home):
            result = run_sync(sync_settings, req)
            assert result.errors == [], result.errors
        empty = {b"empty-dir", b"nested-empty", b"nested-empty/deeper"} if kind == "rclone-s3" else set()
        problems = compare_bytes_trees(
            src.root, back.root, skip=set(made.special) | empty, links=False, mode=False, mtime_within_ns=10**9
        )
        assert problems == [], problems
    finally:
        made.close()


# -- symlinks as symlinks (--links) or followed (--copy-links) ---------------------------------------------------


def _links_tree(root: Path) -> None:
    (root / "docs").mkdir()
    (root / "docs/real.txt").write_bytes(b"the real file\n")
    (root / "to-real").symlink_to("docs/real.txt")
    (root / "to-docs").symlink_to("docs")
    (root / "dangling").symlink_to("nowhere/at/all")
    (root / "absolute").symlink_to("/etc/hostname")
    os.utime(root / "to-real", ns=(1_600_000_000_000_000_000,) * 2, follow_symlinks=False)


@pytest.mark.parametrize("kind", ["local", "sftp", "s3"])
def test_links_syncs_symlinks_as_symlinks_or_as_rclonelink_files(sync_settings, make_side, kind):
    src, middle, back = make_side("local", "src"), make_side(kind, "middle"), make_side("local", "back")
    _links_tree(src.root)
    for one, two in ((src, middle), (middle, back)):
        result = run_sync(sync_settings, request(one, two, Mode.sync, links=True))
        assert result.errors == [] and result.plan.skipped == []
    if kind != "local":  # no symlinks there: rclone's format, a file holding the target
        assert middle.read("to-real.rclonelink") == b"docs/real.txt"
        assert middle.read("dangling.rclonelink") == b"nowhere/at/all"
    else:
        assert os.readlink(middle.root / "to-docs") == "docs"
    for name, target in (
        ("to-real", "docs/real.txt"),
        ("to-docs", "docs"),
        ("dangling", "nowhere/at/all"),
        ("absolute", "/etc/hostname"),
    ):
        assert (back.root / name).is_symlink() and os.readlink(back.root / name) == target
    assert (back.root / "to-real").lstat().st_mtime_ns == 1_600_000_000_000_000_000
    assert run_sync(sync_settings, request(src, middle, Mode.sync, links=True)).plan.actions == []
    (src.root / "to-real").unlink()
    (src.root / "to-real").symlink_to("docs/elsewhere.txt")
    (src.root / "dangling").unlink()
    for one, two in ((src, middle), (middle, back)):
        assert run_sync(sync_settings, request(one, two, Mode.sync, links=True)).errors == []
    assert os.readlink(back.root / "to-real") == "docs/elsewhere.txt"
    assert not (back.root / "dangling").exists() and not (back.root / "dangling").is_symlink()


def test_links_never_replaces_a_file_by_a_symlink_of_its_name(sync_settings, make_side):
    src, dst = make_side("local", "src"), make_side("local", "dst")
    (src.root / "name").symlink_to("target")
    dst.write("name", b"a real file at the destination\n")
    result = run_sync(sync_settings, request(src, dst, Mode.copy, links=True))
    assert len(result.errors) == 1 and "is a file: the symlink of that name is not made" in result.errors[0]
    assert dst.read("name") == b"a real file at the destination\n"


def test_links_in_two_way_sync(sync_settings, make_side):
    one, two = make_side("local", "one"), make_side("local", "two")
    (one.root / "link").symlink_to("first")
    for n in range(3):
        one.write(f"file-{n}.txt", b"a file\n")
    bisync(sync_settings, one, two, resync=True, links=True)
    assert os.readlink(two.root / "link") == "first"
    (two.root / "link").unlink()
    (two.root / "link").symlink_to("second")
    os.utime(two.root / "link", ns=(1_700_000_000_000_000_000,) * 2, follow_symlinks=False)
    bisync(sync_settings, one, two, links=True)
    assert os.readlink(one.root / "link") == "second"
    (one.root / "link").unlink()
    bisync(sync_settings, one, two, links=True)
    assert not (two.root / "link").is_symlink()


def test_copy_links_follows_symlinks_and_stops_at_a_loop(sync_settings, make_side):
    src, dst = make_side("local", "src"), make_side("local", "dst")
    _links_tree(src.root)
    (src.root / "docs/loop").symlink_to("..")
    result = run_sync(sync_settings, request(src, dst, Mode.copy, copy_links=True))
    assert result.errors == []
    assert not (dst.root / "to-real").is_symlink() and dst.read("to-real") == b"the real file\n"
    assert dst.read("to-docs/real.txt") == b"the real file\n"
    assert dst.read("absolute") == Path("/etc/hostname").read_bytes()
    skipped = sorted(line.split(":")[0] for line in result.plan.skipped)
    assert skipped == ["dangling", "docs/loop", "to-docs/loop"]


def test_links_and_copy_links_together_are_refused():
    with pytest.raises(ValueError, match="either synced as itself or followed"):
        SyncOptions(links=True, copy_links=True)


def test_an_sftp_side_never_writes_below_a_symlink_anywhere_on_the_path(sync_settings, make_side, scratch):
    dst = make_side("sftp", "dst")
    elsewhere = scratch / "elsewhere"
    (elsewhere / "sub").mkdir(parents=True)
    (dst.root / "link").symlink_to(elsewhere)
    with open_provider(dst.spec, sync_settings) as provider:
        for attempt in (
            lambda: provider.mkdir("link/sub"),
            lambda: provider.write_bytes("link/sub/evil.txt", b"x"),
            lambda: provider.set_mode("link", 0o777),
        ):
            with pytest.raises(ProviderError, match="symlink"):
                attempt()
    assert list((elsewhere / "sub").iterdir()) == [] and stat.S_IMODE(elsewhere.stat().st_mode) != 0o777


def test_set_id_bits_go_only_with_the_owner(sync_settings, make_side):
    src, dst = make_side("local", "src"), make_side("local", "dst")
    src.write("tool", b"#!/bin/sh\n")
    os.chmod(src.root / "tool", 0o4755)
    assert run_sync(sync_settings, request(src, dst, Mode.copy)).errors == []
    assert stat.S_IMODE((dst.root / "tool").stat().st_mode) == 0o755


@pytest.mark.parametrize("kind", ["local", "sftp"])
def test_metadata_keeps_owners_attributes_and_folder_times(sync_settings, make_side, kind):
    src, dst = make_side("local", "src"), make_side(kind, "dst")
    src.write("docs/a.txt", b"a\n")
    os.setxattr(src.root / "docs/a.txt", "user.origin", b"scanner \x00\xff")
    os.chown(src.root / "docs/a.txt", 65534, 65534)
    os.utime(src.root / "docs", (T1, T1))
    result = run_sync(sync_settings, request(src, dst, Mode.copy, metadata=True))
    assert result.errors == [] and result.warnings == []
    copied = (dst.root / "docs/a.txt").stat()
    if os.geteuid() == 0:  # only root may give a file away
        assert (copied.st_uid, copied.st_gid) == (65534, 65534)
    if kind == "local":  # SFTP v3 carries no extended attributes
        assert os.getxattr(dst.root / "docs/a.txt", "user.origin") == b"scanner \x00\xff"
    assert (dst.root / "docs").stat().st_mtime == T1
    plain = make_side(kind, "plain")
    assert run_sync(sync_settings, request(src, plain, Mode.copy)).errors == []
    assert (plain.root / "docs/a.txt").stat().st_uid == os.geteuid()
    assert "user.origin" not in os.listxattr(plain.root / "docs/a.txt")


@pytest.mark.parametrize("kind", ["local", "sftp"])
def test_a_long_name_of_many_bytes_per_character_syncs(sync_settings, make_side, kind):
    src, dst = make_side("local", "src"), make_side(kind, "dst")
    name = "日本語" * 28 + ".t"  # 254 bytes: its temporary name must fit too
    src.write(name, b"long name\n")
    assert run_sync(sync_settings, request(src, dst, Mode.copy)).errors == []
    assert dst.read(name) == b"long name\n"


def test_a_special_file_in_the_other_unicode_form_still_blocks_its_path(sync_settings, make_side):
    nfc, nfd = (unicodedata.normalize(form, "café") for form in ("NFC", "NFD"))
    one, two = make_side("local", "one"), make_side("local", "two")
    for n in range(3):
        one.write(f"keep-{n}.txt", b"keep\n", mtime=T0)
    one.write(nfc, b"same\n", mtime=T0)
    for n in range(3):
        two.write(f"keep-{n}.txt", b"keep\n", mtime=T0)
    two.write(nfd, b"same\n", mtime=T0)
    bisync(sync_settings, one, two, resync=True)
    (two.root / nfd).unlink()
    (two.root / nfd).symlink_to("/etc")
    result = bisync(sync_settings, one, two)
    assert one.read(nfc) == b"same\n"  # a symlink in its place is no deletion
    assert any("café" in line for line in result.plan.skipped)


def test_a_side_holding_both_forms_keeps_them_apart(sync_settings, make_side):
    nfc, nfd = (unicodedata.normalize(form, "café") for form in ("NFC", "NFD"))
    src, dst = make_side("local", "src"), make_side("local", "dst")
    src.write(nfc, b"A\n", mtime=T1)
    src.write(nfd, b"B\n", mtime=T1)
    dst.write(nfd, b"B\n", mtime=T1)
    assert run_sync(sync_settings, request(src, dst, Mode.sync)).errors == []
    assert dst.read(nfc) == b"A\n" and dst.read(nfd) == b"B\n"


# -- a scenario table after rclone's cmd/bisync/testdata: each case says what both sides hold afterwards --------

BASE = {"a.txt": b"A\n", "b.txt": b"B\n", "dir/c.txt": b"C\n"}


def _touch(side: SyncSide, rel: str, when: float = T3) -> None:
    os.utime(side.root / rel, (when, when))


SCENARIOS = {
    # name: (what the user does on each side, what both sides hold after one run, conflicts)
    "changes": (
        lambda one, two: (
            one.write("new1.txt", b"N1\n", mtime=T1),
            two.write("new2.txt", b"N2\n", mtime=T1),
            one.write("a.txt", b"A edited\n", mtime=T2),
            two.delete("b.txt"),
        ),
        {"a.txt": b"A edited\n", "dir/c.txt": b"C\n", "new1.txt": b"N1\n", "new2.txt": b"N2\n"},
        0,
    ),
    "all_changed": (
        lambda one, two: [one.write(p, d + b"more\n", mtime=T2) for p, d in BASE.items()],
        {p: d + b"more\n" for p, d in BASE.items()},
        0,
    ),
    "equal_change": (
        lambda one, two: (one.write("a.txt", b"same edit\n", mtime=T1), two.write("a.txt", b"same edit\n", mtime=T2)),
        {**BASE, "a.txt": b"same edit\n"},
        0,
    ),
    "touch_only": (lambda one, two: _touch(one, "a.txt"), BASE, 0),
    "touch_vs_edit": (
        lambda one, two: (_touch(one, "a.txt"), two.write("a.txt", b"A edited on 2\n", mtime=T1)),
        {**BASE, "a.txt": b"A edited on 2\n"},
        0,
    ),
    "deleted_on_both": (
        lambda one, two: (one.delete("a.txt"), two.delete("a.txt")),
        {k: v for k, v in BASE.items() if k != "a.txt"},
        0,
    ),
    "rename": (
        lambda one, two: (one.root / "a.txt").rename(one.root / "renamed.txt"),
        {"renamed.txt": b"A\n", "b.txt": b"B\n", "dir/c.txt": b"C\n"},
        0,
    ),
    "change_beats_delete": (
        lambda one, two: (one.write("a.txt", b"A kept\n", mtime=T2), two.delete("a.txt")),
        {**BASE, "a.txt": b"A kept\n"},
        1,
    ),
    "rmdirs": (
        lambda one, two: (one.delete("dir/c.txt"), (one.root / "dir").rmdir()),
        {"a.txt": b"A\n", "b.txt": b"B\n"},
        0,
    ),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_bisync_scenarios(sync_settings, make_side, name):
    change, expected, conflicts = SCENARIOS[name]
    one, two = make_side("local", "one"), make_side("local", "two")
    for rel, data in BASE.items():
        one.write(rel, data, mtime=T0)
    one.write("d.txt", b"D\n", mtime=T0)  # a fourth file, so the guard lets single deletions pass
    bisync(sync_settings, one, two, resync=True)
    change(one, two)
    result = bisync(sync_settings, one, two)
    want = {**expected, "d.txt": b"D\n"}
    assert tree(one) == tree(two) == want
    assert len(result.plan.conflicts) == conflicts, result.plan.conflicts
    assert bisync(sync_settings, one, two).plan.actions == []  # converged in one run
    if name == "rename":
        assert result.transferred_files == 0


def test_bisync_dry_run_changes_nothing(sync_settings, make_side):
    one, two = make_side("local", "one"), make_side("local", "two")
    for rel, data in BASE.items():
        one.write(rel, data, mtime=T0)
    bisync(sync_settings, one, two, resync=True)
    one.write("a.txt", b"edited\n", mtime=T1)
    two.delete("b.txt")
    before = (tree(one), tree(two))
    result = bisync(sync_settings, one, two, dry_run=True)
    assert {a.kind.value for a in result.plan.actions} == {"update", "delete"}
    assert (tree(one), tree(two)) == before
