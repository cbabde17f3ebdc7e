"""Argument parsing for the commands that run without the full CLI (cli/quick/search.py, cli/quick/scan.py)."""

from __future__ import annotations

import argparse
from typing import NoReturn


class OneLineParser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line, like every other syncoxide error:
    ``error: <command>: <what was wrong>`` and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog.removeprefix('syncoxide ')}: {message}\n")
