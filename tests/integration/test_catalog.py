"""The catalog on real components: scans of real trees, snapshots of real borg/restic repositories,
PostgreSQL as the manifest, DuckDB over the Parquet parts."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pyarrow.parquet as pq
import pytest

from syncoxide.backups import operations
from syncoxide.catalog import updates
from syncoxide.catalog.query import CatalogReader, SearchFilter
from syncoxide.catalog.schema import SCHEMA, SCHEMA_VERSION_KEY
from syncoxide.catalog.storage import open_storage
from syncoxide.engines import open_engine
from syncoxide.errors import InvalidInput, WrongPassphrase
from syncoxide.models import BackupOptions, Engine, Repository
from syncoxide.secrets import SecretRef
from syncoxide.store import catalog as manifest
from syncoxide.store import open_store, repositories

PASSPHRASE_ENV = "SXT_CATALOG_PASSPHRASE"


@pytest.fixture()
def settings(stack):
    """The stack's PostgreSQL and catalog; each test queries only its own sources and repositories."""
    return stack.settings


def make_tree(root: Path) -> Path:
    (root / "docs" / "taxes").mkdir(parents=True)
    (root / "docs" / "taxes" / "2025.pdf").write_bytes(b"%PDF pretend " * 100)
    (root / "docs" / "notes.TXT").write_text("notes\n")
    (root / "photos").mkdir()
    (root / "photos" / "cat.jpg").write_bytes(os.urandom(4096))
    (root / "photos" / "cat-copy.jpg").write_bytes((root / "photos" / "cat.jpg").read_bytes())
    (root / ".bashrc").write_text("alias ll='ls -l'\n")
    (root / "empty-dir").mkdir()
    os.symlink("docs/notes.TXT", root / "link-to-notes")
    return root


def add_source(settings, root: Path, name: str, hashes: list[str] = ()) -> object:  # type: ignore[assignment]
    with open_store(settings) as conn:
        return manifest.add_source(conn, name=name, root=str(root), excludes=[], hashes=list(hashes))


def test_scan_records_every_entry_with_derived_columns(settings, workdir):
    root = make_tree(workdir / "tree")
    source = add_source(settings, root, f"tree-{time.time_ns()}")
    summary = updates.scan_source(settings, source)
    assert (summary.files, summary.dirs, summary.errors) == (5, 5, 0)  # root, docs, taxes, photos, empty-dir
    with CatalogReader.open(settings) as reader:
        rows = {r["path"]: r for r in reader.rows("SELECT * FROM scan_entries WHERE source_id = ?", [source.id])}
    assert set(rows) == {str(root)} | {str(p) for p in root.rglob("*")}
    pdf = rows[str(root / "docs" / "taxes" / "2025.pdf")]
    assert (pdf["name"], pdf["parent"], pdf["extension"], pdf["type"], pdf["mime"]) == (
        "2025.pdf",
        str(root / "docs" / "taxes"),
        "pdf",
        "file",
        "application/pdf",
    )
    assert pdf["size"] == 1300 and pdf["mtime_ns"] == os.stat(root / "docs" / "taxes" / "2025.pdf").st_mtime_ns
    assert rows[str(root / "docs" / "notes.TXT")]["extension"] == "txt"
    assert rows[str(root / ".bashrc")]["extension"] == ""
    assert rows[str(root / "link-to-notes")]["link_target"] == "docs/notes.TXT"
    assert rows[str(root / "link-to-notes")]["type"] == "symlink"


def test_parts_carry_the_schema_version_and_leave_no_temporaries(settings, workdir):
    root = make_tree(workdir / "tree")
    source = add_source(settings, root, f"v-{time.time_ns()}")
    updates.scan_source(settings, source)
    storage = open_storage(settings)
    with open_store(settings) as conn:
        parts = manifest.live_parts(conn, kind="scan", owner_id=source.id)
    assert parts
    for part in parts:
        schema = pq.read_schema(storage.full(part.path))
        assert schema.metadata[SCHEMA_VERSION_KEY] == b"1"
        assert schema.names == SCHEMA.names
        assert part.path.startswith(f"scans/source={source.id}/scan=")
    assert list((Path(settings.catalog_uri) / "tmp").iterdir()) == []


