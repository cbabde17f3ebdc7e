"""Names are bytes: one reversible text form for storing them, and one escaped form for showing them.

POSIX allows any byte but ``/`` and NUL in a name; Parquet, DuckDB, PostgreSQL and JSON hold only
valid Unicode. Three forms of a name, and the one way between each pair:

- **OS form**: what Python's os module and subprocess take and give (``os.fsdecode``: every byte that
  is not part of valid UTF-8 is a lone surrogate U+DC80..U+DCFF, PEP 383). Engines and walks hand
  their listings over in this form; ``os.fsencode`` gives the exact bytes back.
- **Stored form** (``stored``): what the catalog, the store, ``--json`` output and payloads carry.
  A name that is valid UTF-8 is stored as itself, byte for byte (backslashes and newlines too). Each
  byte that is not is stored as the private-use character U+10FE00 + byte (U+10FE80..U+10FEFF);
  a name that itself holds one of those 128 characters (vanishingly rare) has their UTF-8 bytes
  stored the same way, so the form is reversible for every byte sequence (``to_bytes``).
- **Shown form** (``shown``): for people, like ``ls -b``: control characters as ``\\n``, ``\\t``,
  ``\\r`` or ``\\xHH``, a byte that is not UTF-8 as ``\\xHH``, a backslash as ``\\\\``, other
  invisible characters as ``\\uXXXX``. It is unambiguous but not meant to be parsed back.
"""

from __future__ import annotations

import os
import re
import unicodedata

_BYTE_BASE = 0x10FE00
_RESERVED = re.compile("[\U0010fe80-\U0010feff]")
_TO_STORED = {0xDC00 + b: _BYTE_BASE + b for b in range(0x80, 0x100)}
_TO_OS = {_BYTE_BASE + b: 0xDC00 + b for b in range(0x80, 0x100)}
_NAMED = {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
_INVISIBLE = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def stored(name: bytes) -> str:
    """The stored form of a name (or path) given as bytes."""
    try:
        text = name.decode()
    except UnicodeDecodeError:
        return from_os(name.decode("utf-8", "surrogateescape"))
    return text if text.isascii() or not _RESERVED.search(text) else from_os(text)


def from_os(name: str) -> str:
    """The stored form of a name in OS form (``os.fsdecode``)."""
    if name.isascii():
        return name
    if _RESERVED.search(name):  # its own UTF-8 bytes, each as a stored byte, so that it reads back
        name = _RESERVED.sub(lambda m: m.group().encode().decode("ascii", "surrogateescape"), name)
    return name.translate(_TO_STORED)


def to_os(name: str) -> str:
    """The OS form of a stored name: pass it to open(), os.* or a subprocess's argv."""
    if name.isascii():
        return name
    if _RESERVED.search(name):
        return os.fsdecode(os.fsencode(name.translate(_TO_OS)))  # the bytes' own decoding, as os.* gives it
    return name.translate(_TO_OS)


def to_bytes(name: str) -> bytes:
    """The exact bytes of a stored name."""
    return os.fsencode(to_os(name))


def stored_column(names: list[str | None]) -> list[str | None]:
    """A column of OS-form names (None for none) in stored form."""
    return [n if n is None or n.isascii() else from_os(n) for n in names]


def is_exact_text(name: str) -> bool:
    """Whether a stored name is valid UTF-8 as it stands (it holds no stored byte)."""
    return name.isascii() or not _RESERVED.search(name)


def shown(name: str) -> str:
    """A stored name as people see it: printable, on one line, unambiguous (see the module's text)."""
    if name.isascii() and name.isprintable() and "\\" not in name:
        return name
    out: list[str] = []
    for char in to_os(name):
        code = ord(char)
        if char in _NAMED:
            out.append(_NAMED[char])
        elif 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif unicodedata.category(char) in _INVISIBLE:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(char)
    return "".join(out)


def nfc(text: str) -> str:
    """Text in Unicode normalization form C, as names are compared (café and cafe\u0301 are one name)."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)
