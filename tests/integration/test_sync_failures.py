"""Failures: a destination that fills up halfway, and a transfer killed mid-file that resumes from the journal."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncoxide.providers.base import TEMP_MARKER
from syncoxide.store import open_store
from syncoxide.store import sync as store
from syncoxide.sync import MaxDelete, Mode, SyncOptions, SyncRequest, run_sync
from syncoxide.sync.runner import pair_id
from tests.integration.killed_run import checkpoint as killed_at
from tests.integration.killed_run import kill_when
from tests.integration.sync_helpers import *  # noqa: F403 - fixtures
from tests.integration.sync_helpers import SideMaker, SyncSide, ts

MIB = 1024 * 1024


@pytest.fixture()
def tiny_fs(scratch: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs: writes past that fail with ENOSPC."""
    mount = scratch / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs (tests run as root): {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def temporaries(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if TEMP_MARKER in p.name]


def test_a_destination_that_fills_up_ends_with_a_clear_error_and_nothing_lost(
        sync_settings, make_side: SideMaker, tiny_fs: Path):
    src = make_side("local", "src")
    dst = SyncSide(spec=src.spec.model_copy(update={"location": str(tiny_fs)}), root=tiny_fs)
    dst.write("report.txt", b"the old report, still wanted\n", mtime=ts("2024-01-01T00:00:00"))
    dst.write("extra.txt", b"only at the destination\n")
    src.write("a.txt", b"small file\n")
    src.write("report.txt", os.urandom(3 * MIB), mtime=ts("2024-02-01T00:00:00"))  # does not fit
    request = SyncRequest(source=src.spec, destination=dst.spec, mode=Mode.sync,
                          options=SyncOptions(max_delete=MaxDelete(count=5)))
    result = run_sync(sync_settings, request)
    assert result.failed == 1
    assert "report.txt" in result.errors[0] and "no space left on the destination" in result.errors[0]
    assert dst.read("report.txt") == b"the old report, still wanted\n"  # the old version is intact
    assert dst.read("a.txt") == b"small file\n"
    assert dst.read("extra.txt") == b"only at the destination\n"  # no deletions after an error
    assert temporaries(tiny_fs) == []
    assert len(src.files()) == 2
    with open_store(sync_settings) as conn:
        runs = store.recent_runs(conn, pair_id(request), limit=1)
        assert runs[0]["status"] == "failed" and "no space left" in runs[0]["error"]
        failed = [row for row in store.journal(conn, result.run_id) if row["state"] == "failed"]
        assert [row["action"]["path"] for row in failed] == ["report.txt"]


@pytest.mark.parametrize("kind", ["local", "sftp", "s3"])
def test_a_killed_transfer_resumes_from_its_last_verified_chunk(sync_settings, make_side: SideMaker, kind):
    src, dst = make_side("local", "src"), make_side(kind, "dst")
    data = os.urandom(40 * MIB + 17)
    src.write("big.bin", data)
    options = SyncOptions(large_file=8 * MIB, chunk_size=5 * MIB, bwlimit=8 * MIB)
    request = SyncRequest(source=src.spec, destination=dst.spec, mode=Mode.copy, options=options)
    pair = pair_id(request)
    kill_when(sync_settings, request, lambda: killed_at(sync_settings, pair) >= 15 * MIB)
    checkpoint = killed_at(sync_settings, pair)
    assert not (dst.root / "big.bin").exists()  # nothing at the final path
    unlimited = options.model_copy(update={"bwlimit": None})
    result = run_sync(sync_settings, request.model_copy(update={"options": unlimited}))
    assert result.errors == []
    assert result.reconciled >= 1
    assert result.resumed_bytes >= checkpoint > 0
    assert result.transferred_bytes <= len(data) - checkpoint
    assert dst.read("big.bin") == data
    assert temporaries(dst.root) == []
    with open_store(sync_settings) as conn:
        assert store.open_actions(conn, pair) == []
