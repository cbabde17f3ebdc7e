"""One compression setting for every engine: auto, none, max, zstd, zstd,N (1-22), lz4 (borg only)."""

from __future__ import annotations

from syncoxide.errors import InvalidInput, InvalidValue

DEFAULT_ZSTD_LEVEL = 3
MAX_ZSTD_LEVEL = 22


def parse(text: str) -> tuple[str, int | None]:
    name, _, level = text.strip().lower().partition(",")
    if name in ("auto", "none", "max", "lz4") and not level:
        return name, None
    if name == "zstd":
        if not level:
            return name, DEFAULT_ZSTD_LEVEL
        if level.isdigit() and 1 <= int(level) <= MAX_ZSTD_LEVEL:
            return name, int(level)
    raise InvalidValue(f"compression {text!r}: use auto, none, max, zstd, zstd,N (N from 1 to 22) or lz4")


def borg_spec(text: str) -> str:
    name, level = parse(text)
    return {
        "auto": f"auto,zstd,{DEFAULT_ZSTD_LEVEL}",
        "none": "none",
        "max": "zstd,19",
        "lz4": "lz4",
        "zstd": f"zstd,{level}",
    }[name]


def restic_mode(text: str) -> str:
    """restic compresses with zstd at two strengths: auto (fastest) and max."""
    name, level = parse(text)
    if name == "lz4":
        raise InvalidInput("compression 'lz4': restic supports auto, none, max and zstd levels, not lz4")
    if name == "zstd":
        return "auto" if (level or 0) <= 9 else "max"
    return {"auto": "auto", "none": "off", "max": "max"}[name]
