"""Every name of the adversarial tree through the catalog on real components, compared as bytes:
a real restic repository (its own `restic ls` as the reference), scans with GNU find, the Parquet
parts in DuckDB and the searches on them (globs, NFC/NFD spellings)."""

from __future__ import annotations

import os
import subprocess
import time
import unicodedata
from pathlib import Path

import pytest

from syncoxide.catalog import updates
from syncoxide.catalog.query import CatalogReader, SearchFilter
from syncoxide.fs import names
from syncoxide.models import BackupOptions, Engine
from tests import adversarial
from tests.integration.test_catalog import _repository, add_source


def _under(root: Path, stored_paths: list[str]) -> set[bytes]:
    """The stored paths below ``root`` as relative bytes paths."""
    top = os.fsencode(root) + b"/"
    return {names.to_bytes(p)[len(top) :] for p in stored_paths if names.to_bytes(p).startswith(top)}


def _restic_ls_text(engine, snapshot: str) -> bytes:
    """`restic ls` as a person runs it (no --json): each path as raw bytes on a line of its own."""
    env = {
        **os.environ,
        "RESTIC_REPOSITORY": engine.location,
        "RESTIC_PASSWORD": "catalog-test",
        "RESTIC_CACHE_DIR": str(engine.state_dir / "restic-cache"),
    }
    done = subprocess.run([engine.binary, "ls", "--quiet", snapshot], env=env, capture_output=True, check=True)
    return done.stdout


def _tree_order(path: bytes) -> list[bytes]:
    """restic lists depth first, each folder's names in byte order."""
    return path.split(b"/")


@pytest.fixture(scope="module")
def odd_restic(stack, tmp_path_factory):
    """The adversarial tree, backed up with restic and ingested into the catalog."""
    workdir = tmp_path_factory.mktemp("odd-restic")
    made = adversarial.make_adversarial_tree(workdir / "odd")
    repository, engine = _repository(stack.settings, workdir, Engine.restic)
    snapshot, _ = engine.backup([str(made.root)], snapshot_name="odd", options=BackupOptions())
    assert updates.ingest_repository(stack.settings, repository, engine).ingested == [snapshot]
    with CatalogReader.open(stack.settings) as reader:
        rows = reader.rows(
            "SELECT path, parent, name, type, link_target FROM snapshot_entries"
            " WHERE repository_id = ? AND snapshot_id = ?",
            [repository.id, snapshot],
        )
    yield {"made": made, "repository": repository, "engine": engine, "snapshot": snapshot, "rows": rows}
    made.close()


def test_restic_catalog_names_equal_restic_ls_byte_for_byte(odd_restic):
    """What `restic ls` prints (raw bytes, a line per path) is exactly the catalog's paths, as bytes."""
    rows, root = odd_restic["rows"], odd_restic["made"].root
    stored = sorted((names.to_bytes(r["path"]) for r in rows), key=_tree_order)
    listed = _restic_ls_text(odd_restic["engine"], odd_restic["snapshot"])
    assert b"".join(p + b"\n" for p in stored) == listed
    assert _under(root, [r["path"] for r in rows]) == set(adversarial.entries(root)) - {adversarial.SOCKET}
    for row in rows:  # parent and name are the path's own parts, in the same stored form
        path = names.to_bytes(row["path"])
        if path != b"/":
            assert names.to_bytes(row["parent"]) == (os.path.dirname(path) or b"/")
            assert names.to_bytes(row["name"]) == os.path.basename(path)


def test_restic_symlink_targets_and_special_files_are_stored_exactly(odd_restic):
    root = os.fsencode(odd_restic["made"].root)
    by_path = {names.to_bytes(r["path"]): r for r in odd_restic["rows"]}
    for name in (b"dangling-link", b"link-to-hard-a", b"link-outside"):
        row = by_path[os.path.join(root, name)]
        assert row["type"] == "symlink"
        assert names.to_bytes(row["link_target"]) == os.readlink(os.path.join(root, name))
    assert by_path[os.path.join(root, adversarial.FIFO)]["type"] == "other"  # restic keeps no sockets


def test_restic_ls_json_listing_is_put_right_to_the_same_bytes_as_the_tree_reader(odd_restic):
    """`restic ls --json` (how remote repositories are listed) prints U+FFFD for bytes that are not
    UTF-8; the engine reads those folders' trees, so both ways give the same exact names."""
    engine, snapshot = odd_restic["engine"], odd_restic["snapshot"]
    direct = [row[:9] for row in engine.list_rows(snapshot)]
    via_restic_ls = [row[:9] for row in super(type(engine), engine).list_rows(snapshot)]
    assert via_restic_ls == direct
    paths = [os.fsencode(row[0]) for row in direct]
    assert os.path.join(os.fsencode(odd_restic["made"].root), adversarial.NON_UTF8) in paths
    assert not any("\ufffd" in row[0] for row in direct)


