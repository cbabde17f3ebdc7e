"""Running the syncoxide CLI as a user would: a subprocess against the test stack."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self):
        return json.loads(self.stdout)

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def syncoxide(stack, *args: str, env: dict[str, str] | None = None, timeout: float = 300) -> CliResult:
    done = subprocess.run(
        [sys.executable, "-m", "syncoxide", *args],
        env={**stack.env, "PYTHONFAULTHANDLER": "1", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return CliResult(done.returncode, done.stdout, done.stderr)