def test_incremental_hashing_reuses_unchanged_files_and_rehashes_changed_ones(settings, workdir):
    root = make_tree(workdir / "tree")
    source = add_source(settings, root, f"h-{time.time_ns()}", hashes=["xxh3", "sha1", "md5", "blake3"])
    first = updates.scan_source(settings, source)
    assert (first.hashed, first.reused) == (5, 0)
    (root / "docs" / "notes.TXT").write_text("notes, longer now\n")
    (root / "new.txt").write_text("brand new\n")
    second = updates.scan_source(settings, source)
    assert (second.hashed, second.reused) == (2, 4)
    with CatalogReader.open(settings) as reader:
        rows = {r["path"]: r for r in reader.rows("SELECT * FROM scan_entries WHERE source_id = ?", [source.id])}
    for name in ("docs/notes.TXT", "new.txt", "photos/cat.jpg"):
        data = (root / name).read_bytes()
        row = rows[str(root / name)]
        assert row["sha1"] == hashlib.sha1(data).hexdigest()
        assert row["md5"] == hashlib.md5(data).hexdigest()
        assert row["xxh3"] and row["blake3"]
    assert rows[str(root / "photos" / "cat.jpg")]["xxh3"] == rows[str(root / "photos" / "cat-copy.jpg")]["xxh3"]
    with open_store(settings) as conn:
        assert len(manifest.scan_rows(conn, [source.id])) == 2
        assert len(manifest.scan_rows(conn, [source.id], latest_only=True)) == 1


def test_a_scan_leaves_out_the_source_excludes_and_the_cleanup_trash(settings, workdir):
    root = make_tree(workdir / "tree")
    (root / "node_modules" / "pkg").mkdir(parents=True)
    (root / "node_modules" / "pkg" / "index.js").write_text("js")
    (root / ".syncoxide-trash" / "plan-1").mkdir(parents=True)
    (root / ".syncoxide-trash" / "plan-1" / "moved.txt").write_text("trash")
    with open_store(settings) as conn:
        source = manifest.add_source(
            conn, name=f"x-{time.time_ns()}", root=str(root), excludes=["node_modules", "*.pdf"], hashes=[]
        )
    summary = updates.scan_source(settings, source)
    assert (summary.files, summary.dirs, summary.errors) == (4, 5, 0)
    with CatalogReader.open(settings) as reader:
        paths = {r["path"] for r in reader.rows("SELECT path FROM scan_entries WHERE source_id = ?", [source.id])}
    assert not {p for p in paths if "node_modules" in p or ".syncoxide-trash" in p or p.endswith(".pdf")}
    assert str(root / "docs" / "taxes") in paths


def test_a_missing_root_is_a_clear_error(settings, workdir):
    source = add_source(settings, workdir / "nope", f"m-{time.time_ns()}")
    with pytest.raises(InvalidInput, match="is not a directory"):
        updates.scan_source(settings, source)


def test_search_by_name_glob_regex_extension_size_and_prefix(settings, workdir):
    root = make_tree(workdir / "tree")
    source = add_source(settings, root, f"s-{time.time_ns()}")
    updates.scan_source(settings, source)
    with CatalogReader.open(settings) as reader:

        def paths(**kwargs) -> set[str]:
            hits = reader.search(SearchFilter(source_ids=[source.id], **kwargs))
            assert all(h.location == "source" and h.location_name == source.name for h in hits)
            return {str(Path(h.path).relative_to(root)) for h in hits if h.path != str(root)}

        assert paths(name="CAT") == {"photos/cat.jpg", "photos/cat-copy.jpg"}
        assert paths(glob="*.pdf") == {"docs/taxes/2025.pdf"}
        assert paths(glob="*/docs/*") == {"docs/taxes", "docs/taxes/2025.pdf", "docs/notes.TXT"}
        assert paths(regex=r"cat(-copy)?\.jpg$") == {"photos/cat.jpg", "photos/cat-copy.jpg"}
        assert paths(extensions=["txt"]) == {"docs/notes.TXT"}
        assert paths(min_size=1000, type="file") == {"docs/taxes/2025.pdf", "photos/cat.jpg", "photos/cat-copy.jpg"}
        assert paths(path_prefix=str(root / "docs"), type="dir") == {"docs", "docs/taxes"}
        assert paths(type="symlink") == {"link-to-notes"}
        with pytest.raises(InvalidInput, match="catalog query"):
            reader.search(SearchFilter(regex="(unclosed"))


def _repository(settings, workdir: Path, engine: Engine) -> tuple[Repository, object]:
    os.environ[PASSPHRASE_ENV] = "catalog-test"
    ref = SecretRef(kind="env", value=PASSPHRASE_ENV)
    location = workdir / f"repo-{engine.value}"
    operations.init_repository(settings, engine, str(location), ref)
    with open_store(settings) as conn:
        repository = repositories.add(
            conn, name=f"cat-{engine.value}-{time.time_ns()}", engine=engine, location=str(location), passphrase=ref
        )
    return repository, open_engine(settings, engine, str(location), "catalog-test")


