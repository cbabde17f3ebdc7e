"""The REST API under load: `hey` (16 concurrent clients) against `syncoxide serve`, and the same work in process.

    python bench/api/run.py [--quick] [--requests N] [--json]

On a stack of its own (`dev up --no-dashboard`), with the catalog bench's search catalog (bench/catalog/run.py:
100 restic snapshots of a 10,000-file tree, about 1,000,000 entries; --quick 20 of 2,000) and 300 runs recorded
in PostgreSQL, it starts `syncoxide serve` on a free loopback port with a read token and runs `hey`
(scripts/setup.sh builds it) with 16 concurrent clients, keep-alive, a fixed number of requests, against

- runs:   GET /api/v1/runs?limit=50 (a page of recorded runs: the token check and one keyset query);
- search: GET /api/v1/catalog/search?name=report&limit=100 (the report-N.txt each snapshot adds: 100 paths,
          one page, from 5,050 matching entries; --quick 20 of 210), and the same search with one client.

1600 requests a run (--quick 320, --requests N; the one-client run an eighth), after a warm-up of 32. p50
and p99 come from hey's per-request CSV (`-o csv`); a request that failed is missing from it, so fewer rows
than requests sent, or any status but 200 (warm-up included), is a failure and the exit status is 1.
In this process it times the same work without HTTP: the route's own search_page (whatever reader it
takes; the in-process figure of the ratios), one at a time and from 16 threads at once; a reader opened
for the search (CatalogReader.open, then search with the same SearchFilter), likewise; the search alone
on an open reader; the open alone; and the runs query. Ends with `ratio <what> <API/in process>` lines.
Not a timed test: on a small machine hey, uvicorn and DuckDB share the same cores.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: own_stack, catalog/run.py
from catalog.run import make_search_catalog  # noqa: E402
from own_stack import free_port, own_stack  # noqa: E402

CLIENTS = 16
SEARCH_NAME = "report"
RUNS = 300
TARGET_RATIO = 1.5
TARGET_P99_S = 0.250


def quantile(values: list[float], q: float) -> float:
    """Nearest rank: the smallest value with at least ``q`` of them at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def summary(latencies: list[float], wall_s: float, **extra: Any) -> dict[str, Any]:
    return {
        "requests": len(latencies),
        "p50_s": quantile(latencies, 0.50),
        "p99_s": quantile(latencies, 0.99),
        "rps": len(latencies) / wall_s,
        **extra,
    }


