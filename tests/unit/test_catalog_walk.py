"""The scan's walk (GNU find read column-wise) records exactly what lstat says, on an awkward tree."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from syncoxide.catalog import walk
from syncoxide.catalog.walk import FindWalk, WalkStats
from syncoxide.fs import names

KINDS = {stat.S_IFREG: "file", stat.S_IFDIR: "dir", stat.S_IFLNK: "symlink"}


def awkward_tree(root: Path) -> Path:
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "short.txt").write_text("x")
    (root / "a" / "b" / ("long-name-" * 24 + ".bin")).write_bytes(b"y" * 1000)
    (root / "with\nnewline and space").write_text("nl")
    (root / "café ☕.md").write_text("unicode")
    (root / "hard").write_text("h")
    os.link(root / "hard", root / "hard-link")
    os.symlink("a/short.txt", root / "to-short")
    os.symlink("/" + "far/" * 40 + "target", root / "to-far")
    os.mkfifo(root / "fifo")
    (root / "setuid").mkdir(mode=0o755)
    os.chmod(root / "setuid", 0o4755 | stat.S_ISVTX)
    old = root / "old"
    old.write_text("1969")
    os.utime(old, ns=(0, -1_500_000_000))  # 1.5 s before 1970
    precise = root / "precise"
    precise.write_text("ns")
    os.utime(precise, ns=(0, 1_700_000_000_123_456_789))
    with open(root / "sparse", "wb") as f:
        f.truncate(5 << 40)  # 5 TiB of nothing: a size with 13 digits
    (root / "empty").mkdir()
    return root


def reference(root: Path) -> dict[str, dict]:
    """What os.lstat says about every entry below root (and root)."""
    rows = {}
    for path in [root, *root.rglob("*")]:
        st = os.lstat(path)
        kind = KINDS.get(stat.S_IFMT(st.st_mode), "other")
        rows[str(path)] = {
            "parent": str(path.parent) if path != root else os.path.dirname(str(root)),
            "name": path.name,
            "type": kind,
            "size": st.st_size if kind == "file" else 0,
            "mtime_ns": st.st_mtime_ns,
            "mode": st.st_mode & 0o7777,
            "uid": st.st_uid,
            "gid": st.st_gid,
            "link_target": os.readlink(path) if kind == "symlink" else None,
        }
    return rows


def walked(root: Path, excludes: list[str] = ()) -> tuple[dict[str, dict], WalkStats]:
    stats = WalkStats()
    rows = {}
    for columns in FindWalk(str(root), list(excludes), one_file_system=False, stats=stats).batches():
        data = {name: array.to_pylist() for name, array in columns.items()}
        for values in zip(*data.values(), strict=True):
            row = dict(zip(data, values, strict=True))
            rows[row.pop("path")] = row
    return rows, stats


def test_every_column_matches_lstat(tmp_path):
    root = awkward_tree(tmp_path / "tree")
    rows, stats = walked(root)
    assert rows == reference(root)
    assert (stats.files, stats.dirs, stats.errors) == (9, 5, 0)
    assert stats.bytes == sum(r["size"] for r in rows.values())


def test_records_split_across_many_reads_come_out_whole(tmp_path, monkeypatch):
    root = awkward_tree(tmp_path / "tree")
    for i in range(300):
        (root / "a" / f"f{i:03d}").write_text(str(i))
    monkeypatch.setattr(walk, "READ_BYTES", 1000)
    monkeypatch.setattr(walk, "PIPE_BYTES", 333)
    rows, _ = walked(root)
    assert rows == reference(root)


def test_a_name_that_is_not_utf8_is_kept_in_the_stored_form_of_its_bytes(tmp_path):
    root = tmp_path / "tree"
    root.mkdir()
    for name in (b"bad-\xff-name", b"bad-\\xff-name", "reserved-\U0010fe80".encode()):
        with open(os.path.join(os.fsencode(root), name), "w") as f:
            f.write("odd")
    rows, _ = walked(root)
    by_bytes = {names.to_bytes(path): row for path, row in rows.items()}
    for name in (b"bad-\xff-name", b"bad-\\xff-name", "reserved-\U0010fe80".encode()):
        assert names.to_bytes(by_bytes[os.path.join(os.fsencode(root), name)]["name"]) == name


def test_a_path_longer_than_path_max_is_recorded(tmp_path):
    fd = os.open(tmp_path, os.O_RDONLY)
    for _ in range(24):
        os.mkdir("d" * 200, dir_fd=fd)
        inner = os.open("d" * 200, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.mkdir("beyond", dir_fd=fd)
    os.close(fd)
    rows, stats = walked(tmp_path)
    deepest = max(rows, key=len)
    assert deepest.endswith("/beyond") and len(deepest) > 4096 and stats.errors == 0


def test_excludes_by_name_by_anchored_path_and_by_path_tail(tmp_path):
    root = tmp_path / "tree"
    for relative in (
        "keep/a.txt",
        "keep/a.tmp",
        "node_modules/x/y.js",
        "deep/node_modules/z.js",
        "skip/s.txt",
        "deep/skip/kept.txt",
        "cache/c1",
        "deep/cache/c2",
        "cached/kept",
    ):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(relative)
    rows, _ = walked(root, ["*.tmp", "node_modules", f"{root}/skip", "cache/*"])
    assert {str(Path(p).relative_to(root)) for p in rows if p != str(root)} == {
        "keep",
        "keep/a.txt",
        "deep",
        "deep/skip",
        "deep/skip/kept.txt",
        "cache",
        "deep/cache",
        "cached",
        "cached/kept",
    }


def test_an_unreadable_folder_is_an_error_and_the_walk_goes_on(tmp_path):
    root = tmp_path / "tree"
    (root / "locked" / "inside").mkdir(parents=True)
    (root / "open.txt").write_text("o")
    os.chmod(root / "locked", 0)
    program = (
        "import json, sys\n"
        "from syncoxide.catalog.walk import FindWalk, WalkStats\n"
        "stats = WalkStats()\n"
        "paths = [p for c in FindWalk(sys.argv[1], [], one_file_system=False, stats=stats).batches()"
        " for p in c['path'].to_pylist()]\n"
        "print(json.dumps({'paths': paths, 'errors': stats.errors, 'sample': stats.error_sample}))\n"
    )
    argv = [sys.executable, "-c", program, str(root)]
    if os.geteuid() == 0:  # root reads everything; take away the capabilities that let it
        setpriv = shutil.which("setpriv") or pytest.skip("setpriv (util-linux) is needed to test this as root")
        argv = [setpriv, "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search", *argv]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=True, cwd=Path(__file__).parents[2])
    finally:
        os.chmod(root / "locked", 0o755)
    result = json.loads(done.stdout)
    assert result["errors"] == 1 and result["sample"] == [f"{root}/locked: Permission denied"]
    assert sorted(result["paths"]) == [str(root), f"{root}/locked", f"{root}/open.txt"]


def test_find_arguments_prune_excludes_and_never_test_the_root():
    argv = walk.find_arguments("/data", ["*.tmp", "/data/skip", "a/b"], one_file_system=True)
    assert argv[:6] == ["find", "/data", "-mindepth", "1", "-xdev", "("]
    assert argv[6:] == [
        "-name",
        "*.tmp",
        "-o",
        "-path",
        "/data/skip",
        "-o",
        "-path",
        "*/a/b",
        ")",
        "-prune",
        "-o",
        "-printf",
        walk.PRINTF,
    ]


def running_finds(under: Path) -> list:
    """This process's find children still alive that walk ``under`` (the session's worker may run scans of its
    own)."""
    import psutil

    found = []
    for child in psutil.Process().children():
        try:
            if (
                child.name() == "find"
                and child.status() != psutil.STATUS_ZOMBIE
                and any(arg.startswith(str(under)) for arg in child.cmdline())
            ):
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


def test_closing_the_walk_early_stops_find(tmp_path, monkeypatch):
    root = tmp_path / "tree"
    for i in range(2000):
        (root / f"d{i // 100}").mkdir(parents=True, exist_ok=True)
        (root / f"d{i // 100}" / f"f{i}").write_text("x")
    monkeypatch.setattr(walk, "READ_BYTES", 1000)
    monkeypatch.setattr(walk, "PIPE_BYTES", 4096)  # a small pipe and queue: find waits for this test to read
    batches = FindWalk(str(root), [], one_file_system=False, stats=WalkStats()).batches()
    next(batches), next(batches)
    assert running_finds(root)
    batches.close()
    assert not running_finds(root)


def test_a_cancelled_scan_leaves_no_part_and_no_find_behind(tmp_path, monkeypatch):
    from syncoxide.catalog.scan import walk_to_part
    from syncoxide.catalog.storage import CatalogStorage
    from syncoxide.engines.process import Cancelled

    root = tmp_path / "tree"
    for i in range(3000):
        (root / f"d{i // 100}").mkdir(parents=True, exist_ok=True)
        (root / f"d{i // 100}" / f"f{i}").write_text("x")
    monkeypatch.setattr(walk, "READ_BYTES", 4096)
    monkeypatch.setattr(walk, "PIPE_BYTES", 4096)
    storage = CatalogStorage.open(str(tmp_path / "catalog"))
    seen = []
    owner = {"kind": "scan", "source_id": "s", "scan_id": "x"}
    with pytest.raises(Cancelled):
        walk_to_part(
            storage,
            "scans/part.parquet",
            owner,
            str(root),
            excludes=[],
            one_file_system=False,
            progress=seen.append,
            cancelled=lambda: len(seen) >= 2,
        )
    assert len(seen) == 2 and 0 < seen[-1].files_done < 3000
    assert [p for p in (tmp_path / "catalog").rglob("*") if p.is_file()] == []
    assert not running_finds(root)
