"""The `syncoxide` command. A search goes straight to the worker's catalog service when there is one
(search_cli.py), without loading the rest of the CLI; everything else is the full CLI (cli.py)."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:2] == ["search"]:
        from syncoxide import search_cli

        code = search_cli.quick(sys.argv[2:])
        if code is not None:
            sys.stdout.flush()
            raise SystemExit(code)
    from syncoxide.cli import main as full_cli

    full_cli()
