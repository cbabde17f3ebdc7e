"""A tree of every oddity a real home directory or server holds, and a byte-exact comparison of two trees.

Names are bytes here (os.fsencode): a name that is not UTF-8, holds a backslash, a newline, a control
character, starts with a dash or is 255 bytes long must come back exactly. ``make_adversarial_tree``
returns what it made, so a test can say which parts a destination cannot hold (special files on a
sync, xattrs on S3) and compare the rest.
"""

from __future__ import annotations

import os
import socket
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

NON_UTF8 = b"latin1-caf\xe9.txt"
BACKSLASH = b"back\\slash"
NEWLINE = b"new\nline"
CONTROL = b"ctrl-\x01\x1b-tab\t.txt"
DASH = b"-rf --help"
LONG = b"L" * 251 + b".txt"  # 255 bytes, the longest name ext4 allows
NFC = unicodedata.normalize("NFC", "café-nfc.txt").encode()
NFD = unicodedata.normalize("NFD", "café-nfd.txt").encode()
HARD_A, HARD_B = b"hard-a", b"hard-b"
SPARSE = b"sparse.img"
XATTR = b"with-xattr.txt"
PRIVATE = b"private-0600"
FIFO, SOCKET = b"a-fifo", b"a-socket"
EMPTY_DIR = b"empty-dir"
OLD_MTIME_NS = 1_000_000_123  # 1970-01-01T00:00:01.000000123
Y2100_MTIME_NS = 4_102_444_800_000_000_000  # 2100-01-01, past borg's 2038 limit
SPECIAL = (FIFO, SOCKET)


@dataclass
class Made:
    root: Path
    special: list[bytes] = field(default_factory=list)
    """relative paths of FIFOs and sockets (never opened as data, so never copied by sync)"""
    xattrs: bool = False
    """whether the filesystem took a user.* extended attribute"""
    sockets: list[socket.socket] = field(default_factory=list)

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


def _write(path: bytes, data: bytes, mode: int | None = None, mtime_ns: int | None = None) -> None:
    with open(path, "wb") as out:
        out.write(data)
    if mode is not None:
        os.chmod(path, mode)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))


def make_adversarial_tree(root: Path, *, special: bool = True, extreme_mtimes: bool = True) -> Made:
    """Every oddity in one tree. ``special``: also a FIFO and a bound socket; ``extreme_mtimes``: a file
    from 1970 and one from 2100."""
    os.makedirs(root, exist_ok=True)
    made = Made(root=root)
    top = os.fsencode(root)
    j = os.path.join
    for name in (NON_UTF8, BACKSLASH, NEWLINE, CONTROL, DASH, LONG, NFC, NFD):
        _write(j(top, name), b"name " + name + b"\n")
    folder = j(top, b"dir-\xff\xfe-" + BACKSLASH)
    os.makedirs(j(folder, b"inner \\ " + NEWLINE))
    _write(j(folder, b"inner \\ " + NEWLINE, b"leaf-\x80.bin"), os.urandom(3000))
    os.mkdir(j(top, EMPTY_DIR))
    os.makedirs(j(top, b"nested-empty", b"deeper"))
    _write(j(top, HARD_A), b"h" * 1_000_000)
    os.link(j(top, HARD_A), j(top, HARD_B))
    with open(j(top, SPARSE), "wb") as out:
        out.seek(8 * 1024 * 1024)
        out.write(b"end of a sparse file\n")
    _write(j(top, PRIVATE), b"secret\n", mode=0o600)
    _write(j(top, b"script.sh"), b"#!/bin/sh\necho hi\n", mode=0o750)
    _write(j(top, XATTR), b"carries an attribute\n")
    try:
        os.setxattr(j(top, XATTR), b"user.syncoxide", b"value \x00\xff")
        made.xattrs = True
    except OSError:
        pass
    os.symlink(b"does-not-exist", j(top, b"dangling-link"))
    os.symlink(HARD_A, j(top, b"link-to-hard-a"))
    os.symlink(b"/etc", j(top, b"link-outside"))
    if extreme_mtimes:
        _write(j(top, b"from-1970.txt"), b"old\n", mtime_ns=OLD_MTIME_NS)
        _write(j(top, b"from-2100.txt"), b"future\n", mtime_ns=Y2100_MTIME_NS)
    if special:
        os.mkfifo(j(top, FIFO))
        made.special.append(FIFO)
        sock = socket.socket(socket.AF_UNIX)
        here = os.getcwd()
        try:
            os.chdir(root)  # a socket path must fit in 108 bytes: bind relative to the tree
            sock.bind(os.fsdecode(SOCKET))
        finally:
            os.chdir(here)
        made.sockets.append(sock)
        made.special.append(SOCKET)
    return made


