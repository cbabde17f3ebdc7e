"""Sizes as people write and read them (binary units), with nothing heavier than the standard library."""

from __future__ import annotations

import re

from syncoxide.errors import InvalidValue

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)


def parse_size(text: str | int) -> int:
    """'100M', '1.5G', '4096', '10KiB' -> bytes (units are powers of 1024)."""
    match = _SIZE.match(str(text))
    if not match:
        raise InvalidValue(f"size {text!r}: use a number with an optional K, M, G or T (e.g. 100M, 1.5G)")
    number, unit = float(match.group(1)), match.group(2).lower()
    return int(number * 1024 ** " kmgt".index(unit or " "))


def human_size(n: int | None) -> str:
    """1536 -> '1.5 KiB' (binary units, as parse_size reads them)."""
    value = float(n or 0)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"
