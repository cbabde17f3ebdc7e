"""The engine contract: every operation, the same expectations, run against both real engines."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from syncoxide.backups import operations
from syncoxide.backups.placement import STAGING_PREFIX
from syncoxide.backups.retention import Retention
from syncoxide.contract.payloads import RestoreRequest
from syncoxide.engines import BackupEngine, open_engine
from syncoxide.errors import EngineFailed, InvalidInput, RepositoryLocked, WrongPassphrase
from syncoxide.models import BackupOptions, Engine, Overwrite, Repository, StreamSource
from syncoxide.secrets import SecretRef

CACHEDIR_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n"
PASSPHRASE_ENV = "SXT_CONTRACT_PASSPHRASE"


@pytest.fixture(params=[Engine.borg, Engine.restic], ids=lambda e: e.value)
def kind(request) -> Engine:
    return request.param


@pytest.fixture()
def repo(stack, workdir, kind) -> BackupEngine:
    engine = open_engine(stack.settings, kind, str(workdir / "repo"), "pw")
    engine.init()
    return engine


@pytest.fixture()
def src(workdir) -> Path:
    root = workdir / "src"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "a.txt").write_text("alpha\n")
    (root / "docs" / "b.txt").write_text("bravo\n")
    (root / "cache").mkdir()
    (root / "cache" / "CACHEDIR.TAG").write_text(CACHEDIR_TAG)
    (root / "cache" / "blob").write_text("cached")
    (root / "private").mkdir()
    (root / "private" / ".nobackup").write_text("")
    (root / "private" / "secret.txt").write_text("secret")
    return root


def names(engine: BackupEngine, snapshot: str, under: Path) -> set[str]:
    return {
        str(Path(r.path).relative_to(under)) for r in engine.list_files(snapshot) if r.path.startswith(str(under) + "/")
    }


def test_encryption_modes(stack, workdir, kind):
    engine = open_engine(stack.settings, kind, str(workdir / "modes"), "pw")
    with pytest.raises(InvalidInput, match="encryption 'plaintext'"):
        engine.init("plaintext")
    assert not (workdir / "modes").exists()
    if kind == Engine.borg:
        for mode in ("keyfile-blake2", "authenticated-blake2"):
            other = open_engine(stack.settings, kind, str(workdir / mode), "pw")
            other.init(mode)
            assert other.snapshots() == []


def test_passphrase_change(stack, workdir, kind, repo):
    repo.change_passphrase("new secret")
    with pytest.raises(WrongPassphrase):
        open_engine(stack.settings, kind, repo.location, "pw").snapshots()
    assert open_engine(stack.settings, kind, repo.location, "new secret").snapshots() == []


def test_key_export_and_import_recover_a_lost_key(stack, workdir, kind):
    location = workdir / "keyed"
    engine = open_engine(stack.settings, kind, str(location), "pw")
    engine.init("keyfile-blake2" if kind == Engine.borg else None)
    exported = workdir / "key.export"
    engine.export_key(exported)
    assert exported.stat().st_size > 0
    if kind == Engine.borg:
        key_dir = stack.settings.engine_state_dir / "borg" / ".config" / "borg" / "keys"
        lost = list(key_dir.iterdir())
    else:
        lost = list((location / "keys").iterdir())
    assert lost
    for key in lost:
        key.unlink()
    with pytest.raises(Exception):  # noqa: B017 - each engine says "no key" its own way
        engine.snapshots()
    engine.import_key(exported)
    assert engine.snapshots() == []


def test_backup_options_and_snapshot_metadata(repo, src):
    options = BackupOptions(
        exclude_caches=True,
        exclude_if_present=[".nobackup"],
        one_file_system=True,
        compression="zstd,6",
        tags=["nightly", "docs"],
        hostname="laptop-7",
    )
    snapshot, stats = repo.backup([str(src)], snapshot_name="opts-1", options=options)
    stored = names(repo, snapshot, src)
    assert stored >= {"docs", "docs/a.txt", "docs/b.txt", "cache/CACHEDIR.TAG", "private/.nobackup"}
    assert not {"cache/blob", "private/secret.txt"} & stored
    [listed] = repo.snapshots()
    assert listed.id == snapshot
    assert listed.hostname == "laptop-7"
    assert set(listed.tags) == {"nightly", "docs"}
    assert listed.paths == [str(src)]
    assert listed.files == stats.files == 4  # the two documents and the two kept markers
    assert listed.bytes == stats.bytes == 12 + len(CACHEDIR_TAG)
    assert listed.added_bytes and listed.added_bytes > 0
    assert (listed.compressed_bytes is not None) == (repo.__class__.__name__ == "BorgEngine")


def test_compression_choices(repo, src, kind):
    for choice in ("auto", "none", "max", "zstd"):
        repo.backup([str(src / "docs")], snapshot_name=f"c-{choice}", options=BackupOptions(compression=choice))
    if kind == Engine.borg:
        repo.backup([str(src / "docs")], snapshot_name="c-lz4", options=BackupOptions(compression="lz4"))
    else:
        with pytest.raises(InvalidInput, match="not lz4"):
            repo.backup([str(src / "docs")], snapshot_name="c-lz4", options=BackupOptions(compression="lz4"))


def test_stream_source_is_stored_as_one_file_and_restores(repo, workdir):
    stream = StreamSource(name="db/app.dump", command=["sh", "-c", "printf 'CREATE TABLE t;\\n%.0s' $(seq 1000)"])
    snapshot, stats = repo.backup([], snapshot_name="stream-1", stream=stream)
    [record] = [r for r in repo.list_files(snapshot) if r.path == "/db/app.dump"]
    assert record.size == len("CREATE TABLE t;\n") * 1000
    repo.restore(snapshot, workdir / "out", paths=["/db/app.dump"])
    assert (workdir / "out" / "db" / "app.dump").read_text().count("CREATE TABLE") == 1000


def test_a_failing_stream_command_makes_no_snapshot(repo):
    stream = StreamSource(name="db/broken.dump", command=["sh", "-c", "echo partial; exit 3"])
    with pytest.raises(EngineFailed):
        repo.backup([], snapshot_name="stream-broken", stream=stream)
    assert repo.find_snapshot("stream-broken") is None


def test_diff(repo, src):
    first, _ = repo.backup([str(src)], snapshot_name="d-1")
    (src / "docs" / "a.txt").write_text("alpha, changed\n")
    (src / "docs" / "b.txt").unlink()
    (src / "docs" / "c.txt").write_text("charlie\n")
    second, _ = repo.backup([str(src)], snapshot_name="d-2")
    changes = {e.path: e.change for e in repo.diff(first, second) if not e.path.endswith("/docs")}
    docs = str(src / "docs")
    assert changes == {f"{docs}/a.txt": "modified", f"{docs}/b.txt": "removed", f"{docs}/c.txt": "added"}


def test_export_tar(repo, src):
    snapshot, _ = repo.backup([str(src)], snapshot_name="tar-1")
    buffer = io.BytesIO()
    repo.export_tar(snapshot, buffer, [str(src / "docs")])
    buffer.seek(0)
    with tarfile.open(fileobj=buffer) as archive:
        members = {m.name.lstrip("/"): m for m in archive.getmembers()}
        a = str(src / "docs" / "a.txt").lstrip("/")
        assert a in members
        assert archive.extractfile(members[a]).read() == b"alpha\n"
        assert not any("cache" in name for name in members)


def test_retention_dry_run_then_apply(repo, src):
    for i in range(3):
        (src / "docs" / "a.txt").write_text(f"version {i}\n")
        repo.backup([str(src)], snapshot_name=f"r-{i}", options=BackupOptions(tags=["keep"] if i == 0 else []))
    policy = Retention(keep_last=1, keep_tags=["keep"])
    plan = operations.plan_retention(repo, policy)
    assert len(repo.snapshots()) == 3
    assert [d.keep for d in plan] == [True, False, True]
    operations.apply_retention(repo, policy)
    remaining = repo.snapshots()
    assert [s.id for s in remaining] == [plan[2].snapshot.id, plan[0].snapshot.id]
    assert operations.apply_retention(repo, Retention()) and len(repo.snapshots()) == 2


def test_check_passes_then_finds_corruption(repo, src, kind):
    repo.backup([str(src)], snapshot_name="chk-1")
    assert repo.check().ok
    assert repo.check(verify_data=True).ok
    assert repo.check(verify_data=True, subset_percent=50).ok
    data_dir = Path(repo.location) / "data"
    biggest = max((p for p in data_dir.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    raw = bytearray(biggest.read_bytes())
    middle = len(raw) // 2
    raw[middle : middle + 16] = bytes(b ^ 0xFF for b in raw[middle : middle + 16])
    biggest.write_bytes(bytes(raw))
    result = repo.check(verify_data=True)
    assert not result.ok
    assert result.problems


def _hold_lock(kind: Engine, repo: BackupEngine, src: Path) -> subprocess.Popen:
    env = repo._env()
    if kind == Engine.borg:
        argv = [repo.binary, "with-lock", repo.location, "sleep", "120"]
    else:
        big = src / "big.bin"
        with open(big, "wb") as out:
            out.write(os.urandom(64 * 1024 * 1024))
        argv = [repo.binary, "backup", "--limit-upload", "100", str(src)]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lock_dir = Path(repo.location) / ("lock.exclusive" if kind == Engine.borg else "locks")
    deadline = time.monotonic() + 30
    while not (lock_dir.exists() and any(lock_dir.iterdir())):
        assert time.monotonic() < deadline, "the engine never took its lock"
        time.sleep(0.1)
    return proc


def test_stale_locks_are_broken_live_ones_are_not(repo, src, kind):
    repo.lock_wait_s = 1
    holder = _hold_lock(kind, repo, src)
    try:
        if kind == Engine.borg:
            with pytest.raises(RepositoryLocked):
                repo.unlock_stale()
        else:
            repo.unlock_stale()
            with pytest.raises(RepositoryLocked):
                repo.delete_snapshots(["0000000000000000"])
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    repo.unlock_stale()
    repo.lock_wait_s = 5
    snapshot, _ = repo.backup([str(src / "docs")], snapshot_name="after-stale")
    assert repo.find_snapshot("after-stale") == snapshot


def test_restore_policies_and_strip_components(stack, workdir, kind, repo, src):
    snapshot, _ = repo.backup([str(src)], snapshot_name="pol-1")
    repository = Repository(
        id="x", name="x", engine=kind, location=repo.location, passphrase=SecretRef(kind="env", value=PASSPHRASE_ENV)
    )
    os.environ[PASSPHRASE_ENV] = "pw"
    target = workdir / "target"
    strip = len(src.parts) - 1
    (target / "docs").mkdir(parents=True)
    (target / "docs" / "a.txt").write_text("local edit\n")
    (target / "docs" / "b.txt").write_text("older local\n")
    os.utime(target / "docs" / "b.txt", (1_000_000_000, 1_000_000_000))

    def run(policy: Overwrite, run_id: str):
        request = RestoreRequest(
            repository_id="x",
            snapshot_id=snapshot,
            target=str(target),
            paths=[str(src / "docs")],
            strip_components=strip,
            overwrite=policy,
        )
        return operations.restore(
            stack.settings, repository, request, run_id=run_id, progress=lambda p: None, cancelled=lambda: False
        )

    os.utime(target / "docs" / "a.txt", (4_000_000_000, 4_000_000_000))
    never = run(Overwrite.never, "r1")
    assert (target / "docs" / "a.txt").read_text() == "local edit\n"
    assert (target / "docs" / "b.txt").read_text() == "older local\n"
    assert sorted(never.placement.kept) == [str(src / "docs" / "a.txt"), str(src / "docs" / "b.txt")]

    newer = run(Overwrite.if_newer, "r2")
    assert (target / "docs" / "a.txt").read_text() == "local edit\n"
    assert (target / "docs" / "b.txt").read_text() == "bravo\n"
    assert newer.placement.kept == [str(src / "docs" / "a.txt")]

    always = run(Overwrite.always, "r3")
    assert (target / "docs" / "a.txt").read_text() == "alpha\n"
    assert always.placement.kept == [] and always.report.ok
    assert not any(p.name.startswith(STAGING_PREFIX) for p in target.iterdir())
    assert not (target / str(src).lstrip("/")).exists()
    shutil.rmtree(target)
