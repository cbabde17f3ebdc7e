"""Argument parsing for the commands that run without the full CLI (cli/quick/search.py, cli/quick/scan.py)."""

from __future__ import annotations

import argparse
import os
from typing import NoReturn


class OneLineParser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line, like every other syncoxide error:
    ``error: <command>: <what was wrong>`` and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog.removeprefix('syncoxide ')}: {message}\n")


def parse(parser: argparse.ArgumentParser, argv: list[str]) -> tuple[dict, bool]:
    """(the parsed options as a request, with the caller's folder as ``cwd``; whether ``--json`` was given, which
    the parser stores as ``as_json`` and the request does not carry)."""
    options = vars(parser.parse_args(argv))
    as_json = options.pop("as_json")
    return {**options, "cwd": os.getcwd()}, as_json
