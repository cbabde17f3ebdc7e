"""The pair's state across a no-change run: left as it was (not rewritten), the MD5s it knew kept."""

from __future__ import annotations

import hashlib

from syncoxide.store import open_store
from syncoxide.store import sync as store
from syncoxide.sync import Mode, SyncRequest, run_sync
from syncoxide.sync.runner import pair_id
from tests.integration.sync_helpers import *  # noqa: F403 - fixtures
from tests.integration.sync_helpers import SideMaker


def _rows(settings, pair: str) -> dict[str, tuple]:
    with open_store(settings) as conn:
        found = conn.execute("SELECT path, xmin::text, dst_md5 FROM sync_state WHERE pair_id = %s", (pair,))
        return {path: (version, md5) for path, version, md5 in found}


def test_a_no_change_run_keeps_the_state_as_it_was(sync_settings, make_side: SideMaker):
    src, dst = make_side("local", "src"), make_side("sftp", "dst")
    for i in range(20):
        src.write(f"d{i % 3}/f{i}.txt", f"file {i}\n".encode(), mtime=1_700_000_000 + i)
    request = SyncRequest(source=src.spec, destination=dst.spec, mode=Mode.sync)
    assert run_sync(sync_settings, request).errors == []
    pair = pair_id(request)
    before = _rows(sync_settings, pair)
    assert before["d2/f5.txt"][1] == hashlib.md5(b"file 5\n").hexdigest()  # what the transfer verified
    again = run_sync(sync_settings, request)
    assert again.errors == [] and again.plan.actions == []
    assert _rows(sync_settings, pair) == before  # same rows, same row versions: nothing rewritten
    with open_store(sync_settings) as conn:
        assert len(store.PgStateStore(conn).load_state(pair).files) == 20