def test_scan_stores_every_name_exactly(stack, workdir):
    made = adversarial.make_adversarial_tree(workdir / "odd")
    try:
        source = add_source(stack.settings, made.root, f"odd-{time.time_ns()}", hashes=["xxh3"])
        summary = updates.scan_source(stack.settings, source)
        assert summary.errors == 0
        with CatalogReader.open(stack.settings) as reader:
            rows = reader.rows(
                "SELECT path, type, link_target, xxh3 FROM scan_entries WHERE source_id = ?", [source.id]
            )
        assert _under(made.root, [r["path"] for r in rows]) == set(adversarial.entries(made.root))
        top = os.fsencode(made.root)
        by_path = {names.to_bytes(r["path"]): r for r in rows}
        assert names.to_bytes(by_path[os.path.join(top, b"link-outside")]["link_target"]) == b"/etc"
        leaf = os.path.join(top, b"dir-\xff\xfe-back\\slash", b"inner \\ new\nline", b"leaf-\x80.bin")
        assert by_path[leaf]["type"] == "file" and by_path[leaf]["xxh3"]  # hashed: opened by its exact bytes
        assert {by_path[os.path.join(top, s)]["type"] for s in made.special} == {"other"}
    finally:
        made.close()


def _found(reader: CatalogReader, repository_id: str, root: Path, **query) -> list[bytes]:
    hits = reader.search(SearchFilter(repository_ids=[repository_id], where="snapshots", **query))
    return sorted(_under(root, [h.path for h in hits]))


def test_search_finds_odd_names_by_their_exact_text_and_versions_them(stack, odd_restic):
    repository, root = odd_restic["repository"], odd_restic["made"].root
    with CatalogReader.open(stack.settings) as reader:

        def found(**query) -> list[bytes]:
            return _found(reader, repository.id, root, **query)

        assert found(name="back\\slash") == sorted([adversarial.BACKSLASH, b"dir-\xff\xfe-back\\slash"])
        assert found(name="new\nline") == sorted([adversarial.NEWLINE, b"dir-\xff\xfe-back\\slash/inner \\ new\nline"])
        assert found(name=names.stored(b"caf\xe9")) == [adversarial.NON_UTF8]
        assert found(name=names.stored(b"leaf-\x80")) == [b"dir-\xff\xfe-back\\slash/inner \\ new\nline/leaf-\x80.bin"]
        exact = names.stored(os.path.join(os.fsencode(root), adversarial.NON_UTF8))
        versions = reader.versions(exact, [repository.id])
        assert [(v.state, v.size) for v in versions] == [("added", len(b"name " + adversarial.NON_UTF8 + b"\n"))]
        folder = names.stored(os.path.join(os.fsencode(root), b"dir-\xff\xfe-back\\slash"))
        children = reader.children(repository.id, odd_restic["snapshot"], folder)
        assert [names.to_bytes(c["name"]) for c in children] == [b"inner \\ new\nline"]


def test_search_text_with_glob_characters_is_a_glob_on_the_whole_name(stack, odd_restic):
    repository, root = odd_restic["repository"], odd_restic["made"].root
    with CatalogReader.open(stack.settings) as reader:

        def found(**query) -> list[bytes]:
            return _found(reader, repository.id, root, **query)

        assert found(name="hard-*") == [b"hard-a", b"hard-b"]
        assert found(name="HARD-?") == [b"hard-a", b"hard-b"]
        assert found(name="hard-[!a]") == [b"hard-b"]
        assert found(name="*-link") == [b"dangling-link"]
        assert found(name="new*line") == [adversarial.NEWLINE]
        assert found(name="hard") == [b"hard-a", b"hard-b", b"link-to-hard-a"]  # no glob: part of the name


def test_search_is_normalization_insensitive(stack, odd_restic):
    repository, root = odd_restic["repository"], odd_restic["made"].root
    both = sorted([adversarial.NFC, adversarial.NFD])
    with CatalogReader.open(stack.settings) as reader:
        for form in ("NFC", "NFD"):
            text = unicodedata.normalize(form, "café")
            assert _found(reader, repository.id, root, name=text) == both, form
            assert _found(reader, repository.id, root, name=text.upper() + "-*") == both, form
            assert _found(reader, repository.id, root, glob=f"{text}-nf?.txt") == both, form
