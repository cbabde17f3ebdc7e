"""The `syncoxide` command. A search or a scan goes straight to the worker's catalog socket when there is
one (cli/quick/), without loading the rest of the CLI; everything else, and those two without a worker,
is the full CLI (cli/app.py). Either way the process first makes itself private (fs/modes.py):
umask 077, inherited by every program it starts, and the data dir 0700."""

from __future__ import annotations

import sys


def main() -> None:
    from syncoxide.fs.modes import go_private

    go_private()
    command = sys.argv[1:2]
    if command in (["search"], ["scan"]) and not {"-h", "--help"} & set(sys.argv[2:]):
        if command == ["search"]:
            from syncoxide.cli.quick.search import quick
        else:
            from syncoxide.cli.quick.scan import quick
        code = quick(sys.argv[2:])
        if code is not None:
            sys.stdout.flush()
            raise SystemExit(code)
    from syncoxide.cli.app import main as full_cli

    full_cli()
