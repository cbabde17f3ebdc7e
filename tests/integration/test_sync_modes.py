"""copy, sync and move from a local directory to local, SFTP and S3 destinations, on real servers."""

from __future__ import annotations

import json
import os

import pytest

from syncoxide.providers.base import TEMP_MARKER
from syncoxide.sync import GuardTripped, MaxDelete, Mode, SyncOptions, SyncRequest, run_sync
from syncoxide.sync.models import Filters
from tests.integration.sync_helpers import *  # noqa: F403 - fixtures
from tests.integration.sync_helpers import SideMaker, SyncSide, ts

KINDS = ["local", "sftp", "s3"]
MIB = 1024 * 1024


def tree(side: SyncSide) -> dict[str, bytes]:
    files = {
        "a.txt": b"alpha\n",
        "docs/b.md": b"# bravo\n" * 100,
        "docs/deep/c.bin": os.urandom(300_000),
        "empty.dat": b"",
        "big.bin": os.urandom(12 * MIB + 123),
    }
    for rel, data in files.items():
        side.write(rel, data, mtime=ts("2024-03-01T10:00:00"))
    return files


def request(src: SyncSide, dst: SyncSide, mode: Mode, **options: object) -> SyncRequest:
    opts = {"large_file": 8 * MIB, "chunk_size": 5 * MIB, **options}
    return SyncRequest(source=src.spec, destination=dst.spec, mode=mode, options=SyncOptions(**opts))


def no_temporaries(side: SyncSide) -> None:
    assert not [p for p in side.root.rglob("*") if TEMP_MARKER in p.name]


@pytest.mark.parametrize("kind", KINDS)
def test_copy_arrives_verified_and_a_second_run_sends_nothing(sync_settings, make_side: SideMaker, kind):
    src, dst = make_side("local", "src"), make_side(kind, "dst")
    files = tree(src)
    result = run_sync(sync_settings, request(src, dst, Mode.copy))
    assert result.errors == []
    assert result.transferred_files == len(files)
    assert {k: v for k, v in dst.files().items() if k in files} == files
    no_temporaries(dst)
    if kind != "s3":  # S3 keeps the mtime in metadata, not on rclone's backing file
        assert abs((dst.root / "docs/b.md").stat().st_mtime - ts("2024-03-01T10:00:00")) < 1.01
    again = run_sync(sync_settings, request(src, dst, Mode.copy))
    assert again.plan.actions == [] and again.transferred_files == 0
    assert again.plan.unchanged == len(files)
    src.write("a.txt", b"alpha, changed\n", mtime=ts("2024-03-02T10:00:00"))
    third = run_sync(sync_settings, request(src, dst, Mode.copy))
    assert [a.path for a in third.plan.actions] == ["a.txt"]
    assert dst.read("a.txt") == b"alpha, changed\n"


@pytest.mark.parametrize("kind", KINDS)
def test_sync_deletes_extraneous_files_and_the_guard_stops_before_anything_changes(
    sync_settings, make_side: SideMaker, kind
):
    src, dst = make_side("local", "src"), make_side(kind, "dst")
    files = tree(src)
    run_sync(sync_settings, request(src, dst, Mode.sync))
    dst.write("extra.txt", b"not at the source")
    result = run_sync(sync_settings, request(src, dst, Mode.sync))
    assert result.deleted == 1 and not (dst.root / "extra.txt").exists()
    # the source loses most of its files (a mount that went away...): the guard trips
    for rel in ["a.txt", "docs/b.md", "docs/deep/c.bin", "empty.dat"]:
        (src.root / rel).unlink()
    src.write("new.txt", b"a new file that must not be sent either")
    before = dst.files()
    with pytest.raises(GuardTripped, match=r"would delete 4 of 5 files .*--max-delete 50%.*nothing was changed"):
        run_sync(sync_settings, request(src, dst, Mode.sync))
    assert dst.files() == before
    with pytest.raises(GuardTripped, match="more than --max-delete 3"):
        run_sync(sync_settings, request(src, dst, Mode.sync, max_delete=MaxDelete(count=3)))
    assert dst.files() == before
    allowed = run_sync(sync_settings, request(src, dst, Mode.sync, max_delete=MaxDelete(count=4)))
    assert allowed.deleted == 4
    assert set(dst.files()) >= {"big.bin", "new.txt"} and "a.txt" not in dst.files()
    assert files["big.bin"] == dst.read("big.bin")


@pytest.mark.parametrize("kind", KINDS)
def test_move_copies_verifies_then_removes_the_source(sync_settings, make_side: SideMaker, kind):
    src, dst = make_side("local", "src"), make_side(kind, "dst")
    files = tree(src)
    dst.write("a.txt", b"alpha\n", mtime=ts("2024-03-01T10:00:00"))  # already there: verified by hash, then removed
    result = run_sync(sync_settings, request(src, dst, Mode.move))
    assert result.errors == []
    assert not [p for p in src.root.rglob("*") if p.is_file()]
    assert {k: v for k, v in dst.files().items() if k in files} == files


def test_move_keeps_a_source_that_differs_from_what_the_destination_has(sync_settings, make_side: SideMaker):
    src, dst = make_side("local", "src"), make_side("local", "dst")
    src.write("same-time.txt", b"version A", mtime=ts("2024-01-01T00:00:00"))
    dst.write("same-time.txt", b"version B", mtime=ts("2024-01-01T00:00:00"))  # same size and time, other bytes
    result = run_sync(sync_settings, request(src, dst, Mode.move))
    assert "differs from the source: source kept" in result.errors[0]
    assert src.read("same-time.txt") == b"version A"


def test_checksum_mode_finds_content_changes_size_and_time_miss(sync_settings, make_side: SideMaker):
    src, dst = make_side("local", "src"), make_side("local", "dst")
    src.write("x.txt", b"AAAA", mtime=ts("2024-01-01T00:00:00"))
    dst.write("x.txt", b"BBBB", mtime=ts("2024-01-01T00:00:00"))
    src.write("y.txt", b"same", mtime=ts("2024-01-01T00:00:00"))
    dst.write("y.txt", b"same", mtime=ts("2024-01-01T00:00:00"))
    assert run_sync(sync_settings, request(src, dst, Mode.copy)).plan.actions == []
    result = run_sync(sync_settings, request(src, dst, Mode.copy, checksum=True))
    assert dst.read("x.txt") == b"AAAA"
    assert result.transferred_files == 1  # y.txt was compared by hash and not sent


def test_filters_and_dry_run(sync_settings, make_side: SideMaker):
    src, dst = make_side("local", "src"), make_side("local", "dst")
    src.write("keep/a.txt", b"a" * 10)
    src.write("keep/b.tmp", b"b" * 10)
    src.write("node_modules/x.js", b"x")
    src.write("keep/huge.txt", b"h" * 5000)
    src.write("old.txt", b"o", mtime=ts("2001-01-01T00:00:00"))
    filters = Filters(include=["*.txt"], exclude=["node_modules", "*.tmp"], max_size=1000, max_age_s=3600 * 24 * 365)
    dry = run_sync(sync_settings, request(src, dst, Mode.copy, filters=filters, dry_run=True))
    assert [a.path for a in dry.plan.actions if a.kind.value == "copy"] == ["keep/a.txt"]
    assert json.loads(dry.model_dump_json())["plan"]["actions"][-1]["path"] == "keep/a.txt"
    assert dst.files() == {}
    run_sync(sync_settings, request(src, dst, Mode.copy, filters=filters))
    assert dst.files() == {"keep/a.txt": b"a" * 10}
