"""`syncoxide search`: its options, how its answer is shown, and the quick way to get one.

A search is a question to a catalog that is already open in the worker (workers/catalog_service.py), so
the command loads only the standard library to ask it, and Rich to show a table. Without a worker
on this data dir, the same request runs in this process (catalog/search_request.py).
"""

from __future__ import annotations

import argparse
import json
import time

from syncoxide.cli.quick import worker_socket
from syncoxide.cli.quick.args import OneLineParser, parse
from syncoxide.fs import names

NAME_OPTIONS = ("text", "glob", "regex", "path")


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="syncoxide search",
        description="Find files across every source and every snapshot, and where each one lives.",
    )
    p.add_argument(
        "text",
        nargs="?",
        help="Part of the name, or a glob on the whole name when it holds * ? or [ "
        "(quote it); any case, NFC and NFD spellings alike.",
    )
    p.add_argument("--glob", help="Shell glob on the name (on the path with a /).")
    p.add_argument("--regex", help="Regular expression searched in the path.")
    p.add_argument("--path", help="Only under this path.")
    p.add_argument("--ext", action="append", default=[], help="Extension (repeatable).")
    p.add_argument("--type", help="file, dir, symlink or other.")
    p.add_argument("--min-size", help="At least this size, e.g. 10M.")
    p.add_argument("--max-size", help="At most this size.")
    p.add_argument("--newer-than", help="Modified within, e.g. 7d.")
    p.add_argument("--older-than", help="Not modified within, e.g. 1y.")
    p.add_argument("--in", dest="where", default="all", help="all, sources or snapshots.")
    p.add_argument("--repo", action="append", default=[], help="Only this repository (repeatable).")
    p.add_argument("--source", action="append", default=[], help="Only this source (repeatable).")
    p.add_argument("--limit", type=int, default=100, help="At most this many results.")
    p.add_argument("--json", dest="as_json", action="store_true", help="Print JSON instead of a table.")
    return p


def request_from(argv: list[str]) -> tuple[dict, bool]:
    """(the search request as catalog/search_request.SearchRequest takes it, whether to print JSON).

    Names typed on the command line arrive in OS form (bytes that are not UTF-8 as surrogates); the
    request carries them in the catalog's stored form (syncoxide/fs/names.py), which JSON can hold."""
    request, as_json = parse(parser(), argv)
    for key in NAME_OPTIONS:
        if request[key] is not None:
            request[key] = names.from_os(request[key])
    return request, as_json


def show(hits: list[dict], limit: int, as_json: bool) -> None:
    """A table with names shown escaped (names.shown), or JSON with them in the stored form."""
    if as_json:
        print(json.dumps(hits, indent=2))
        return
    from rich.console import Console
    from rich.table import Column, Table
    from rich.text import Text

    from syncoxide.units import human_size

    table = Table("where", "size", "modified", "in snapshots")
    table.columns.insert(0, Column("path", overflow="fold", ratio=3))
    for h in hits:
        seen = f"{h['snapshots']} ({h['first_seen'][:10]} .. {h['last_seen'][:10]})" if h["snapshots"] else ""
        modified = time.strftime("%Y-%m-%d %H:%M", time.localtime(h["mtime_ns"] / 1e9)) if h["mtime_ns"] else ""
        size = human_size(h["size"]) if h["type"] == "file" else h["type"]
        table.add_row(Text(names.shown(h["path"])), Text(f"{h['location']} {h['location_name']}"), size, modified, seen)
    Console().print(table)
    if len(hits) == limit:
        Console(stderr=True).print(f"[dim]showing the first {limit}; narrow the search or raise --limit[/dim]")


def quick(argv: list[str]) -> int | None:
    """Run the search through the worker; None when there is none (the caller runs it in process)."""
    request, as_json = request_from(argv)
    reply = worker_socket.ask(request)
    if reply is None:
        return None
    return worker_socket.answered(reply, lambda answer: show(answer["hits"], request["limit"], as_json))


def in_process(argv: list[str]) -> None:
    """The search in this process (no worker, or the full CLI was asked for); errors raise as usual."""
    from syncoxide.catalog.search_request import SearchRequest, run_search
    from syncoxide.config import Settings

    request, as_json = request_from(argv)
    hits = run_search(Settings(), SearchRequest.model_validate(request))
    show([h.model_dump(mode="json") for h in hits], request["limit"], as_json)