@pytest.mark.parametrize("kind", [Engine.borg, Engine.restic], ids=lambda e: e.value)
def test_snapshots_are_ingested_searched_versioned_and_forgotten(settings, workdir, kind):
    root = make_tree(workdir / "tree")
    repository, engine = _repository(settings, workdir, kind)
    first, _ = engine.backup([str(root)], snapshot_name="one", options=BackupOptions())
    report = updates.ingest_repository(settings, repository, engine)
    assert report.ingested == [first]
    assert report.entries >= 1 + sum(1 for _ in root.rglob("*"))  # restic also keeps the parent dirs
    (root / "docs" / "notes.TXT").write_text("changed notes, another size\n")
    (root / "photos" / "cat-copy.jpg").unlink()
    time.sleep(1.1)  # borg archive times have one-second resolution
    second, _ = engine.backup([str(root)], snapshot_name="two", options=BackupOptions())
    again = updates.ingest_repository(settings, repository, engine)
    assert again.ingested == [second]
    assert updates.ingest_repository(settings, repository, engine).ingested == []  # nothing new

    with CatalogReader.open(settings) as reader:
        hits = reader.search(SearchFilter(name="notes", repository_ids=[repository.id], where="snapshots"))
        notes = [h for h in hits if h.path == str(root / "docs" / "notes.TXT")]
        assert len(notes) == 1 and notes[0].snapshots == 2 and notes[0].latest_snapshot == second
        assert notes[0].size == len("changed notes, another size\n")
        versions = reader.versions(str(root / "docs" / "notes.TXT"), [repository.id])
        assert [v.state for v in versions] == ["added", "changed"]
        assert "size" in versions[1].changes
        gone = reader.versions(str(root / "photos" / "cat-copy.jpg"), [repository.id])
        assert [v.state for v in gone] == ["added", "removed"]
        children = reader.children(repository.id, second, str(root / "photos"))
        assert [c["name"] for c in children] == ["cat.jpg"]
        totals = reader.subtree_totals(repository.id, first, [str(root / "photos")])
        assert totals["files"] == 2 and totals["bytes"] == 8192

    engine.delete_snapshots([first])
    report = updates.ingest_repository(settings, repository, engine)
    assert report.removed == [first]
    with CatalogReader.open(settings) as reader:
        hits = reader.search(SearchFilter(name="notes", repository_ids=[repository.id], where="snapshots"))
        assert [h.snapshots for h in hits if h.path.endswith("notes.TXT")] == [1]


def test_small_parts_are_compacted_without_changing_answers(settings, workdir):
    root = make_tree(workdir / "tree")
    repository, engine = _repository(settings, workdir, Engine.restic)
    for i in range(updates.COMPACT_MIN_PARTS):  # as after each backup: one snapshot, one small part
        (root / f"file-{i}.txt").write_text(str(i))
        snapshot, _ = engine.backup([str(root)], snapshot_name=f"s{i}", options=BackupOptions())
        updates.ingest_repository(settings, repository, engine, only=[snapshot])
    with open_store(settings) as conn:
        assert len(manifest.live_parts(conn, kind="snapshot", owner_id=repository.id)) == 1  # compacted at the 8th
    (root / "file-8.txt").write_text("8")
    engine.backup([str(root)], snapshot_name="s8", options=BackupOptions())
    engine.delete_snapshots([engine.snapshots()[0].id])
    updates.ingest_repository(settings, repository, engine)
    updates.compact(settings, repository.id, min_parts=2)  # the merged part and the new one, less the forgotten
    with open_store(settings) as conn:
        parts = manifest.live_parts(conn, kind="snapshot", owner_id=repository.id)
    assert len(parts) == 1 and "compact-" in parts[0].path
    with CatalogReader.open(settings) as reader:
        counts = reader.rows(
            "SELECT snapshot_id, count(*) AS n FROM snapshot_entries WHERE repository_id = ? GROUP BY ALL",
            [repository.id],
        )
        assert len(counts) == updates.COMPACT_MIN_PARTS
        hit = reader.search(SearchFilter(name="file-0.txt", repository_ids=[repository.id]))
        assert [h.snapshots for h in hit] == [updates.COMPACT_MIN_PARTS]
    assert updates.vacuum(settings, grace_s=0) >= 1
    kept = Path(settings.catalog_uri) / "snapshots" / f"repository={repository.id}"
    assert [p.name for p in kept.rglob("*.parquet")] == [Path(parts[0].path).name]


