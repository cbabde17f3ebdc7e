"""Reading a policy file's YAML so that whatever it holds comes back as one line naming its file and line.

PyYAML alone keeps the last of two equal keys without a word, builds a recursive anchor into a recursive
structure, expands a "billion laughs" of aliases, reads ``1e400`` as infinity, fails on a 5000-digit
number with Python's own ValueError, and recurses until a RecursionError on deep nesting. Here:

- a key given twice in one mapping is refused, naming both lines;
- an anchor that holds an alias to itself, aliases that expand the document past ``MAX_VALUES`` values,
  and nesting deeper than ``MAX_DEPTH`` are refused (aliases and ``<<`` merges are otherwise fine);
- an integer beyond 64 bits and a float beyond a double (``1e400``) are refused, shown cut short;
- a file that is not UTF-8 text (a binary file) is refused with where the first bad byte is.

``read`` returns the document's data and the line of each key, or raises ``YamlRefused`` (``YamlProblems``
for several).
"""

from __future__ import annotations

import math
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from syncoxide.models import shown

MAX_DEPTH = 64
MAX_VALUES = 100_000
MAX_BYTES = 16 * 1024 * 1024
INT_LIMIT = 2**63
MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlRefused(Exception):
    """One problem: the line (1-based; None: the whole file), the keys leading to it, and what is wrong."""

    def __init__(self, line: int | None, message: str, path: tuple = ()):
        super().__init__(message)
        self.line, self.message, self.path = line, message, path


class YamlProblems(Exception):
    """Several problems found at once (duplicate keys): a list of YamlRefused."""

    def __init__(self, problems: list[YamlRefused]):
        super().__init__(f"{len(problems)} problems")
        self.problems = problems


def _line(mark: Any) -> int | None:
    return mark.line + 1 if mark is not None else None


def _text(value: str) -> str:
    return shown(value)[1:-1] if len(value) <= 40 else shown(value)