def cli_json(env: dict[str, str], *args: str) -> Any:
    done = subprocess.run([sys.executable, "-m", "syncoxide", *args, "--json"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench: syncoxide {' '.join(args[:2])} failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout)


def record_runs(count: int) -> None:
    """``count`` finished runs of the bench repository (a few still running), as activities record them."""
    from syncoxide.config import Settings
    from syncoxide.models import RunKind, RunStatus
    from syncoxide.store import open_store, repositories, runs

    kinds = [RunKind.backup, RunKind.backup, RunKind.check, RunKind.retention, RunKind.catalog]
    outcomes = [RunStatus.succeeded] * 8 + [RunStatus.failed, RunStatus.cancelled]
    with open_store(Settings()) as conn:
        repository = repositories.find(conn, "bench").id
        for i in range(count):
            run_id = f"bench-run-{i:05d}"
            kind = kinds[i % len(kinds)]
            runs.start(conn, run_id=run_id, kind=kind, repository_id=repository, details={"bench": True})
            if i % 50 == 49:
                continue  # still running
            status = outcomes[i % len(outcomes)]
            runs.finish(
                conn,
                run_id=run_id,
                status=status,
                files=10_000 + i,
                bytes_=(10_000 + i) * 4096,
                added_bytes=i * 512,
                snapshot_id=f"{i:064x}" if kind is RunKind.backup and status is RunStatus.succeeded else None,
                error="bench: a recorded failure" if status is RunStatus.failed else None,
            )


class Server:
    """`syncoxide serve` on a free loopback port, its log in the work dir."""

    def __init__(self, work: Path, env: dict[str, str]):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = work / "serve.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "syncoxide", "serve", "--port", str(self.port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError):
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"bench: syncoxide serve did not come up: {self.log.read_text()[-800:]}")
            time.sleep(0.1)

    def get(self, path: str, token: str) -> Any:
        request = urllib.request.Request(self.base + path, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            return json.loads(answer.read())

    def cpu_s(self) -> float:
        times = psutil.Process(self.process.pid).cpu_times()
        return times.user + times.system

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def hey(binary: str, server: Server, path: str, token: str, requests: int, clients: int) -> dict[str, Any]:
    """``requests`` GETs from ``clients`` keep-alive clients; latencies from hey's CSV (one row per answer)."""
    argv = [binary, "-n", str(requests), "-c", str(clients), "-t", "60", "-o", "csv"]
    argv += ["-H", f"Authorization: Bearer {token}", server.base + path]
    server_cpu, hey_cpu = server.cpu_s(), children_cpu_s()
    done = subprocess.run(argv, capture_output=True, text=True)
    server_cpu, hey_cpu = server.cpu_s() - server_cpu, children_cpu_s() - hey_cpu
    if done.returncode != 0:
        raise SystemExit(f"bench: hey failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    rows = list(csv.DictReader(io.StringIO(done.stdout.strip())))
    latencies = [float(r["response-time"]) for r in rows]
    wall = max((float(r["offset"]) + float(r["response-time"]) for r in rows), default=float("nan"))
    statuses: dict[str, int] = {}
    for r in rows:
        statuses[r["status-code"]] = statuses.get(r["status-code"], 0) + 1
    return summary(
        latencies or [float("nan")],
        wall,
        clients=clients,
        sent=requests,
        answered=len(rows),
        dropped=requests - len(rows),
        non_200=len(rows) - statuses.get("200", 0),
        statuses=statuses,
        server_cpu_ms_per_request=server_cpu * 1000 / max(1, len(rows)),
        hey_cpu_ms_per_request=hey_cpu * 1000 / max(1, len(rows)),
    )


def timed(work: Callable[[], object], repeat: int, threads: int = 1) -> dict[str, Any]:
    """``work`` ``repeat`` times (after one warm-up call), from ``threads`` threads at once when more than one."""
    work()

    def once(_: int) -> float:
        started = time.perf_counter()
        work()
        return time.perf_counter() - started

    started = time.perf_counter()
    if threads == 1:
        latencies = [once(i) for i in range(repeat)]
    else:
        with ThreadPoolExecutor(threads) as pool:
            latencies = list(pool.map(once, range(repeat)))
    return summary(latencies, time.perf_counter() - started, clients=threads)


def in_process(filters: Any, repeat: int) -> dict[str, dict[str, Any]]:
    """The search and the runs page without HTTP, in this process (Settings() point at the bench's stack)."""
    from syncoxide.api.context import ApiContext
    from syncoxide.api.routes.catalog import search_page
    from syncoxide.catalog.query import CatalogReader
    from syncoxide.config import Settings
    from syncoxide.store import open_store, runs

    settings = Settings()
    ctx = ApiContext(settings)  # as the server has it: its pool open
    ctx.open()

    def open_and_search() -> object:
        with CatalogReader.open(settings) as reader:
            return reader.search(filters)

    try:
        figures = {
            "search_open_and_search": timed(open_and_search, repeat),
            "search_open_and_search_16_threads": timed(open_and_search, repeat * 2, threads=CLIENTS),
            "search_page": timed(lambda: search_page(ctx, filters, None), repeat),
            "search_page_16_threads": timed(lambda: search_page(ctx, filters, None), repeat * 2, threads=CLIENTS),
        }
    finally:
        ctx.close()
    with CatalogReader.open(settings) as reader:
        figures["search_reader_open"] = timed(lambda: reader.search(filters), repeat)
    figures["reader_open"] = timed(lambda: CatalogReader.open(settings).close(), repeat)
    with open_store(settings) as conn:
        figures["runs_recent"] = timed(lambda: runs.recent(conn, limit=51), repeat * 4)
    return figures


def find_hey() -> str:
    from syncoxide.config import TOOLS_DIR

    found = TOOLS_DIR / "hey"
    binary = str(found) if found.is_file() and os.access(found, os.X_OK) else shutil.which("hey")
    if binary is None:
        raise SystemExit("hey is not installed: run scripts/setup.sh")
    return binary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 snapshots of 2,000 files; fewer requests")
    parser.add_argument("--requests", type=int, help="requests per load run (default 320 quick, 1600 otherwise)")
    parser.add_argument("--json", action="store_true", help="print all figures as one JSON object")
    args = parser.parse_args()
    binary = find_hey()
    requests = args.requests or (320 if args.quick else 1600)
    requests = max(CLIENTS, requests - requests % CLIENTS)  # hey sends n/c per client
    work = Path(tempfile.mkdtemp(prefix="sxbench-api-", dir="/tmp"))
    try:
        with own_stack(work) as env:
            figures = measure(work, env, binary, args.quick, requests)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    failed = report(figures, args.json)
    sys.exit(1 if failed else 0)


def measure(work: Path, env: dict[str, str], binary: str, quick: bool, requests: int) -> dict[str, Any]:
    from syncoxide.catalog.query import SearchFilter

    cli = [sys.executable, "-m", "syncoxide"]
    snapshots, files = (20, 2_000) if quick else (100, 10_000)
    started = time.perf_counter()
    _, _, ingest = make_search_catalog(work, env, cli, snapshots, files)
    print(f"api: catalog of {ingest['entries']} entries in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    record_runs(RUNS)
    token = cli_json(env, "token", "create", "--name", "bench", "--scope", "read")["token"]
    filters = SearchFilter(name=SEARCH_NAME, limit=100)
    runs_path = "/api/v1/runs?limit=50"
    search_path = f"/api/v1/catalog/search?name={SEARCH_NAME}&limit=100"
    server = Server(work, env)
    try:
        page = server.get(search_path, token)
        runs_page = server.get(runs_path, token)
        assert len(runs_page["items"]) == 50 and runs_page["next_cursor"], runs_page
        load = {}
        for name, path, count, clients in (
            ("runs", runs_path, requests, CLIENTS),
            ("search", search_path, requests, CLIENTS),
            ("search_1_client", search_path, max(20, requests // 8), 1),
        ):
            warm = hey(binary, server, path, token, CLIENTS * 2, CLIENTS)  # warm-up: connections, caches, threads
            load[name] = hey(binary, server, path, token, count, clients)
            load[name]["warm_up"] = {key: warm[key] for key in ("sent", "dropped", "non_200")}
            print(f"api: {name} done", file=sys.stderr)
    finally:
        server.stop()
    return {
        "machine": {"cores": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30)},
        "catalog": {"snapshots": snapshots, "entries": ingest["entries"]},
        "runs_recorded": RUNS,
        "search": {"name": SEARCH_NAME, "limit": 100, "hits": len(page["items"]), "more": bool(page["next_cursor"])},
        "load": load,
        "in_process": in_process(filters, 30 if quick else 40),
    }


def report(figures: dict[str, Any], as_json: bool) -> bool:
    load, inside = figures["load"], figures["in_process"]
    alone, threads = inside["search_page"], inside["search_page_16_threads"]  # the route's own work, no HTTP
    ratios = {
        "api-search-p50-vs-in-process": load["search"]["p50_s"] / alone["p50_s"],
        "api-search-p50-vs-in-process-16-threads": load["search"]["p50_s"] / threads["p50_s"],
        "api-search-1-client-p50-vs-in-process": load["search_1_client"]["p50_s"] / alone["p50_s"],
        "api-search-rps-vs-in-process-16-threads": load["search"]["rps"] / threads["rps"],
        "api-search-p50-vs-reader-per-search": load["search"]["p50_s"] / inside["search_open_and_search"]["p50_s"],
        "api-runs-p50-vs-in-process": load["runs"]["p50_s"] / inside["runs_recent"]["p50_s"],
    }
    targets = {
        "search_p50_within_1.5x": ratios["api-search-p50-vs-in-process"] <= TARGET_RATIO,
        "search_p99_below_250ms": load["search"]["p99_s"] < TARGET_P99_S,
    }
    failures = {
        name: (r["dropped"] + r["warm_up"]["dropped"], r["non_200"] + r["warm_up"]["non_200"])
        for name, r in load.items()
        if r["dropped"] or r["non_200"] or r["warm_up"]["dropped"] or r["warm_up"]["non_200"]
    }
    if as_json:
        print(json.dumps({**figures, "ratios": ratios, "targets": targets, "failed": bool(failures)}, indent=2))
        return bool(failures)
    m, c, s = figures["machine"], figures["catalog"], figures["search"]
    print(f"machine: {m['cores']} cores, {m['memory_gib']} GiB")
    print(
        f"catalog: {c['entries']} entries in {c['snapshots']} snapshots; {figures['runs_recorded']} runs recorded;"
        f" search name={s['name']} limit={s['limit']}: {s['hits']} hits{', more' if s['more'] else ''}"
    )
    print(f"{'':44} {'clients':>7} {'requests':>8} {'errors':>6} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}")
    rows = [
        ("API  GET /api/v1/runs?limit=50", load["runs"]),
        (f"API  GET /api/v1/catalog/search?name={s['name']}", load["search"]),
        (f"API  GET /api/v1/catalog/search?name={s['name']}", load["search_1_client"]),
        ("in process  routes.catalog.search_page", inside["search_page"]),
        ("in process  routes.catalog.search_page", inside["search_page_16_threads"]),
        ("in process  CatalogReader.open + search", inside["search_open_and_search"]),
        ("in process  CatalogReader.open + search", inside["search_open_and_search_16_threads"]),
        ("in process  search (reader already open)", inside["search_reader_open"]),
        ("in process  CatalogReader.open alone", inside["reader_open"]),
        ("in process  store.runs.recent(limit=51)", inside["runs_recent"]),
    ]
    for label, r in rows:
        errors = str(r["dropped"] + r["non_200"]) if "dropped" in r else "-"
        print(
            f"{label:44} {r['clients']:>7} {r['requests']:>8} {errors:>6} {r['p50_s'] * 1e3:>8.1f}"
            f" {r['p99_s'] * 1e3:>8.1f} {r['rps']:>8.1f}"
        )
    for name in ("runs", "search"):
        r = load[name]
        print(
            f"cpu per {name} request: server {r['server_cpu_ms_per_request']:.1f} ms,"
            f" hey {r['hey_cpu_ms_per_request']:.1f} ms"
        )
    for name, ok in targets.items():
        print(f"target {name}: {'met' if ok else 'MISSED'}")
    for name, (dropped, bad) in failures.items():
        print(f"FAILED {name}: {dropped} requests dropped, {bad} answers not 200 ({load[name]['statuses']})")
    for name, value in ratios.items():
        print(f"ratio {name} {value:.2f}")
    return bool(failures)


if __name__ == "__main__":
    main()
