"""Names as bytes (syncoxide/fs/names.py): the stored form reads back to every byte sequence, the shown form
escapes what is not printable, restic's Go-quoted names decode exactly, and search globs translate."""

from __future__ import annotations

import json
import os
import re
import unicodedata

import pytest

from syncoxide.catalog.name_match import glob_to_regex, is_glob
from syncoxide.engines.restic_names import ExactPaths, node_name
from syncoxide.errors import InvalidInput
from syncoxide.fs import names
from tests import adversarial

ODD = [
    adversarial.NON_UTF8,
    adversarial.BACKSLASH,
    adversarial.NEWLINE,
    adversarial.CONTROL,
    adversarial.DASH,
    adversarial.LONG,
    adversarial.NFC,
    adversarial.NFD,
    b"dir-\xff\xfe-back\\slash",
    b"leaf-\x80.bin",
    "reserved-\U0010fe80-\U0010feff".encode(),
    b"\xf4\x8f\xba",
    b"\xe2\x80\xae-rtl",
    b"%_*?[x]",
]


@pytest.mark.parametrize("raw", ODD, ids=adversarial.show)
def test_the_stored_form_is_valid_unicode_and_reads_back_to_the_same_bytes(raw):
    stored = names.stored(raw)
    assert stored.encode("utf-8")  # Parquet, DuckDB, PostgreSQL and JSON take it
    assert json.loads(json.dumps(stored)) == stored
    assert names.to_bytes(stored) == raw
    assert names.from_os(os.fsdecode(raw)) == stored
    assert names.to_os(stored) == os.fsdecode(raw)  # what os.* and subprocess take


def test_every_byte_sequence_round_trips_and_no_two_share_a_stored_form():
    seen: dict[str, bytes] = {}
    samples = [bytes([a, b]) for a in range(1, 256) for b in (0x41, 0x80, 0xBA, 0xBF, 0xC3, 0xF4, 0xFF)]
    samples += [os.urandom(n) for n in range(1, 40) for _ in range(30)]
    for raw in samples:
        stored = names.stored(raw)
        assert names.to_bytes(stored) == raw
        assert seen.setdefault(stored, raw) == raw


def test_valid_utf8_names_are_stored_as_themselves():
    for raw in (adversarial.BACKSLASH, adversarial.NEWLINE, adversarial.CONTROL, adversarial.NFD, b"plain.txt"):
        assert names.stored(raw) == raw.decode()


def test_the_shown_form_escapes_what_cannot_be_seen_and_is_unambiguous():
    assert names.shown(names.stored(b"plain name.txt")) == "plain name.txt"
    assert names.shown(names.stored(adversarial.NEWLINE)) == "new\\nline"
    assert names.shown(names.stored(adversarial.BACKSLASH)) == "back\\\\slash"
    assert names.shown(names.stored(b"new\\nline")) == "new\\\\nline"  # not the one with a newline
    assert names.shown(names.stored(adversarial.NON_UTF8)) == "latin1-caf\\xe9.txt"
    assert names.shown(names.stored(adversarial.CONTROL)) == "ctrl-\\x01\\x1b-tab\\t.txt"
    assert names.shown(names.stored(b"\xe2\x80\xae-rtl")) == "\\u202e-rtl"
    assert names.shown("café") == "café"
    shown = {names.shown(names.stored(raw)) for raw in ODD}
    assert len(shown) == len(ODD)
    assert all(s.isprintable() for s in shown)


def test_restic_go_quoted_names_decode_to_their_bytes():
    assert node_name("plain") == "plain"
    assert node_name("new\\nline") == "new\nline"
    assert node_name("back\\\\slash") == "back\\slash"
    assert node_name("latin1-caf\\xe9.txt") == os.fsdecode(adversarial.NON_UTF8)
    assert node_name("ctrl-\\x01\\x1b-tab\\t.txt") == adversarial.CONTROL.decode()
    assert node_name('say \\"hi\\"') == 'say "hi"'
    assert node_name("\\u202e-rtl") == "\u202e-rtl"
    assert node_name("caf\u00e9") == "café"


def test_listing_paths_with_replacement_characters_are_put_right_from_their_folders_trees():
    """Two folders whose names differ only in bytes that are not UTF-8 print alike in `restic ls --json`."""
    fe, ff = os.fsdecode(b"/r/\xfe"), os.fsdecode(b"/r/\xff")
    trees = {
        "/r": [{"name": "\\xfe"}, {"name": "\\xff"}, {"name": "ok"}],
        fe: [{"name": "a\\x80"}],
        ff: [{"name": "a\\x81"}, {"name": "b"}],
    }
    asked: list[str] = []

    def tree_of(folder: str) -> list[dict]:
        asked.append(folder)
        return trees[folder]

    exact = ExactPaths(tree_of)
    printed = [
        ("/r", True),
        ("/r/\ufffd", True),
        ("/r/\ufffd/a\ufffd", False),
        ("/r/\ufffd", True),
        ("/r/\ufffd/a\ufffd", False),
        ("/r/\ufffd/b", False),
        ("/r/ok", False),
        ("/s", False),
    ]
    got = [exact.exact(path, is_dir) if "\ufffd" in path or exact.active else path for path, is_dir in printed]
    assert got == [
        "/r",
        "/r/\udcfe",
        "/r/\udcfe/a\udc80",
        "/r/\udcff",
        "/r/\udcff/a\udc81",
        "/r/\udcff/b",
        "/r/ok",
        "/s",
    ]
    assert asked == ["/r", "/r/\udcfe", "/r/\udcff"]


@pytest.mark.parametrize(
    ("glob", "matches", "misses"),
    [
        ("hard-*", ["hard-a", "HARD-B", "hard-"], ["a-hard-b", "hard"]),
        ("?.txt", ["a.txt"], ["ab.txt", ".txt"]),
        ("[ab]*", ["apple", "Banana"], ["cherry"]),
        ("[!ab]*", ["cherry"], ["apple"]),
        ("new*line", ["new\nline"], ["newline!"]),
        ("a\\*b", ["a*b"], ["axb"]),
        ("x[]]y", ["x]y"], ["xy"]),
    ],
)
def test_globs_match_whole_names_in_any_case(glob, matches, misses):
    assert is_glob(glob)
    pattern = re.compile(glob_to_regex(glob).replace("(?is)", ""), re.IGNORECASE | re.DOTALL)
    assert all(pattern.fullmatch(m) for m in matches), glob
    assert not any(pattern.fullmatch(m) for m in misses), glob


def test_a_glob_with_an_unclosed_set_is_a_clear_error():
    with pytest.raises(InvalidInput, match=r"a \[ without its \]"):
        glob_to_regex("report[1")


def test_nfc_makes_the_two_spellings_one():
    assert names.nfc(unicodedata.normalize("NFD", "café")) == names.nfc("café") == "caf\u00e9"
