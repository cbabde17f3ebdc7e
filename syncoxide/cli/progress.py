"""A Rich progress bar fed by the Progress a workflow's heartbeats carry."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.progress import (
    Progress as RichProgress,
)

from syncoxide.contract.payloads import Progress


class ProgressBar:
    def __init__(self, title: str, console: Console):
        self._bar = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(binary_units=True),
            TransferSpeedColumn(),
            TextColumn("{task.fields[files]} files"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self._title = title
        self._task = self._bar.add_task(title, total=None, files=0)

    def __enter__(self) -> ProgressBar:
        self._bar.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._bar.__exit__(kind, exc, tb)

    def update(self, progress: Progress) -> None:
        self._bar.update(
            self._task,
            description=f"{self._title}: {progress.phase}",
            completed=progress.bytes_done,
            total=progress.bytes_total,
            files=progress.files_done,
        )
