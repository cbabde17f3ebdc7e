"""`syncoxide scan`: its options, how a scan's summary is shown, and the quick way to run one.

The quick way asks the worker (workers/scan_service.py) to register the source if needed, start
CatalogScanWorkflow and stream its progress back, so the command loads only the standard library
(and Rich for a progress bar on a terminal). Without a worker on this data dir the full CLI starts
the workflow itself (``in_process``); the workflow and its summary are the same either way.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from typing import TYPE_CHECKING, Any

from syncoxide.cli.quick import worker_socket
from syncoxide.cli.quick.args import OneLineParser, parse
from syncoxide.fs import names

if TYPE_CHECKING:
    from syncoxide.cli.progress import ProgressBar


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="syncoxide scan",
        description="Walk a source into the catalog (CatalogScanWorkflow): "
        "entries, sizes, times, hashes if configured.",
    )
    p.add_argument("source", help="A source's name, or a folder (registered on first scan).")
    p.add_argument(
        "--one-file-system",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="Do not cross into other file systems.",
    )
    p.add_argument("--json", dest="as_json", action="store_true", help="Print the summary as JSON.")
    return p


def request_from(argv: list[str]) -> tuple[dict, bool]:
    """(the scan request as workers/scan_service.ScanServiceRequest takes it, whether to print JSON)."""
    options, as_json = parse(parser(), argv)
    return {"op": "scan", **options}, as_json


def show(summary: dict, source_name: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    from syncoxide.units import human_size

    hashed, reused = summary["hashed"], summary["reused"]
    hashes = f"; hashed {hashed}, reused {reused}" if hashed or reused else ""
    print(
        f"scanned {source_name}: {summary['files']} files, {summary['dirs']} folders, {human_size(summary['bytes'])}"
        f" in {summary['duration_s']:.1f}s{hashes}"
    )
    if summary["errors"]:
        example = names.shown(summary["error_sample"][0])
        print(f"{summary['errors']} entries could not be read, e.g. {example}", file=sys.stderr)


class _LiveProgress:
    """A Rich bar on stderr, made on the first progress report (so scripts never load Rich)."""

    def __init__(self) -> None:
        self._bar: ProgressBar | None = None

    def update(self, report: dict) -> None:
        if self._bar is None:
            from rich.console import Console

            from syncoxide.cli.progress import ProgressBar

            self._bar = ProgressBar("scan", Console(stderr=True)).__enter__()
        from syncoxide.contract.payloads import Progress

        self._bar.update(Progress.model_validate(report))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)


def quick(argv: list[str]) -> int | None:
    """Run the scan through the worker; None when there is none (the caller runs the full CLI)."""
    request, as_json = request_from(argv)
    live = sys.stderr.isatty() and not as_json
    conn = worker_socket.connect()
    if conn is None:
        return None
    conn.settimeout(None)  # a long scan may say nothing for a while; a worker that dies closes the socket
    bar = _LiveProgress()
    with conn, conn.makefile("rb") as lines:
        worker_socket.send(conn, {**request, "progress": live})
        while True:
            try:
                line = lines.readline()
            except KeyboardInterrupt:  # the worker cancels the run when we stop sending
                bar.close()
                print("cancelling the scan...", file=sys.stderr)
                conn.shutdown(socket.SHUT_WR)
                continue
            reply: dict[str, Any] = (
                json.loads(line) if line else {"error": "the worker closed the connection without an answer"}
            )
            if "started" in reply:
                if live:
                    print(f"started {reply['started']} ({reply['url']})", file=sys.stderr)
            elif "progress" in reply:
                bar.update(reply["progress"])
            elif "error" in reply or "result" in reply:
                bar.close()
                break
            else:  # a worker from before scans went through it answers as if asked to search
                bar.close()
                reply = {
                    "error": "the worker on this data dir does not run scans: restart it (it is older than"
                    " this syncoxide)"
                }
                break
    return worker_socket.answered(reply, lambda answer: show(answer["result"], answer["source"], as_json))


def in_process(argv: list[str]) -> None:
    """The scan's workflow started by this process (no worker socket, or the full CLI was asked for)."""
    from syncoxide.catalog.sources import source_or_register
    from syncoxide.cli.common import run_workflow
    from syncoxide.cli.common import settings as load_settings
    from syncoxide.contract.payloads import ScanRequest
    from syncoxide.models import RunKind

    request, as_json = request_from(argv)
    settings = load_settings()
    source = source_or_register(settings, request["source"], request["cwd"])
    scan = ScanRequest(source_id=source.id, one_file_system=request["one_file_system"])
    summary = run_workflow(settings, None, scan, RunKind.scan, as_json, source_id=source.id)
    show(summary.model_dump(mode="json"), source.name, as_json)
