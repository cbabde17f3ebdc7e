"""Odd names through the CLI and the dashboard on the real stack: a scan of the adversarial tree, then
`syncoxide search` (through the worker's catalog service, as users run it) with --json read back to
the exact bytes, tables that show escapes, globs and NFC/NFD spellings; the dashboard's search page."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from syncoxide.fs import names
from tests import adversarial
from tests.e2e.cli import syncoxide

pytestmark = pytest.mark.e2e
APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
LEAF = b"dir-\xff\xfe-back\\slash/inner \\ new\nline/leaf-\x80.bin"


@pytest.fixture(scope="module")
def scanned(stack, tmp_path_factory):
    made = adversarial.make_adversarial_tree(tmp_path_factory.mktemp("names") / "odd")
    done = syncoxide(stack, "scan", str(made.root), "--json")
    assert done.code == 0, done.stderr
    assert done.json["errors"] == 0
    yield made.root
    made.close()


def _search(stack, root: Path, *args: str) -> list[bytes]:
    done = syncoxide(stack, "search", *args, "--source", str(root), "--json")
    assert done.code == 0, done.stderr
    top = os.fsencode(root) + b"/"
    return sorted(names.to_bytes(h["path"]).removeprefix(top) for h in done.json)


def test_json_output_reads_back_to_the_exact_bytes_of_every_odd_name(stack, scanned):
    assert _search(stack, scanned, os.fsdecode(b"caf\xe9")) == [adversarial.NON_UTF8]  # typed as raw bytes
    assert _search(stack, scanned, "leaf-") == [LEAF]
    assert _search(stack, scanned, "back\\slash") == sorted([adversarial.BACKSLASH, b"dir-\xff\xfe-back\\slash"])
    assert _search(stack, scanned, "ctrl-") == [adversarial.CONTROL]
    folder = os.fsdecode(os.path.join(os.fsencode(scanned), b"dir-\xff\xfe-back\\slash"))
    assert _search(stack, scanned, "--path", folder, "--type", "file") == [LEAF]
    every = _search(stack, scanned, "--limit", "1000")
    assert set(every) == set(adversarial.entries(scanned)) | {os.fsencode(scanned)}  # and the root itself


def test_tables_show_odd_names_escaped(stack, scanned):
    def table(text: str) -> str:
        done = syncoxide(stack, "search", text, "--source", str(scanned), env={"COLUMNS": "400"})  # no folding
        assert done.code == 0, done.stderr
        return done.stdout

    assert "dir-\\xff\\xfe-back\\\\slash/inner \\\\ new\\nline/leaf-\\x80.bin" in table("leaf-")
    assert "/new\\nline" in table("new")
    assert "/latin1-caf\\xe9.txt" in table("latin1")
    control = table("ctrl-")
    assert "/ctrl-\\x01\\x1b-tab\\t.txt" in control and "\x1b" not in control


def test_search_text_with_glob_characters_is_a_glob(stack, scanned):
    assert _search(stack, scanned, "hard-*") == [b"hard-a", b"hard-b"]
    assert _search(stack, scanned, "hard-[b]") == [b"hard-b"]
    assert _search(stack, scanned, "*.TXT", "--path", str(scanned / "nested-empty")) == []
    assert _search(stack, scanned, "from-????.txt") == [b"from-1970.txt", b"from-2100.txt"]
    bad = syncoxide(stack, "search", "report[1", "--source", str(scanned))
    assert bad.code != 0 and bad.error_lines == [
        "error: search 'report[1': a [ without its ] (write \\[ for a literal one)"
    ]


def test_search_finds_both_unicode_spellings(stack, scanned):
    both = sorted([adversarial.NFC, adversarial.NFD])
    assert _search(stack, scanned, unicodedata.normalize("NFC", "café")) == both
    assert _search(stack, scanned, unicodedata.normalize("NFD", "CAFÉ")) == both


def test_the_dashboard_search_page_shows_odd_names_escaped(stack, scanned, monkeypatch):
    for key in ("SYNCOXIDE_HOME", "SYNCOXIDE_TEMPORAL_ADDRESS", "SYNCOXIDE_DATABASE_URL"):
        monkeypatch.setenv(key, stack.env[key])
    test = AppTest.from_file(str(APP), default_timeout=60).run()
    test.switch_page("views/search.py").run()
    test.text_input(key="search_text").input("leaf-*")
    next(t for t in test.text_input if t.label == "under path").input(str(scanned))
    test.button[0].click().run()
    assert not test.exception, test.exception
    shown = [t.value for t in test.text]
    assert names.shown(names.stored(os.path.join(os.fsencode(scanned), LEAF))) in shown, shown
