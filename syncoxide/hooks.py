"""Hook commands around a backup: run in a shell, each with a timeout, stopped if it runs over."""

from __future__ import annotations

import os
import signal
import subprocess

from syncoxide.errors import SyncoxideError

OUTPUT_TAIL = 5


class HookFailed(SyncoxideError):
    """A hook exited non-zero or ran past its timeout."""


def run_hooks(stage: str, commands: list[str], *, timeout_s: float, env: dict[str, str] | None = None) -> int:
    """Run ``commands`` in order; the first failure raises HookFailed naming the stage and command."""
    for command in commands:
        proc = subprocess.Popen(
            ["sh", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env={**os.environ, **(env or {})}, text=True, errors="replace",
        )  # fmt: skip
        try:
            output, _ = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise HookFailed(f"{stage} hook `{command}` ran past its {timeout_s:g}s timeout and was stopped") from None
        if proc.returncode != 0:
            tail = [line for line in output.splitlines() if line.strip()][-OUTPUT_TAIL:]
            said = f": {tail[-1]}" if tail else ""
            raise HookFailed(f"{stage} hook `{command}` exited with {proc.returncode}{said}")
    return len(commands)
