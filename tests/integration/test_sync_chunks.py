"""Large files to local and SFTP destinations: parallel chunks, and a resume that never publishes damage.

Real servers: OpenSSH's sshd for SFTP, PostgreSQL for the journal (see sync_helpers.py).
"""

from __future__ import annotations

import hashlib
import os
import threading

import pytest

from syncoxide.store import open_store
from syncoxide.store import sync as store
from syncoxide.sync import Mode, SyncOptions, SyncRequest, run_sync
from syncoxide.sync.fileops import FileOps
from syncoxide.sync.runner import pair_id
from tests.integration.killed_run import checkpoint, kill_when
from tests.integration.sync_helpers import *  # noqa: F403 - fixtures
from tests.integration.sync_helpers import SideMaker
from tests.integration.test_sync_failures import temporaries

MIB = 1024 * 1024
CHUNKED = SyncOptions(large_file=8 * MIB, chunk_size=5 * MIB)


class Recorder:
    """Notes every chunk write (offset, thread) and how many ran at once."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.writes: list[tuple[int, str]] = []
        self.running = self.most = 0
        self._lock = threading.Lock()
        write_at = FileOps.write_at

        def recorded(ops: FileOps, path: str, offset: int, data: bytes) -> None:
            with self._lock:
                self.writes.append((offset, threading.current_thread().name))
                self.running += 1
                self.most = max(self.most, self.running)
            try:
                write_at(ops, path, offset, data)
            finally:
                with self._lock:
                    self.running -= 1

        monkeypatch.setattr(FileOps, "write_at", recorded)


@pytest.mark.parametrize("kind", ["local", "sftp"])
def test_a_large_file_moves_in_parallel_chunks_and_lands_verified(
    sync_settings, make_side: SideMaker, kind, monkeypatch: pytest.MonkeyPatch
):
    src, dst = make_side("local", "src"), make_side(kind, "dst")
    data = os.urandom(23 * MIB + 7)
    src.write("big.bin", data, mtime=1_700_000_000)
    src.write("small.txt", b"not chunked\n")
    chunks = Recorder(monkeypatch)
    request = SyncRequest(source=src.spec, destination=dst.spec, mode=Mode.copy, options=CHUNKED)
    result = run_sync(sync_settings, request)
    assert result.errors == []
    assert dst.files() == {"big.bin": data, "small.txt": b"not chunked\n"}
    assert int((dst.root / "big.bin").stat().st_mtime) == 1_700_000_000
    assert sorted(offset for offset, _ in chunks.writes) == [n * 5 * MIB for n in range(5)]
    assert all(name.startswith("part") for _, name in chunks.writes)
    if kind == "sftp":
        assert chunks.most >= 2  # side by side (a local chunk can be written before the next is read)
    with open_store(sync_settings) as conn:
        state = store.PgStateStore(conn).load_state(pair_id(request)).files
    assert state["big.bin"].path2.md5 == hashlib.md5(data).hexdigest()  # the destination side's MD5, as verified
    assert run_sync(sync_settings, request).plan.actions == []


@pytest.mark.parametrize("kind", ["local", "sftp"])
def test_a_resume_over_a_damaged_temporary_file_publishes_nothing_and_starts_again(
    sync_settings, make_side: SideMaker, kind
):
    src, dst = make_side("local", "src"), make_side(kind, "dst")
    data = os.urandom(40 * MIB + 17)
    src.write("big.bin", data)
    options = CHUNKED.model_copy(update={"bwlimit": 8 * MIB})
    request = SyncRequest(source=src.spec, destination=dst.spec, mode=Mode.copy, options=options)
    kill_when(sync_settings, request, lambda: checkpoint(sync_settings, pair_id(request)) >= 10 * MIB)
    [temp] = temporaries(dst.root)
    with open(temp, "r+b") as damaged:  # a byte of the checkpointed prefix goes bad while nobody looks
        damaged.seek(MIB)
        byte = damaged.read(1)
        damaged.seek(MIB)
        damaged.write(bytes([byte[0] ^ 0xFF]))
    unlimited = request.model_copy(update={"options": CHUNKED})
    failed = run_sync(sync_settings, unlimited)
    assert failed.resumed_bytes == 0 and failed.failed == 1
    assert "the destination has" in failed.errors[0]
    assert not (dst.root / "big.bin").exists()
    assert temporaries(dst.root) == []
    result = run_sync(sync_settings, unlimited)
    assert result.errors == [] and result.resumed_bytes == 0
    assert dst.read("big.bin") == data
    assert temporaries(dst.root) == []
