"""Running an engine's CLI: stream its output line by line, stop it cleanly on cancellation."""

from __future__ import annotations

import ctypes
import os
import queue
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

STDERR_TAIL_LINES = 50
INTERRUPT_GRACE_S = 60.0
POLL_S = 0.5

LineFn = Callable[[str], None]
CancelFn = Callable[[], bool]


class Cancelled(Exception):
    """The caller asked the engine process to stop, and it did."""


@dataclass
class ProcessResult:
    returncode: int
    stdout: list[str] = field(default_factory=list)
    stderr_tail: deque[str] = field(default_factory=lambda: deque(maxlen=STDERR_TAIL_LINES))


def _pump(stream, tag: str, sink: queue.Queue) -> None:
    for raw in iter(stream.readline, b""):
        sink.put((tag, raw.decode("utf-8", errors="replace").rstrip("\n")))
    sink.put((tag, None))


def _interrupt(proc: subprocess.Popen) -> None:
    """SIGINT lets borg and restic release their locks; SIGKILL only if they ignore it."""
    try:
        os.killpg(proc.pid, signal.SIGINT)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=INTERRUPT_GRACE_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def _stop_with_parent() -> None:
    """In the child: SIGINT when the worker dies (even by SIGKILL), so no engine runs orphaned."""
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGINT)


def _spawn(
    argv: Sequence[str], env: Mapping[str, str], cwd: str | None, stdin, pass_fds: Sequence[int] = ()
) -> subprocess.Popen:
    return subprocess.Popen(
        list(argv),
        env=dict(env),
        cwd=cwd,
        stdin=stdin if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        pass_fds=tuple(pass_fds),
        preexec_fn=_stop_with_parent,
    )


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | None = None,
    on_stdout: LineFn | None = None,
    on_stderr: LineFn | None = None,
    cancelled: CancelFn | None = None,
    keep_stdout: bool = True,
    pass_fds: Sequence[int] = (),
) -> ProcessResult:
    """Run to completion, feeding each line to the callbacks; raise Cancelled if asked to stop."""
    proc = _spawn(argv, env, cwd, None, pass_fds)
    lines: queue.Queue = queue.Queue()
    pumps = [
        threading.Thread(target=_pump, args=(proc.stdout, "out", lines), daemon=True),
        threading.Thread(target=_pump, args=(proc.stderr, "err", lines), daemon=True),
    ]
    for t in pumps:
        t.start()
    outcome = ProcessResult(returncode=-1)
    open_streams = 2
    try:
        while open_streams:
            if cancelled is not None and cancelled():
                _interrupt(proc)
                raise Cancelled()
            try:
                tag, line = lines.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if line is None:
                open_streams -= 1
            elif tag == "out":
                if keep_stdout:
                    outcome.stdout.append(line)
                if on_stdout:
                    on_stdout(line)
            else:
                outcome.stderr_tail.append(line)
                if on_stderr:
                    on_stderr(line)
        outcome.returncode = proc.wait()
        return outcome
    finally:
        if proc.poll() is None:
            _interrupt(proc)


def _drain_stderr(proc: subprocess.Popen) -> tuple[threading.Thread, deque[str]]:
    """Keep the last lines of stderr in the background so the process never blocks on it."""
    tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)

    assert proc.stderr is not None  # _spawn pipes it
    stream = proc.stderr

    def drain() -> None:
        for raw in iter(stream.readline, b""):
            tail.append(raw.decode("utf-8", errors="replace").rstrip("\n"))

    drainer = threading.Thread(target=drain, daemon=True)
    drainer.start()
    return drainer, tail


def pipe_stdout(
    argv: Sequence[str], *, env: Mapping[str, str], out, chunk_size: int = 1 << 20
) -> tuple[int, list[str]]:
    """Copy a process's binary stdout into ``out``; return (returncode, stderr tail)."""
    proc = _spawn(argv, env, None, None)
    drainer, stderr = _drain_stderr(proc)
    assert proc.stdout is not None  # _spawn pipes it
    stdout = proc.stdout
    try:
        for chunk in iter(lambda: stdout.read(chunk_size), b""):
            out.write(chunk)
        code = proc.wait()
        drainer.join()
        return code, list(stderr)
    finally:
        if proc.poll() is None:
            _interrupt(proc)


def stream_stdout(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | None = None,
    on_exit: Callable[[int, list[str]], None],
) -> Iterator[str]:
    """Yield stdout lines as they come (constant memory); on_exit(returncode, stderr) may raise."""
    proc = _spawn(argv, env, cwd, None)
    drainer, stderr = _drain_stderr(proc)
    assert proc.stdout is not None  # _spawn pipes it
    try:
        for raw in iter(proc.stdout.readline, b""):
            yield raw.decode("utf-8", errors="replace").rstrip("\n")
        code = proc.wait()
        drainer.join()
        on_exit(code, list(stderr))
    finally:
        if proc.poll() is None:
            _interrupt(proc)
