"""The pair's state as a value: what a file's entry says about each side, the MD5s it keeps, its stored columns."""

from __future__ import annotations

from datetime import UTC, datetime

from syncoxide.providers.base import Entry
from syncoxide.store.sync import _file_state, _state_row
from syncoxide.sync.compare import Signature
from syncoxide.sync.models import Side
from syncoxide.sync.state import FileState

T0 = datetime(2024, 5, 1, 8, 0, 0, tzinfo=UTC)
NS = 1_714_550_400 * 10**9


def test_a_file_state_is_each_sides_signature_from_its_listing():
    one = Entry(path="a.txt", size=3, mtime=T0)
    two = Entry(path="a.txt", size=3, mtime=T0, hashes={"md5": "listed"})
    state = FileState.of(one, two, "verified")
    assert state == FileState("a.txt", Signature(3, NS, "verified"), Signature(3, NS, "listed"))
    assert state.on(Side.path1) is state.path1 and state.on(Side.path2) is state.path2


def test_an_md5_the_state_knew_stays_while_that_sides_size_and_time_are_unchanged():
    kept = FileState("a", Signature(3, NS, "md5-1"), Signature(3, NS, "md5-2"))
    relisted = FileState("a", Signature(3, NS), Signature(3, NS + 1))  # path2's time moved
    assert relisted.keeping_md5(kept) == FileState("a", Signature(3, NS, "md5-1"), Signature(3, NS + 1))
    learned = FileState("a", Signature(3, NS, "new"), Signature(3, NS))
    assert learned.keeping_md5(kept) == FileState("a", Signature(3, NS, "new"), Signature(3, NS, "md5-2"))
    assert relisted.keeping_md5(None) is relisted


def test_a_file_state_is_stored_as_the_columns_of_sync_state_in_their_order():
    state = FileState("docs/a.txt", Signature(1, 2, "m1"), Signature(3, 4, None))
    assert _state_row(state) == ("docs/a.txt", 1, 2, "m1", 3, 4, None)  # path, src_*, dst_*
    assert _file_state(_state_row(state)) == state
