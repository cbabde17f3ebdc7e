"""backup_dir: what a run would delete or replace is moved into a folder of the side it changes, one folder per
run, and that folder stays out of the sync (local, SFTP and S3 on real servers; bisync on both sides)."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta

import pytest

from syncoxide.sync import Mode, SyncOptions, SyncRequest, run_sync
from syncoxide.sync.models import ConflictPolicy, Filters
from tests.integration.sync_helpers import *  # noqa: F403 - fixtures
from tests.integration.sync_helpers import SideMaker, SyncSide, ts

MIB = 1024 * 1024


def request(src: SyncSide, dst: SyncSide, mode: Mode, **options: object) -> SyncRequest:
    opts = {"large_file": 8 * MIB, "chunk_size": 5 * MIB, "backup_dir": ".versions", **options}
    return SyncRequest(source=src.spec, destination=dst.spec, mode=mode, options=SyncOptions(**opts))


def kept(side: SyncSide) -> dict[str, dict[str, bytes]]:
    """run folder -> {path: data} of what the backup folder holds."""
    runs: dict[str, dict[str, bytes]] = {}
    for path, data in side.files().items():
        if path.startswith(".versions/"):
            _, folder, rest = path.split("/", 2)
            runs.setdefault(folder, {})[rest] = data
    return runs


@pytest.mark.parametrize("kind", ["local", "sftp", "s3"])
def test_a_sync_moves_what_it_deletes_or_replaces_into_a_folder_per_run(sync_settings, make_side: SideMaker, kind):
    src, dst = make_side("local", "src"), make_side(kind, "dst")
    old_big, new_big = os.urandom(10 * MIB), os.urandom(10 * MIB)
    src.write("docs/a.txt", b"first\n", mtime=ts("2024-03-01T10:00:00"))
    src.write("big.bin", old_big, mtime=ts("2024-03-01T10:00:00"))
    src.write("same.txt", b"unchanged\n", mtime=ts("2024-03-01T10:00:00"))
    assert run_sync(sync_settings, request(src, dst, Mode.sync)).backed_up == 0
    dst.write("extra/notes.txt", b"only at the destination\n")
    src.write("docs/a.txt", b"second\n", mtime=ts("2024-03-02T10:00:00"))
    src.write("big.bin", new_big, mtime=ts("2024-03-02T10:00:00"))

    result = run_sync(sync_settings, request(src, dst, Mode.sync))
    assert result.errors == [] and result.backed_up == 3 and result.deleted == 1
    assert dst.read("docs/a.txt") == b"second\n" and dst.read("big.bin") == new_big
    assert not (dst.root / "extra/notes.txt").exists()
    ((folder, held),) = kept(dst).items()
    assert held == {"docs/a.txt": b"first\n", "big.bin": old_big, "extra/notes.txt": b"only at the destination\n"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d{6}\.\d{3}Z", folder)  # the run's start, in UTC

    again = run_sync(sync_settings, request(src, dst, Mode.sync))  # the folder is not extraneous: left alone
    assert again.plan.actions == [] and again.backed_up == 0 and kept(dst) == {folder: held}
    src.write("docs/a.txt", b"third\n", mtime=ts("2024-03-03T10:00:00"))
    third = run_sync(sync_settings, request(src, dst, Mode.copy))  # copy keeps what it replaces too
    assert third.backed_up == 1 and dst.read("docs/a.txt") == b"third\n"
    runs = kept(dst)
    assert len(runs) == 2 and runs[folder] == held
    assert [data for name, data in runs.items() if name != folder] == [{"docs/a.txt": b"second\n"}]


def test_a_bisync_keeps_each_sides_losses_on_that_side(sync_settings, make_side: SideMaker):
    one, two = make_side("local", "one"), make_side("local", "two")
    for side in (one, two):
        side.write("shared.txt", b"v1\n", mtime=ts("2024-03-01T10:00:00"))
        side.write("gone.txt", b"soon deleted\n", mtime=ts("2024-03-01T10:00:00"))
    bisync = lambda **o: run_sync(sync_settings, request(one, two, Mode.bisync, conflict=ConflictPolicy.newer, **o))  # noqa: E731
    assert bisync(resync=True).errors == []
    two.write("shared.txt", b"v2 from two\n", mtime=ts("2024-03-02T10:00:00"))
    one.delete("gone.txt")
    result = bisync()
    assert result.errors == [] and result.backed_up == 2
    assert one.read("shared.txt") == b"v2 from two\n" and not (two.root / "gone.txt").exists()
    assert list(kept(one).values()) == [{"shared.txt": b"v1\n"}]
    assert list(kept(two).values()) == [{"gone.txt": b"soon deleted\n"}]
    assert bisync().plan.actions == []  # neither folder is synced to the other side


def test_a_destination_file_the_filters_hide_is_kept_before_a_copy_replaces_it(sync_settings, make_side: SideMaker):
    src, dst = make_side("local", "src"), make_side("local", "dst")
    src.write("x.txt", b"the source's, old\n", mtime=ts("2024-03-01T10:00:00"))
    dst.write("x.txt", b"edited at the destination a minute ago\n")  # younger than --min-age: not listed
    result = run_sync(sync_settings, request(src, dst, Mode.sync, filters=Filters(min_age_s=3600)))
    assert [a.kind.value for a in result.plan.actions] == ["copy"] and result.backed_up == 1
    assert list(kept(dst).values()) == [{"x.txt": b"edited at the destination a minute ago\n"}]


@pytest.mark.parametrize("kind", ["local", "sftp", "s3"])
def test_backup_keep_prunes_run_folders_older_than_it_and_nothing_else(sync_settings, make_side: SideMaker, kind):
    src, dst = make_side("local", "src"), make_side(kind, "dst")
    src.write("a.txt", b"a\n", mtime=ts("2024-03-01T10:00:00"))
    recent = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H%M%S.000Z")
    dst.write(".versions/2020-01-01T000000.000Z/old.txt", b"from 2020\n")
    dst.write(".versions/2020-01-01T000000.000Z/deep/er.txt", b"from 2020 too\n")
    dst.write(f".versions/{recent}/recent.txt", b"an hour old\n")
    dst.write(".versions/mine/notes.txt", b"not a run folder: never pruned\n")
    result = run_sync(sync_settings, request(src, dst, Mode.sync, backup_keep_s=86400))
    assert result.errors == [] and result.backups_pruned == 1
    assert sorted(p for p in dst.files() if p.startswith(".versions/")) == [
        f".versions/{recent}/recent.txt",
        ".versions/mine/notes.txt",
    ]
    if kind != "s3":  # an object store has no folders to remove
        assert not (dst.root / ".versions" / "2020-01-01T000000.000Z").exists()
    assert run_sync(sync_settings, request(src, dst, Mode.sync, backup_keep_s=86400)).backups_pruned == 0


def test_backup_keep_needs_a_backup_dir():
    from syncoxide.errors import InvalidInput
    from syncoxide.sync import inputs

    with pytest.raises(InvalidInput, match=r"^--backup-keep prunes the --backup-dir folder: give --backup-dir too$"):
        inputs.sync_options(backup_keep="30d")


@pytest.mark.parametrize(
    "value, message",
    [
        ("../elsewhere", "--backup-dir '../elsewhere' must stay inside the side it changes (no '..')"),
        ("/", "--backup-dir '/': give a folder name at the root of the side it changes, e.g. .versions"),
        (
            "/tmp/versions",
            "--backup-dir '/tmp/versions': give a folder name at the root of the side it changes, e.g. .versions",
        ),
        (
            "photos/.versions",
            "--backup-dir 'photos/.versions': give a folder name at the root of the side it changes, e.g. .versions",
        ),
    ],
)
def test_a_backup_dir_outside_the_side_is_refused(value, message):
    from syncoxide.errors import InvalidInput
    from syncoxide.sync import inputs

    with pytest.raises(InvalidInput) as caught:
        inputs.sync_options(backup_dir=value)
    assert str(caught.value) == message
