"""Failures: a destination that fills up halfway (local, and over SFTP), and a transfer killed mid-file that resumes
from the journal."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from syncoxide.providers import open_provider
from syncoxide.providers.base import TEMP_MARKER
from syncoxide.providers.errors import NoSpace
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
def tiny_fs(scratch: Path) -> Iterator[Callable[[str], Path]]:
    """size ('1m'), more mount options -> a tmpfs of that size: writes past it fail with ENOSPC (unmounted after
    the test)."""
    mounts: list[Path] = []

    def mount(size: str, more: str = "") -> Path:
        where = scratch / f"tiny-{len(mounts)}"
        where.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}{more}", "tmpfs", str(where)], capture_output=True
        )
        if done.returncode != 0:
            pytest.fail(f"cannot mount a tmpfs (tests run as root): {done.stderr.decode().strip()}")
        mounts.append(where)
        return where

    yield mount
    for where in mounts:
        subprocess.run(["umount", "-l", str(where)], check=False)


def grow(mount: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(mount)], check=True)


def side_on(make_side: SideMaker, kind: str, mount: Path) -> SyncSide:
    """A destination of ``kind`` whose files are on ``mount``: the directory itself, or through the test sshd."""
    spec = make_side(kind, "dst").spec
    if kind == "sftp":
        location = urlunsplit(urlsplit(spec.location)._replace(path=str(mount)))
    else:
        location = str(mount)
    return SyncSide(spec=spec.model_copy(update={"location": location}), root=mount)


def temporaries(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if TEMP_MARKER in p.name]


FILL_UPS = {
    # how: (filesystem size, the new report's size, options); "whole" streams it, "chunks" sends 5 MiB chunks
    # in parallel, the first of which fits (and is checkpointed)
    # one transfer at a time: a.txt lands before the report fills the disk (in parallel, under load, the
    # report's partial upload could fill it first and a.txt would fail too, as it should, but not this test's point)
    "whole": ("1m", 3 * MIB, SyncOptions(max_delete=MaxDelete(count=5), transfers=1)),
    "chunks": ("8m", 12 * MIB, SyncOptions(max_delete=MaxDelete(count=5), large_file=4 * MIB, chunk_size=5 * MIB)),
}


@pytest.mark.parametrize("how", FILL_UPS)
@pytest.mark.parametrize("kind", ["local", "sftp"])
def test_a_destination_that_fills_up_ends_with_a_clear_error_and_nothing_lost(
    sync_settings, make_side: SideMaker, tiny_fs: Callable[[str], Path], kind: str, how: str
):
    size, report_size, options = FILL_UPS[how]
    mount = tiny_fs(size)
    src, dst = make_side("local", "src"), side_on(make_side, kind, mount)
    dst.write("report.txt", b"the old report, still wanted\n", mtime=ts("2024-01-01T00:00:00"))
    dst.write("extra.txt", b"only at the destination\n")
    src.write("a.txt", b"small file\n")
    report = os.urandom(report_size)
    src.write("report.txt", report, mtime=ts("2024-02-01T00:00:00"))  # does not fit
    request = SyncRequest(source=src.spec, destination=dst.spec, mode=Mode.sync, options=options)
    result = run_sync(sync_settings, request)
    assert result.failed == 1
    assert result.errors[0].startswith("report.txt: ") and "no space left on the destination" in result.errors[0]
    if kind == "sftp":  # what the server said (SFTP v3 has no code for a full disk), and how full it is
        assert "(the SFTP server refused a write ('Failure') with " in result.errors[0]
    assert dst.read("report.txt") == b"the old report, still wanted\n"  # the old version is intact
    assert dst.read("a.txt") == b"small file\n"
    assert dst.read("extra.txt") == b"only at the destination\n"  # no deletions after an error
    assert temporaries(mount) == []  # nothing half-sent is kept: it would only fill the disk
    assert len(src.files()) == 2
    with open_store(sync_settings) as conn:
        runs = store.recent_runs(conn, pair_id(request), limit=1)
        assert runs[0]["status"] == "failed" and "no space left" in runs[0]["error"]
        journal = {row["action"]["path"]: row for row in store.journal(conn, result.run_id)}
        assert {path for path, row in journal.items() if row["state"] == "failed"} == {"report.txt"}
        assert "no space left on the destination" in journal["report.txt"]["error"]

    grow(mount, "64m")  # room made: the next run sends it whole and finishes what the failed one left
    again = run_sync(sync_settings, request)
    assert again.errors == [] and again.reconciled >= 1
    assert dst.read("report.txt") == report
    assert not (mount / "extra.txt").exists()
    assert temporaries(mount) == []
    with open_store(sync_settings) as conn:
        assert store.open_actions(conn, pair_id(request)) == []


def test_an_sftp_write_to_a_full_disk_says_so_and_leaves_the_old_file(
    sync_settings, make_side: SideMaker, tiny_fs: Callable[[str], Path]
):
    mount = tiny_fs("1m")
    side = side_on(make_side, "sftp", mount)
    side.write("doc.txt", b"the old one\n")
    refused = r"doc.txt: no space left on the destination \(the SFTP server refused a write \('Failure'\) with "
    with open_provider(side.spec, sync_settings) as provider, pytest.raises(NoSpace, match=refused):
        provider.write_bytes("doc.txt", os.urandom(3 * MIB))
    assert side.read("doc.txt") == b"the old one\n" and temporaries(mount) == []


@pytest.mark.parametrize("kind", ["local", "sftp"])
def test_a_replacement_that_does_not_fit_puts_the_kept_old_file_back(
    sync_settings, make_side: SideMaker, tiny_fs: Callable[[str], Path], kind: str
):
    mount = tiny_fs("1m")
    src, dst = make_side("local", "src"), side_on(make_side, kind, mount)
    dst.write("report.txt", b"the old report\n", mtime=ts("2024-01-01T00:00:00"))
    src.write("report.txt", os.urandom(3 * MIB), mtime=ts("2024-02-01T00:00:00"))
    request = SyncRequest(
        source=src.spec, destination=dst.spec, mode=Mode.sync, options=SyncOptions(backup_dir=".versions")
    )
    result = run_sync(sync_settings, request)
    assert result.failed == 1 and result.backed_up == 0 and "no space left" in result.errors[0]
    assert dst.read("report.txt") == b"the old report\n"  # moved aside for the new one, then back
    assert [p for p in (mount / ".versions").rglob("*") if p.is_file()] == [] and temporaries(mount) == []


def test_an_sftp_server_out_of_inodes_is_a_full_disk_too(
    sync_settings, make_side: SideMaker, tiny_fs: Callable[[str, str], Path]
):
    mount = tiny_fs("64m", ",nr_inodes=2")  # the root directory and one file
    side = side_on(make_side, "sftp", mount)
    side.write("doc.txt", b"the old one\n")
    refused = (
        r"doc.txt: no space left on the destination \(the SFTP server refused a write \('Failure'\) with no "
        r"inodes free on its filesystem \(too many files\)\)"
    )
    with open_provider(side.spec, sync_settings) as provider, pytest.raises(NoSpace, match=refused):
        provider.write_bytes("doc.txt", b"the new one\n")
    assert side.read("doc.txt") == b"the old one\n" and temporaries(mount) == []


def test_an_sftp_destination_remounted_read_only_says_so_and_keeps_what_it_has(
    sync_settings, make_side: SideMaker, tiny_fs: Callable[[str], Path]
):
    mount = tiny_fs("8m")
    src, dst = make_side("local", "src"), side_on(make_side, "sftp", mount)
    dst.write("report.txt", b"the old report\n", mtime=ts("2024-01-01T00:00:00"))
    src.write("report.txt", b"the new report\n", mtime=ts("2024-02-01T00:00:00"))
    src.write("big.bin", os.urandom(6 * MIB))
    subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)  # as a NAS does after disk errors
    request = SyncRequest(
        source=src.spec,
        destination=dst.spec,
        mode=Mode.sync,
        options=SyncOptions(large_file=4 * MIB, chunk_size=5 * MIB),
    )
    result = run_sync(sync_settings, request)
    assert result.failed == 2 and sorted(e.split(":")[0] for e in result.errors) == ["big.bin", "report.txt"]
    assert all(
        e.endswith("the SFTP server refused a write ('Failure'): its filesystem is read-only") for e in result.errors
    ), result.errors
    assert dst.read("report.txt") == b"the old report\n" and temporaries(mount) == []


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
