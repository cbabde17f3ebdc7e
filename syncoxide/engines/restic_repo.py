"""Reading a local restic repository's snapshot trees directly, for fast listings.

`restic ls` starts a process, loads the index and prints JSON per node for every snapshot it is
asked about; listing a hundred snapshots that share most of their folders repeats all of that.
This reader opens the repository once (key, index), then walks snapshot trees, decrypting each
tree blob once and reusing it for every snapshot that holds the same folder (restic trees are
content-addressed). Only metadata is read, never file contents; every blob is authenticated
(Poly1305-AES) before use. The repository format is restic's documented design (format 1 and 2).
"""

from __future__ import annotations

import base64
import hashlib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import orjson
import zstandard
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.poly1305 import Poly1305

from syncoxide.engines.restic_names import link_target, node_name
from syncoxide.errors import RepositoryNotFound, SyncoxideError, WrongPassphrase

IV, MAC = 16, 16
TREE_CACHE = 200_000
LISTED_ROWS = 500_000
"""Rows of whole folders kept as column slices for the next snapshot holding the same folder."""
_KINDS = {"file": "file", "dir": "dir", "symlink": "symlink"}


class CorruptRepository(SyncoxideError):
    """A file of the repository failed authentication or could not be decoded."""


@dataclass(frozen=True)
class _MasterKey:
    encrypt: bytes
    mac_k: bytes
    mac_r: bytes

    def open(self, blob: bytes, what: str) -> bytes:
        if len(blob) < IV + MAC:
            raise CorruptRepository(f"{what}: too short to be encrypted data")
        nonce, body, tag = blob[:IV], blob[IV:-MAC], blob[-MAC:]
        s = Cipher(algorithms.AES(self.mac_k), modes.ECB()).encryptor().update(nonce)
        try:
            Poly1305.verify_tag(self.mac_r + s, body, tag)
        except Exception:
            raise CorruptRepository(f"{what}: authentication failed") from None
        return Cipher(algorithms.AES(self.encrypt), modes.CTR(nonce)).decryptor().update(body)


def _derive(password: str, key_file: dict) -> _MasterKey | None:
    """The master key from one key file, or None if the password does not open it."""
    salt = base64.b64decode(key_file["salt"])
    n, r, p = key_file["N"], key_file["r"], key_file["p"]
    derived = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=64, maxmem=2 * 128 * r * (n + p + 2))
    user = _MasterKey(derived[:32], derived[32:48], derived[48:64])
    try:
        plain = user.open(base64.b64decode(key_file["data"]), "key")
    except CorruptRepository:
        return None
    master = orjson.loads(plain)
    return _MasterKey(
        base64.b64decode(master["encrypt"]), base64.b64decode(master["mac"]["k"]), base64.b64decode(master["mac"]["r"])
    )


class Node(NamedTuple):
    """A tree entry, decoded once and shared by every snapshot holding its folder."""

    name: str
    type: str
    size: int
    mtime_ns: int
    mode: int
    uid: int | None
    gid: int | None
    link_target: str | None
    subtree: str | None


