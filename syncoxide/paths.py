"""Absolute paths as the catalog and the engines' listings use them."""

from __future__ import annotations


def split_path(path: str) -> tuple[str, str]:
    """'/a/b.txt' -> ('/a', 'b.txt'); '/a' -> ('/', 'a'); '/' -> ('', '/')."""
    if path == "/":
        return "", "/"
    parent, _, name = path.rpartition("/")
    return parent or "/", name
