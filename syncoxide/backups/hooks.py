"""Hook commands around a backup: run in a shell, each with a timeout, stopped if it runs over, with the
user's umask (what a hook writes is theirs: fs/modes.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable

from syncoxide.engines.base import command_environment
from syncoxide.engines.process import Cancelled
from syncoxide.errors import SyncoxideError
from syncoxide.fs.modes import user_umask

OUTPUT_TAIL = 5
POLL_S = 1.0


class HookFailed(SyncoxideError):
    """A hook exited non-zero or ran past its timeout."""


def run_hooks(
    stage: str,
    commands: list[str],
    *,
    timeout_s: float,
    env: dict[str, str] | None = None,
    withhold: Iterable[str] = (),
    cancelled: Callable[[], bool] = lambda: False,
) -> int:
    """Run ``commands`` in order; the first failure raises HookFailed naming the stage and command.

    A hook gets the worker's environment with ``env`` added, less the engines' secret variables and the
    names in ``withhold`` (``engines.base.command_environment``): no repository passphrase reaches it.

    ``cancelled`` is polled every second (activities heartbeat there); when it says so the hook
    is stopped and Cancelled raised.
    """
    for command in commands:
        proc = subprocess.Popen(
            ["sh", "-c", command],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**command_environment(os.environ, withhold), **(env or {})},
            text=True,
            errors="replace",
            umask=user_umask(),
        )
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                output, _ = proc.communicate(timeout=POLL_S)
                break
            except subprocess.TimeoutExpired:
                stop = cancelled()
                if stop or time.monotonic() > deadline:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.communicate()
                    if stop:
                        raise Cancelled() from None
                    raise HookFailed(
                        f"{stage} hook `{command}` ran past its {timeout_s:g}s timeout and was stopped"
                    ) from None
        if proc.returncode != 0:
            tail = [line for line in output.splitlines() if line.strip()][-OUTPUT_TAIL:]
            said = f": {tail[-1]}" if tail else ""
            raise HookFailed(f"{stage} hook `{command}` exited with {proc.returncode}{said}")
    return len(commands)
