"""``sync run`` on a terminal: the pass runs in a thread while a Rich progress bar shows its live status, and
Ctrl-C stops it between chunks or files, and while listing (what is done stays done and journaled; the next
run resumes) instead of killing it in the middle of a file; a second Ctrl-C quits at once."""

from __future__ import annotations

import signal
import threading

import typer
from rich.console import Console

from syncoxide.cli.progress import ProgressBar
from syncoxide.config import Settings
from syncoxide.sync.errors import Interrupted
from syncoxide.sync.executor import LiveProgress
from syncoxide.sync.models import SyncRequest, SyncResult
from syncoxide.sync.runner import run_sync

POLL_S = 0.2


def run_with_progress(cfg: Settings, request: SyncRequest, console: Console) -> SyncResult:
    status, stop = LiveProgress(), threading.Event()
    result: SyncResult | None = None
    error: BaseException | None = None

    def check() -> None:
        if stop.is_set():
            raise Interrupted("stopped by Ctrl-C")

    def work() -> None:
        nonlocal result, error
        try:
            result = run_sync(cfg, request, check=check, status=status)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            error = exc

    def ctrl_c(*_: object) -> None:
        if stop.is_set():  # a second Ctrl-C: stop waiting (a hung server, say)
            raise KeyboardInterrupt
        console.print("[dim]stopping between chunks (what is sent is kept; Ctrl-C again to quit now)...[/dim]")
        stop.set()

    thread = threading.Thread(target=work, name="sync-run", daemon=True)
    previous = signal.signal(signal.SIGINT, ctrl_c)
    try:
        thread.start()
        with ProgressBar("sync", console) as bar:
            while thread.is_alive():
                thread.join(POLL_S)
                bar.update(status.progress())
    finally:
        signal.signal(signal.SIGINT, previous)
    if isinstance(error, Interrupted):
        console.print("error: interrupted: what was sent is kept; run it again to finish", markup=False)
        raise typer.Exit(130)
    if error is not None:
        raise error
    assert result is not None  # work() ended with one or the other
    return result