class _Loader(yaml.SafeLoader):
    depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise YamlRefused(_line(self.peek_event().start_mark), f"nested more than {MAX_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (yaml.YAMLError, YamlRefused):
            raise
        except (ValueError, OverflowError, TypeError) as exc:  # e.g. a timestamp 2024-13-45
            value = node.value if isinstance(node, ScalarNode) else node.tag
            raise YamlRefused(_line(node.start_mark), f"cannot read {_text(value)}: {exc}") from None


def _int(loader: _Loader, node: ScalarNode) -> int:
    digits = node.value.replace("_", "").lstrip("+-")
    if len(digits) > 30:
        raise YamlRefused(_line(node.start_mark), f"number {_text(node.value)} is too large (at most {INT_LIMIT - 1})")
    value = yaml.SafeLoader.construct_yaml_int(loader, node)
    if not -INT_LIMIT <= value < INT_LIMIT:
        raise YamlRefused(_line(node.start_mark), f"number {_text(node.value)} is too large (at most {INT_LIMIT - 1})")
    return value


def _float(loader: _Loader, node: ScalarNode) -> float:
    value = yaml.SafeLoader.construct_yaml_float(loader, node)
    if math.isinf(value) and "inf" not in node.value.lower():
        raise YamlRefused(_line(node.start_mark), f"number {_text(node.value)} is too large for a number")
    return value


_Loader.add_constructor("tag:yaml.org,2002:int", _int)
_Loader.add_constructor("tag:yaml.org,2002:float", _float)


def _key(node: Node) -> Any:
    return node.value if isinstance(node, ScalarNode) else "?"


def _duplicates(node: MappingNode, path: tuple) -> list[YamlRefused]:
    seen: dict[tuple[str, str], int | None] = {}
    found = []
    for key, _ in node.value:
        if not isinstance(key, ScalarNode) or key.tag == MERGE_TAG:
            continue
        line = _line(key.start_mark)
        if (key.tag, key.value) in seen:
            found.append(
                YamlRefused(
                    line,
                    f"given twice, at lines {seen[(key.tag, key.value)]} and {line} (YAML would keep only the last)",
                    (*path, key.value),
                )
            )
        else:
            seen[(key.tag, key.value)] = line
    return found


def check_nodes(root: Node) -> None:
    """Walk the document as its aliases expand it (without recursion): duplicate keys (all of them), a
    recursive anchor, too many values or too deep (the first)."""
    found: list[YamlRefused] = []
    checked: set[int] = set()
    on_path: set[int] = set()
    values = 0
    stack: list[tuple[Node, tuple, bool]] = [(root, (), False)]
    tops = {(_key(k),): _line(k.start_mark) for k, _ in root.value} if isinstance(root, MappingNode) else {}
    while stack:
        node, path, leaving = stack.pop()
        if leaving:
            on_path.discard(id(node))
            continue
        line = _line(node.start_mark)
        if id(node) in on_path:
            raise YamlRefused(
                line, "an alias inside this anchor refers to the anchor itself (a recursive anchor)", path
            )
        values += 1
        if values > MAX_VALUES:  # (told at the top-level key it happened under: the path is the aliases' maze)
            raise YamlRefused(
                tops.get(path[:1], line),
                f'aliases expand the file past {MAX_VALUES} values here (a "billion laughs"?)',
                path[:1],
            )
        if len(path) > MAX_DEPTH:
            raise YamlRefused(
                tops.get(path[:1], line), f"nested more than {MAX_DEPTH} levels deep (with its aliases)", path[:1]
            )
        if isinstance(node, ScalarNode):
            continue
        on_path.add(id(node))
        stack.append((node, path, True))
        if isinstance(node, MappingNode):
            if id(node) not in checked:
                checked.add(id(node))
                found += _duplicates(node, path)
            for key, value in reversed(node.value):
                stack.append((value, (*path, _key(key)), False))
                if not isinstance(key, ScalarNode):
                    stack.append((key, path, False))
        elif isinstance(node, SequenceNode):
            for index in range(len(node.value) - 1, -1, -1):
                stack.append((node.value[index], (*path, index), False))
    if found:
        raise YamlProblems(found)


def decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise YamlRefused(None, f"{len(data)} bytes: too large for a policy file (at most {MAX_BYTES // 2**20} MiB)")
    if b"\0" in data:
        at = data.index(b"\0")
        raise YamlRefused(data[:at].count(b"\n") + 1, f"not a text file (a NUL byte at offset {at}: binary?)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlRefused(
            data[: exc.start].count(b"\n") + 1,
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}: binary?)",
        ) from None


def line_map(node: Node, path: tuple = (), lines: dict | None = None) -> dict[tuple, int]:
    """The line of each key and item, by its path of keys and indexes (check_nodes bounds the depth)."""
    lines = {} if lines is None else lines
    if isinstance(node, MappingNode):
        for key, value in node.value:
            child = (*path, _key(key))
            lines.setdefault(child, key.start_mark.line + 1)
            line_map(value, child, lines)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            line_map(item, (*path, index), lines)
    return lines


def read(data: bytes) -> tuple[Any, dict[tuple, int]]:
    """The document in ``data`` (a file's bytes) and the line of each of its keys and items (see
    ``line_map``); YamlRefused, YamlProblems or yaml.YAMLError (with its mark) when it cannot be read as a
    policy file's YAML."""
    text = decode(data)
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:
        raise YamlRefused(
            text[: exc.position].count("\n") + 1,
            f"not a text file (character #x{exc.character:04x} is not allowed in YAML)",
        ) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        check_nodes(node)
        lines = line_map(node)  # (before constructing: a << merge rewrites its mapping's node)
        return loader.construct_document(node), lines
    except RecursionError:
        raise YamlRefused(None, "nested too deeply to read") from None
    finally:
        loader.dispose()
