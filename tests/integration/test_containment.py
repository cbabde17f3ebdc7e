"""Nothing written outside its place: restore and cleanup on real borg, restic and PostgreSQL, with
symlinks planted where a folder (or the kept copy of a duplicate) is expected."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from syncoxide.backups import operations
from syncoxide.backups.placement import staging_dir
from syncoxide.backups.verify import under, verify_restore
from syncoxide.catalog import cleanup, trash, updates
from syncoxide.catalog.query import CatalogReader
from syncoxide.contract.payloads import RestoreRequest
from syncoxide.engines import BackupEngine, open_engine
from syncoxide.errors import InvalidInput
from syncoxide.models import Engine, Overwrite, Repository
from syncoxide.secrets import SecretRef
from syncoxide.store import catalog as manifest
from syncoxide.store import cleanup as plans
from syncoxide.store import open_store

PASSPHRASE_ENV = "SXT_CONTAINMENT_PASSPHRASE"


@pytest.fixture(params=[Engine.borg, Engine.restic], ids=lambda e: e.value)
def kind(request) -> Engine:
    return request.param


@pytest.fixture()
def repo(stack, workdir, kind) -> BackupEngine:
    os.environ[PASSPHRASE_ENV] = "pw"
    engine = open_engine(stack.settings, kind, str(workdir / "repo"), "pw")
    engine.init()
    return engine


def snapshot_of(tree: dict[Path, bytes | None]) -> dict[str, bytes | str]:
    """Every entry below the given roots: file bytes, or 'dir', or '-> target'."""
    found: dict[str, bytes | str] = {}
    for root in tree:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                path = os.path.join(dirpath, name)
                if os.path.islink(path):
                    found[path] = "-> " + os.readlink(path)
                elif os.path.isdir(path):
                    found[path] = "dir"
                else:
                    found[path] = Path(path).read_bytes()
    return found


def outside(workdir: Path) -> Path:
    """A folder outside every restore target, with a file a restore through a symlink would overwrite."""
    place = workdir / "outside"
    place.mkdir()
    (place / "a.txt").write_bytes(b"must stay as it is\n")
    return place


def restore(stack, repo: BackupEngine, kind: Engine, snapshot: str, target: Path, run_id: str, paths: list[str]):
    repository = Repository(
        id="c", name="c", engine=kind, location=repo.location, passphrase=SecretRef(kind="env", value=PASSPHRASE_ENV)
    )
    request = RestoreRequest(
        repository_id="c", snapshot_id=snapshot, target=str(target), paths=paths, overwrite=Overwrite.always
    )
    return operations.restore(
        stack.settings, repository, request, run_id=run_id, progress=lambda _: None, cancelled=lambda: False
    )


def test_a_symlink_planted_in_the_target_is_not_written_through(stack, workdir, kind, repo):
    src = workdir / "src"
    (src / "docs").mkdir(parents=True)
    (src / "docs" / "a.txt").write_text("from the snapshot\n")
    (src / "docs" / "new.txt").write_text("new\n")
    (src / "top.txt").write_text("top\n")
    snapshot, _ = repo.backup([str(src)], snapshot_name="planted")
    elsewhere = outside(workdir)
    before = snapshot_of({elsewhere: None})
    target = workdir / "target"
    placed_src = target / str(src).lstrip("/")
    placed_src.mkdir(parents=True)
    os.symlink(elsewhere, placed_src / "docs")  # planted by anyone who can write in the target
    os.symlink(elsewhere / "a.txt", placed_src / "top.txt")

    with pytest.raises(InvalidInput) as refused:
        restore(stack, repo, kind, snapshot, target, "planted-1", [str(src)])
    message = str(refused.value)
    assert f"{placed_src / 'docs'} is a symlink, not a folder" in message
    assert "2 entries not placed" in message and "never writes through a symlink" in message
    assert snapshot_of({elsewhere: None}) == before  # nothing outside the target was written
    assert os.readlink(placed_src / "top.txt") == str(elsewhere / "a.txt")  # a symlink is not replaced by a file
    assert not staging_dir(target, "planted-1").exists()


def test_a_symlink_in_one_snapshot_and_a_folder_in_the_next_stays_inside(stack, workdir, kind, repo):
    src = workdir / "src"
    src.mkdir()
    elsewhere = outside(workdir)
    os.symlink(elsewhere, src / "x")
    first, _ = repo.backup([str(src)], snapshot_name="link")
    os.unlink(src / "x")
    (src / "x").mkdir()
    (src / "x" / "a.txt").write_text("overwrites elsewhere/a.txt if followed\n")
    (src / "x" / "evil.txt").write_text("lands in elsewhere if followed\n")
    second, _ = repo.backup([str(src)], snapshot_name="folder")
    before = snapshot_of({elsewhere: None})
    target = workdir / "target"

    restore(stack, repo, kind, first, target, "first", [str(src)])
    placed = target / str(src).lstrip("/") / "x"
    assert os.readlink(placed) == str(elsewhere)  # the snapshot's own symlink, restored as a symlink
    with pytest.raises(InvalidInput, match=f"because {placed} is a symlink, not a folder"):
        restore(stack, repo, kind, second, target, "second", [str(src)])
    assert snapshot_of({elsewhere: None}) == before


def test_verification_looks_at_what_sits_in_the_target_not_through_symlinks(stack, workdir, kind, repo):
    src = workdir / "src"
    (src / "docs").mkdir(parents=True)
    (src / "docs" / "a.txt").write_text("alpha\n")
    snapshot, _ = repo.backup([str(src)], snapshot_name="verify")
    target = workdir / "target"
    (target / str(src.parent).lstrip("/")).mkdir(parents=True)
    os.symlink(src, target / str(src).lstrip("/"))  # the original tree, seen through a symlink, looks restored
    report = verify_restore(repo.list_files(snapshot, [str(src)]), under(target))
    assert not report.ok
    assert any(f"{target / str(src).lstrip('/')} is a symlink" in p for p in report.problems), report.problems


def test_a_planted_staging_symlink_is_removed_not_followed(stack, workdir, kind, repo):
    src = workdir / "src"
    src.mkdir()
    (src / "a.txt").write_text("alpha\n")
    snapshot, _ = repo.backup([str(src)], snapshot_name="staging")
    elsewhere = outside(workdir)
    before = snapshot_of({elsewhere: None})
    target = workdir / "target"
    target.mkdir()
    os.symlink(elsewhere, staging_dir(target, "guessed-run"))
    outcome = restore(stack, repo, kind, snapshot, target, "guessed-run", [str(src)])
    assert outcome.report.ok and outcome.placement.placed == 1
    assert (target / str(src).lstrip("/") / "a.txt").read_text() == "alpha\n"
    assert snapshot_of({elsewhere: None}) == before
    assert not os.path.lexists(staging_dir(target, "guessed-run"))


# -- cleanup ------------------------------------------------------------------------------------


def _plan(settings, root: Path, **spec) -> plans.Plan:
    with open_store(settings) as conn:
        source = manifest.add_source(conn, name=f"c-{time.time_ns()}", root=str(root), excludes=[], hashes=["xxh3"])
    updates.scan_source(settings, source)
    chosen = cleanup.CleanupSpec(source_id=source.id, keep_days=0, **spec)
    with CatalogReader.open(settings) as reader:
        found = cleanup.find_candidates(reader, chosen, time.time_ns())
    with open_store(settings) as conn:
        return plans.create(conn, chosen, found, str(root / ".syncoxide-trash"))


def _items(settings, plan: plans.Plan) -> list[plans.PlanItem]:
    with open_store(settings) as conn:
        return plans.items(conn, plan.id)


def test_cleanup_skips_a_duplicate_whose_kept_copy_became_a_symlink_to_it(stack, workdir):
    root = workdir / "home"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    (root / "a" / "photo.jpg").write_bytes(b"only copy soon " * 1000)
    os.utime(root / "a" / "photo.jpg", (1_700_000_000, 1_700_000_000))  # the older one is kept
    (root / "b" / "photo.jpg").write_bytes(b"only copy soon " * 1000)
    plan = _plan(stack.settings, root, junk=False)
    [item] = _items(stack.settings, plan)
    assert (item.path, item.keep_path) == (str(root / "b" / "photo.jpg"), str(root / "a" / "photo.jpg"))

    os.rename(root / "a", root / "a-moved-away")  # after the plan: the kept copy's folder is a symlink
    os.symlink(root / "b", root / "a")  # ... to the duplicate's folder, so both paths name one file
    outcome = trash.apply(stack.settings, plan.id)
    assert outcome.moved == 0
    [skipped] = outcome.skipped
    assert skipped.startswith(str(root / "b" / "photo.jpg"))
    assert f"reached through {root / 'a'}, which is a symlink" in skipped
    assert (root / "b" / "photo.jpg").read_bytes() == b"only copy soon " * 1000
    assert trash.purge_expired(stack.settings) == [plan.id]  # keep 0 days: the trash goes at once
    assert (root / "b" / "photo.jpg").read_bytes() == b"only copy soon " * 1000  # the only copy survived


def test_cleanup_skips_a_duplicate_that_is_a_hard_link_of_its_kept_copy(stack, workdir):
    root = workdir / "home"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    (root / "a" / "doc.pdf").write_bytes(b"%PDF twice " * 500)
    os.utime(root / "a" / "doc.pdf", (1_700_000_000, 1_700_000_000))
    (root / "b" / "doc.pdf").write_bytes(b"%PDF twice " * 500)
    plan = _plan(stack.settings, root, junk=False)
    os.unlink(root / "a" / "doc.pdf")  # after the plan the kept path names the duplicate itself
    os.link(root / "b" / "doc.pdf", root / "a" / "doc.pdf")
    outcome = trash.apply(stack.settings, plan.id)
    assert outcome.moved == 0 and "is this same file" in outcome.skipped[0]
    assert (root / "b" / "doc.pdf").exists()


def test_junk_and_large_old_items_carry_their_hash_and_a_changed_content_is_skipped(stack, workdir):
    root = workdir / "home"
    root.mkdir()
    (root / "scratch.tmp").write_bytes(b"scratch")
    (root / "old.iso").write_bytes(b"I" * 4096)
    os.utime(root / "old.iso", (1_000_000_000, 1_000_000_000))
    plan = _plan(stack.settings, root, duplicates=False, large_old=True, min_size=4096, older_than_days=30)
    items = {Path(i.path).name: i for i in _items(stack.settings, plan)}
    assert {n: (i.reason, i.hash_kind, bool(i.hash)) for n, i in items.items()} == {
        "scratch.tmp": ("junk", "xxh3", True),
        "old.iso": ("large and old", "xxh3", True),
    }
    with open(root / "old.iso", "r+b") as data:  # same size, same mtime, other bytes
        data.write(b"J")
    os.utime(root / "old.iso", (1_000_000_000, 1_000_000_000))
    outcome = trash.apply(stack.settings, plan.id)
    assert outcome.moved == 1
    assert outcome.skipped == [f"{root / 'old.iso'}: content changed since the plan was made"]
    assert (root / "old.iso").exists() and not (root / "scratch.tmp").exists()


def test_cleanup_moves_nothing_through_a_folder_swapped_for_a_symlink_and_undo_stays_inside(stack, workdir):
    root = workdir / "home"
    (root / "junk").mkdir(parents=True)
    (root / "junk" / "x.tmp").write_bytes(b"junk")
    elsewhere = workdir / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "x.tmp").write_bytes(b"junk")  # same bytes, another place: must not be moved
    plan = _plan(stack.settings, root, duplicates=False)
    os.rename(root / "junk", root / "junk-real")
    os.symlink(elsewhere, root / "junk")
    outcome = trash.apply(stack.settings, plan.id)
    assert outcome.moved == 0 and "which is a symlink" in outcome.skipped[0]
    assert (elsewhere / "x.tmp").exists()

    other = workdir / "home2"
    (other / "sub").mkdir(parents=True)
    (other / "sub" / "y.tmp").write_bytes(b"junk")
    second = _plan(stack.settings, other, duplicates=False)
    assert trash.apply(stack.settings, second.id).moved == 1
    os.rmdir(other / "sub")
    (other / "sub").symlink_to(elsewhere)  # the item's folder, swapped for a symlink before the undo
    undone = trash.undo(stack.settings, second.id)
    assert undone.moved == 0 and "which is a symlink" in undone.skipped[0] and "left in" in undone.skipped[0]
    assert sorted(os.listdir(elsewhere)) == ["x.tmp"]


def test_cleanup_trashes_and_undoes_a_duplicate_whose_name_is_not_utf8(stack, workdir):
    root = workdir / "home"
    (root / "a").mkdir(parents=True)
    top = os.fsencode(root)
    kept, dup = os.path.join(top, b"a", b"caf\xe9.txt"), os.path.join(top, b"dup-\xff\\name.txt")
    for path in (kept, dup):
        with open(path, "wb") as out:
            out.write(b"twice " * 400)
    os.utime(kept, (1_700_000_000, 1_700_000_000))  # the older one is kept
    plan = _plan(stack.settings, root, junk=False)
    [item] = _items(stack.settings, plan)
    outcome = trash.apply(stack.settings, plan.id)
    assert (outcome.moved, outcome.skipped) == (1, [])
    assert not os.path.lexists(dup) and os.path.exists(kept)
    trash.undo(stack.settings, plan.id)
    with open(dup, "rb") as back:
        assert back.read() == b"twice " * 400
