"""How search text matches names: a part of the name, or a glob on the whole name when the text holds
``*``, ``?`` or ``[`` (as `restic find` takes it); in any case, and normalization-insensitive (the NFC
and NFD spellings of café are one name).

Text with a character beyond ASCII is compared in NFC on both sides: the text in Python, the
catalog's names with DuckDB's nfc_normalize. That costs (measured on 5M names: 2x on ASCII names,
7x on others), so ASCII text is matched against the names as they are: the same answers but in
rare cases (a decomposed é holds an "e", so cafe also finds the NFD café).
In a glob, ``*`` is any run of characters, ``?`` one character, ``[abc]``, ``[a-z]`` and ``[!abc]``
a set, and ``\\`` takes the next character literally (``\\*`` is a star).
"""

from __future__ import annotations

import re

from syncoxide.errors import InvalidInput
from syncoxide.fs import names

GLOB_CHARACTERS = "*?["


def is_glob(text: str) -> bool:
    return any(c in text for c in GLOB_CHARACTERS)


def name_condition(text: str, column: str = "name") -> tuple[str, list]:
    """SQL (with its parameter) for search text on ``column``: any case, normalization-insensitive."""
    text = names.nfc(text)
    normalized = _normalized(column, text)
    if not is_glob(text):
        if not any(c in text for c in "%_\\"):
            return f"{normalized} ILIKE ?", [f"%{text}%"]  # no ESCAPE clause: about twice as fast
        return f"{normalized} ILIKE ? ESCAPE '\\'", [f"%{_like_literal(text)}%"]
    if "[" not in text:
        return f"{normalized} ILIKE ? ESCAPE '\\'", [_glob_to_like(text)]
    return f"regexp_full_match({normalized}, ?)", [glob_to_regex(text)]


def glob_condition(glob: str, column: str) -> tuple[str, list]:
    """SQL for a shell glob on ``column`` (case-sensitive, as --glob is), normalization-insensitive."""
    glob = names.nfc(glob)
    return f"{_normalized(column, glob)} GLOB ?", [glob]


def _normalized(column: str, text: str) -> str:
    """The column as text is compared with it: in NFC when the text holds more than ASCII."""
    return column if text.isascii() else f"nfc_normalize({column})"


def _like_literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _glob_to_like(glob: str) -> str:
    """A glob without sets as a LIKE pattern (``*`` -> ``%``, ``?`` -> ``_``, the rest literal)."""
    out: list[str] = []
    chars = iter(glob)
    for char in chars:
        if char == "\\":
            out.append(_like_literal(next(chars, "\\")))
        elif char == "*":
            out.append("%")
        elif char == "?":
            out.append("_")
        else:
            out.append(_like_literal(char))
    return "".join(out)


def glob_to_regex(glob: str) -> str:
    """A glob as an RE2 pattern matched against the whole name, any case, newlines included."""
    out: list[str] = ["(?is)"]
    i = 0
    while i < len(glob):
        char = glob[i]
        i += 1
        if char == "\\" and i < len(glob):
            out.append(re.escape(glob[i]))
            i += 1
        elif char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[":
            start = i + 1 if glob[i : i + 1] in ("!", "^") else i
            end = glob.find("]", start + 1 if glob[start : start + 1] == "]" else start)  # []] holds a ]
            if end < 0:
                raise InvalidInput(f"search {glob!r}: a [ without its ] (write \\[ for a literal one)")
            members = glob[i:end]
            negate = members[:1] in ("!", "^")
            members = members[1:] if negate else members
            escaped = "".join(c if c == "-" else re.escape(c) for c in members)
            out.append(f"[{'^' if negate else ''}{escaped}]")
            i = end + 1
        else:
            out.append(re.escape(char))
    return "".join(out)