def show(name: bytes) -> str:
    """A name as a test failure prints it: escapes for every byte that is not printable ASCII."""
    return "".join(chr(b) if 32 <= b < 127 and b != 0x5C else f"\\x{b:02x}" for b in name)


def entries(root: Path | bytes) -> dict[bytes, os.stat_result]:
    top = os.fsencode(root)
    found: dict[bytes, os.stat_result] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            found[os.path.relpath(full, top)] = os.lstat(full)
    return found


def compare_bytes_trees(
    expected: Path,
    actual: Path,
    *,
    skip: set[bytes] = frozenset(),  # type: ignore[assignment]
    mode: bool = True,
    mtime: bool = True,
    xattrs: bool = False,
    links: bool = True,
    mtime_within_ns: int = 0,
) -> list[str]:
    """Differences between two trees by bytes names: type, bytes, permission bits, mtime (to within
    ``mtime_within_ns``), link targets and (``xattrs``) user.* attributes. ``skip``: relative paths not
    expected at ``actual``."""
    want = {k: v for k, v in entries(expected).items() if k not in skip}
    if not links:
        want = {k: v for k, v in want.items() if not stat.S_ISLNK(v.st_mode)}
    have = entries(actual)
    top_e, top_a = os.fsencode(expected), os.fsencode(actual)
    problems = [f"missing: {show(p)}" for p in sorted(want.keys() - have.keys())]
    problems += [f"unexpected: {show(p)}" for p in sorted(have.keys() - want.keys())]
    for rel in sorted(want.keys() & have.keys()):
        a, b = want[rel], have[rel]
        name = show(rel)
        if stat.S_IFMT(a.st_mode) != stat.S_IFMT(b.st_mode):
            problems.append(f"type differs: {name}")
            continue
        if stat.S_ISLNK(a.st_mode):
            if os.readlink(os.path.join(top_e, rel)) != os.readlink(os.path.join(top_a, rel)):
                problems.append(f"link target differs: {name}")
            continue
        if mode and stat.S_IMODE(a.st_mode) != stat.S_IMODE(b.st_mode):
            problems.append(f"mode differs: {name} {stat.S_IMODE(a.st_mode):o} != {stat.S_IMODE(b.st_mode):o}")
        if stat.S_ISREG(a.st_mode):
            if mtime and abs(a.st_mtime_ns - b.st_mtime_ns) > mtime_within_ns:
                problems.append(f"mtime differs: {name} {a.st_mtime_ns} != {b.st_mtime_ns}")
            with open(os.path.join(top_e, rel), "rb") as x, open(os.path.join(top_a, rel), "rb") as y:
                if x.read() != y.read():
                    problems.append(f"bytes differ: {name}")
            if xattrs:
                got = {
                    k: os.getxattr(os.path.join(top_a, rel), k)
                    for k in os.listxattr(os.path.join(top_a, rel))
                    if k.startswith("user.")
                }
                exp = {
                    k: os.getxattr(os.path.join(top_e, rel), k)
                    for k in os.listxattr(os.path.join(top_e, rel))
                    if k.startswith("user.")
                }
                if got != exp:
                    problems.append(f"xattrs differ: {name} {exp} != {got}")
    return problems