class LocalResticRepository:
    """Open with the repository path and its password; then list snapshots' trees."""

    def __init__(self, root: Path, password: str, mtime_parser, mode_parser):
        self.root = root
        self._parse_time = mtime_parser
        self._parse_mode = mode_parser
        if not (root / "config").is_file() or not (root / "keys").is_dir():
            raise RepositoryNotFound(f"restic repository {root}: not found")
        self.key = self._open_key(password)
        self._dctx = zstandard.ZstdDecompressor()
        self._trees: dict[str, tuple[str, int, int, int | None]] = {}
        self._cache: OrderedDict[str, list[Node]] = OrderedDict()
        self._listed: OrderedDict[tuple[str, str], list[list]] = OrderedDict()
        self._listed_rows = 0
        self._handed_on = 0
        self._indexes_read: set[str] = set()
        self._load_index()

    def _open_key(self, password: str) -> _MasterKey:
        for path in sorted((self.root / "keys").iterdir()):
            master = _derive(password, orjson.loads(path.read_bytes()))
            if master is not None:
                return master
        raise WrongPassphrase(f"restic repository {self.root}: wrong password or no key found")

    def _unpacked(self, path: Path) -> Any:
        """An index, snapshot or config file: decrypted, decompressed (format 2), parsed (JSON, whatever its shape)."""
        plain = self.key.open(path.read_bytes(), str(path.relative_to(self.root)))
        if plain[:1] == b"\x02":
            plain = self._dctx.decompress(plain[1:], max_output_size=1 << 30)
        elif plain[:1] not in (b"{", b"["):
            raise CorruptRepository(f"{path.relative_to(self.root)}: unknown encoding {plain[:1]!r}")
        return orjson.loads(plain)

    def _load_index(self) -> None:
        """Read index files not read yet (backups since the last call add new ones)."""
        index_dir = self.root / "index"
        for path in sorted(index_dir.iterdir()) if index_dir.is_dir() else []:
            if path.name in self._indexes_read:
                continue
            self._indexes_read.add(path.name)
            index = self._unpacked(path)
            for pack in index.get("packs", []):
                for blob in pack.get("blobs", []):
                    if blob["type"] == "tree":
                        self._trees[blob["id"]] = (
                            pack["id"],
                            blob["offset"],
                            blob["length"],
                            blob.get("uncompressed_length"),
                        )

    def snapshot_tree(self, snapshot_id: str) -> str:
        snapshot = self._unpacked(self.root / "snapshots" / snapshot_id)
        return snapshot["tree"]

    def tree(self, tree_id: str) -> list[Node]:
        cached = self._cache.get(tree_id)
        if cached is not None:
            self._cache.move_to_end(tree_id)
            return cached
        if tree_id not in self._trees:
            self._load_index()
        try:
            pack, offset, length, uncompressed = self._trees[tree_id]
        except KeyError:
            raise CorruptRepository(f"restic repository {self.root}: tree {tree_id[:12]} is not in the index") from None
        with open(self.root / "data" / pack[:2] / pack, "rb") as data:
            data.seek(offset)
            plain = self.key.open(data.read(length), f"tree {tree_id[:12]}")
        if uncompressed is not None:
            plain = self._dctx.decompress(plain, max_output_size=uncompressed)
        nodes = [self._node(n) for n in orjson.loads(plain).get("nodes") or []]
        self._cache[tree_id] = nodes
        if len(self._cache) > TREE_CACHE:
            self._cache.popitem(last=False)
        return nodes

    def _node(self, raw: dict) -> Node:
        kind = _KINDS.get(raw.get("type", ""), "other")
        return Node(
            node_name(raw["name"]),
            kind,
            raw.get("size", 0) if kind == "file" else 0,
            self._parse_time(raw["mtime"]),
            self._parse_mode(raw.get("mode", 0)),
            raw.get("uid"),
            raw.get("gid"),
            link_target(raw),
            raw.get("subtree"),
        )

    def columns(self, snapshot_id: str, every: int) -> Iterator[list[list]]:
        """Every entry of the snapshot, depth first in name order as `restic ls` lists them, as column lists
        (path, parent, name, type, size, mtime_ns, mode, uid, gid, link target) of at least ``every``
        rows, cut between folders.

        A folder already listed under the same path (the same tree id: unchanged since that snapshot)
        is copied from its earlier columns instead of being walked again, which is what makes a
        repository of many similar snapshots cheap to list.
        """
        out: list[list] = [[] for _ in range(10)]
        for _ in self._fill(self.snapshot_tree(snapshot_id), "", out, every):
            yield [column.copy() for column in out]
            for column in out:
                column.clear()
            self._handed_on += 1
        if out[0]:
            yield out

    def _fill(self, tree_id: str, prefix: str, out: list[list], every: int) -> Iterator[None]:
        """Append the folder's rows to ``out``; yield (between folders) when ``out`` holds ``every``."""
        key = (tree_id, prefix)
        listed = self._listed.get(key)
        if listed is not None:
            self._listed.move_to_end(key)
            for column, rows in zip(out, listed, strict=True):
                column.extend(rows)
        else:
            start, handed_on = len(out[0]), self._handed_on
            parent = prefix or "/"
            paths, parents, names, types, sizes, mtimes, modes, uids, gids, links = out
            for node in self.tree(tree_id):
                path = f"{prefix}/{node.name}"
                paths.append(path)
                parents.append(parent)
                names.append(node.name)
                types.append(node.type)
                sizes.append(node.size)
                mtimes.append(node.mtime_ns)
                modes.append(node.mode)
                uids.append(node.uid)
                gids.append(node.gid)
                links.append(node.link_target)
                if node.subtree:
                    yield from self._fill(node.subtree, path, out, every)
            if self._handed_on == handed_on:
                self._remember(key, [column[start:] for column in out])
        if len(out[0]) >= every:
            yield

    def _remember(self, key: tuple[str, str], columns: list[list]) -> None:
        rows = len(columns[0])
        if not rows or rows > LISTED_ROWS // 4:
            return
        self._listed[key] = columns
        self._listed_rows += rows
        while self._listed_rows > LISTED_ROWS:
            _, dropped = self._listed.popitem(last=False)
            self._listed_rows -= len(dropped[0])
