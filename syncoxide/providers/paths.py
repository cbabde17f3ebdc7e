"""Provider paths: relative, '/'-separated, no '.' or '..' parts; "" is the root."""

from __future__ import annotations

from syncoxide.errors import InvalidInput


def clean(path: str) -> str:
    """Return the canonical form of a provider path, refusing ones that could escape the root."""
    parts = [p for p in path.split("/") if p not in ("", ".")]  # a backslash is a character of a name
    if ".." in parts:
        raise InvalidInput(f"provider path {path!r} must not contain '..'")
    if any("\x00" in p for p in parts):
        raise InvalidInput(f"provider path {path!r} must not contain NUL")
    return "/".join(parts)


def parent(path: str) -> str:
    return path.rpartition("/")[0]


def name(path: str) -> str:
    return path.rpartition("/")[2]


def join(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p.strip("/"))


def ancestors(path: str) -> list[str]:
    """'a/b/c' -> ['a', 'a/b'] (the directories above a path, outermost first)."""
    bits = path.split("/")[:-1]
    return ["/".join(bits[: i + 1]) for i in range(len(bits))]