def _fresh_database(settings) -> str:
    name = f"sxt_{time.time_ns()}"
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    parts = urlsplit(settings.database_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def test_a_catalog_in_an_s3_bucket_answers_the_same(stack, workdir, s3_server):
    """Parts written through pyarrow's S3 filesystem to a real S3 server (rclone serve s3)."""
    from tests.servers import S3_ACCESS_KEY, S3_BUCKET, S3_SECRET_KEY

    os.environ["SXT_CATALOG_S3_KEY"], os.environ["SXT_CATALOG_S3_SECRET"] = S3_ACCESS_KEY, S3_SECRET_KEY
    settings = stack.settings.model_copy(
        update={
            "database_url": _fresh_database(stack.settings),  # a manifest of its own: the other tests' parts are local
            "catalog_location": f"s3://{S3_BUCKET}/catalog-{time.time_ns()}?endpoint_override={s3_server.url}",
            "catalog_s3_access_key": "env:SXT_CATALOG_S3_KEY",
            "catalog_s3_secret_key": "env:SXT_CATALOG_S3_SECRET",
        }
    )
    root = make_tree(workdir / "tree")
    source = add_source(settings, root, f"s3-{time.time_ns()}", hashes=["sha1"])
    assert updates.scan_source(settings, source).hashed == 5
    repository, engine = _repository(settings, workdir, Engine.restic)
    engine.backup([str(root)], snapshot_name="one", options=BackupOptions())
    assert len(updates.ingest_repository(settings, repository, engine).ingested) == 1
    with CatalogReader.open(settings) as reader:
        hits = reader.search(SearchFilter(name="2025.pdf", source_ids=[source.id], repository_ids=[repository.id]))
        assert {h.location for h in hits} == {"source", "repository"}
        sha1 = reader.rows("SELECT sha1 FROM scan_entries WHERE source_id = ? AND name = '2025.pdf'", [source.id])
        assert sha1 == [{"sha1": hashlib.sha1((root / "docs" / "taxes" / "2025.pdf").read_bytes()).hexdigest()}]
    stored = list((s3_server.root / S3_BUCKET).rglob("*.parquet"))
    assert any("scans" in str(p) for p in stored) and any("snapshots" in str(p) for p in stored)


def test_reading_a_local_restic_repository_directly_matches_restic_ls(settings, workdir):
    root = make_tree(workdir / "tree")
    (root / "setuid-ish").write_text("x")
    (root / "setuid-ish").chmod(0o4755)
    repository, engine = _repository(settings, workdir, Engine.restic)
    first, _ = engine.backup([str(root)], snapshot_name="one", options=BackupOptions())
    (root / "docs" / "notes.TXT").write_text("changed")
    second, _ = engine.backup([str(root)], snapshot_name="two", options=BackupOptions())
    for snapshot in (first, second, first[:8]):
        direct = list(engine.list_rows(snapshot))
        via_restic_ls = list(super(type(engine), engine).list_rows(snapshot))
        assert [r[:9] for r in direct] == [r[:9] for r in via_restic_ls]
        links = {r[0]: r[9] for r in direct if r[3] == "symlink"}  # `restic ls --json` leaves link targets out
        assert links == {str(root / "link-to-notes"): "docs/notes.TXT"}
        for every in (1, 3, 7, 10_000):  # folders listed before are copied; batches are cut between folders
            batches = list(engine.list_columns(snapshot, every=every))
            assert [row for columns in batches for row in zip(*columns, strict=True)] == direct
            assert all(len(columns[0]) >= every for columns in batches[:-1])
    wrong = open_engine(settings, Engine.restic, str(workdir / "repo-restic"), "not the password")
    with pytest.raises(WrongPassphrase):
        next(iter(wrong.list_rows(first)))


def test_name_search_takes_wildcard_characters_literally(settings, workdir):
    root = workdir / "odd"
    root.mkdir()
    for name in ("100%_done.txt", "100x-done.txt", "under_score.md", "underXscore.md", "back\\slash.txt"):
        (root / name).write_text(name)
    source = add_source(settings, root, f"w-{time.time_ns()}")
    updates.scan_source(settings, source)
    with CatalogReader.open(settings) as reader:

        def names(text: str) -> list[str]:
            return sorted(Path(h.path).name for h in reader.search(SearchFilter(name=text, source_ids=[source.id])))

        assert names("100%_") == ["100%_done.txt"]
        assert names("R_S") == ["under_score.md"]
        assert names("k\\s") == ["back\\slash.txt"]


def test_the_trash_is_emptied_only_after_its_keep_time(settings, workdir):
    from datetime import UTC, datetime, timedelta

    from syncoxide.catalog import cleanup, trash
    from syncoxide.store import cleanup as plans

    root = make_tree(workdir / "tree")
    (root / "scratch.tmp").write_text("junk")
    source = add_source(settings, root, f"t-{time.time_ns()}")
    updates.scan_source(settings, source)
    spec = cleanup.CleanupSpec(source_id=source.id, duplicates=False, keep_days=7)
    with CatalogReader.open(settings) as reader:
        found = cleanup.find_candidates(reader, spec, time.time_ns())
    assert [Path(c.path).name for c in found] == ["scratch.tmp"]
    with open_store(settings) as conn:
        plan = plans.create(conn, spec, found, str(root / ".syncoxide-trash"))
    assert trash.apply(settings, plan.id).moved == 1
    kept = Path(plan.trash_dir) / str(root / "scratch.tmp").lstrip("/")
    assert kept.exists() and not (root / "scratch.tmp").exists()
    assert plan.id not in trash.purge_expired(settings, datetime.now(UTC) + timedelta(days=6))
    assert kept.exists()
    assert plan.id in trash.purge_expired(settings, datetime.now(UTC) + timedelta(days=8))
    assert not Path(plan.trash_dir).exists()
    with open_store(settings) as conn:
        assert plans.get(conn, plan.id).status == "purged"
        assert [i.state for i in plans.items(conn, plan.id)] == ["purged"]
    with pytest.raises(InvalidInput, match="only an applied plan can be undone"):
        trash.undo(settings, plan.id)


def test_a_part_from_a_newer_schema_is_refused_with_a_clear_message(settings, workdir):
    source = add_source(settings, make_tree(workdir / "tree"), f"n-{time.time_ns()}")
    updates.scan_source(settings, source)
    with open_store(settings) as conn:
        conn.execute("UPDATE catalog_parts SET schema_version = 99 WHERE owner_id = %s", (source.id,))
    try:
        with pytest.raises(InvalidInput, match="written by a newer syncoxide"):
            CatalogReader.open(settings)
    finally:
        with open_store(settings) as conn:
            conn.execute("UPDATE catalog_parts SET schema_version = 1 WHERE owner_id = %s", (source.id,))


def test_the_catalog_service_answers_searches_and_errors_on_its_socket(settings, workdir):
    import json
    import socket

    from workers.catalog_service import CatalogService

    root = make_tree(workdir / "tree")
    source = add_source(settings, root, f"svc-{time.time_ns()}")
    updates.scan_source(settings, source)
    local = settings.model_copy(update={"home": workdir / "home", "catalog_location": settings.catalog_uri})

    def ask(request: dict) -> dict:
        with socket.socket(socket.AF_UNIX) as conn:
            conn.connect(str(service.path))
            conn.sendall(json.dumps(request).encode() + b"\n")
            return json.loads(conn.makefile("rb").readline())

    service = CatalogService(local)
    service.start()
    try:
        hits = ask({"text": "cat", "source": [source.name]})["hits"]
        assert sorted(Path(h["path"]).name for h in hits) == ["cat-copy.jpg", "cat.jpg"]
        assert ask({"text": "cat", "source": ["./tree"], "cwd": str(workdir)})["hits"] == hits
        assert ask({"regex": "(unclosed"})["error"].startswith("catalog query:")
        assert ask({"where": "nowhere"}) == {"error": "--in nowhere: use all, sources or snapshots"}
        assert ask({"limit": "many"})["error"].startswith("search request limit:")
        (root / "photos" / "cat-2.jpg").write_text("a new scan makes a new manifest: the service reads it")
        updates.scan_source(settings, source)
        assert len(ask({"text": "cat", "source": [source.name]})["hits"]) == 3
        assert ask({"source": ["never-heard-of"]})["error"].startswith("no source named 'never-heard-of'")
        newer = CatalogService(local)  # another worker on the same data dir takes the socket over
        newer.start()
        service.stop()
        assert newer.path.is_socket() and len(ask({"text": "cat", "source": [source.name]})["hits"]) == 3
        newer.stop()
        assert not newer.path.exists()
    finally:
        service.stop()
