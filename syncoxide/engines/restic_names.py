"""restic's names as bytes: its trees keep every name exactly, `restic ls --json` does not.

A tree blob holds each node's name Go-quoted (strconv.Quote without its quotes: a byte that is not
UTF-8 as ``\\xHH``, control characters, quotes and backslashes escaped) and a symlink target that is
not UTF-8 as ``linktarget_raw`` (base64). `restic ls --json` prints names through Go's JSON encoder,
which replaces each byte that is not UTF-8 with U+FFFD, so those names cannot be read back from it.
``ExactPaths`` puts them right: for a folder that holds such a name it reads the folder's tree
(`restic cat tree snapshot:folder`), whose nodes come in the order `restic ls` lists them.
Every name here is in OS form (os.fsdecode), as the engines hand listings over.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable

from syncoxide.errors import EngineFailed

REPLACEMENT = "\ufffd"
_GO_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|[0-7]{3}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)", re.DOTALL)
_GO_NAMED = {
    "a": b"\a",
    "b": b"\b",
    "f": b"\f",
    "n": b"\n",
    "r": b"\r",
    "t": b"\t",
    "v": b"\v",
    "\\": b"\\",
    '"': b'"',
    "'": b"'",
}
_REPLACEMENTS = re.compile(f"{REPLACEMENT}+")


def _go_unescaped(code: str) -> bytes:
    if code[0] == "x":
        return bytes([int(code[1:], 16)])
    if code[0] in "uU":
        return chr(int(code[1:], 16)).encode()
    if code[0] in "01234567":
        return bytes([int(code, 8)])
    if code in _GO_NAMED:
        return _GO_NAMED[code]
    raise EngineFailed(f"restic tree node name: unknown escape \\{code}")


def node_name(quoted: str) -> str:
    """A tree node's ``name`` as restic stores it -> the name in OS form."""
    if "\\" not in quoted:
        return quoted
    raw, done = bytearray(), 0
    for match in _GO_ESCAPE.finditer(quoted):
        raw += quoted[done : match.start()].encode()
        raw += _go_unescaped(match.group(1))
        done = match.end()
    raw += quoted[done:].encode()
    return os.fsdecode(bytes(raw))


def link_target(node: dict) -> str | None:
    """A tree node's symlink target in OS form (``linktarget_raw`` when it is not UTF-8)."""
    if node.get("linktarget_raw"):
        return os.fsdecode(base64.b64decode(node["linktarget_raw"]))
    return node.get("linktarget") or None


def _lossy(name: str) -> str:
    """A name as Go's JSON encoder prints it, with each run of replacement characters as one."""
    return _REPLACEMENTS.sub(REPLACEMENT, os.fsencode(name).decode("utf-8", "replace"))


class ExactPaths:
    """Feed it `restic ls --json` paths in the order printed; it gives back each path exactly (OS form).

    ``tree_of(folder)`` returns the nodes (JSON objects) of one folder of the snapshot, by its exact
    path; it is asked only for folders holding a name that is not UTF-8.
    """

    def __init__(self, tree_of: Callable[[str], list[dict]]):
        self._tree_of = tree_of
        self._open: list[tuple[str, str]] = []  # (printed, exact) of the folders above the current entry
        self._unused: dict[str, list[str]] = {}  # exact folder -> its exact names not matched yet

    @property
    def active(self) -> bool:
        """Whether the entries now coming may lie below a folder whose name was put right."""
        return bool(self._open)

    def exact(self, printed: str, is_dir: bool) -> str:
        parent, _, name = printed.rpartition("/")
        while self._open and self._open[-1][0] != parent:
            self._unused.pop(self._open.pop()[1], None)
        exact_parent = self._open[-1][1] if self._open else parent
        if REPLACEMENT in name:
            name = self._match(exact_parent, name)
        path = f"{exact_parent}/{name}"
        if is_dir and (path != printed or self._open):  # a folder put right, or one below such a folder
            self._open.append((printed, path))
        return path

    def _match(self, folder: str, printed_name: str) -> str:
        if folder not in self._unused:
            self._unused[folder] = [node_name(node["name"]) for node in self._tree_of(folder or "/")]
        left = self._unused[folder]
        want = _lossy(printed_name)
        for index, candidate in enumerate(left):
            if _lossy(candidate) == want:
                del left[: index + 1]  # the folder's nodes come in listing order
                return candidate
        raise EngineFailed(f"restic ls printed {printed_name!r} in {folder!r}, which its tree does not hold")
