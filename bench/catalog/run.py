"""The catalog side by side with the tools users would otherwise run, on the same data in one run.

    python bench/catalog/run.py [--quick] [--only scan|search] [--json]

- scan:   `find TREE -printf '%s %T@ %p\\n'` vs `syncoxide scan TREE` (CatalogScanWorkflow on the running
          stack, no hashing), on a generated tree (1,000,000 files; --quick 100,000); peak memory of the
          worker and its scan processes, sampled.
- search: one restic repository holding many snapshots of a 10,000-file tree (100 snapshots, 1,000,000
          entries; --quick 20 of 2,000). `restic find NAME` vs `syncoxide search NAME` for the same names,
          after `syncoxide catalog ingest`; also the query alone, in process.
- ingest: entries per second from the engine's listing into Parquet (the catalog ingest above).
- pages:  each dashboard page rendered (warm) by Streamlit's AppTest over that catalog.

Starts its own stack (`syncoxide dev up --no-dashboard` on free ports, a temporary data dir) and
ends with one line per comparison: `ratio <what> <syncoxide/anchor>`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: own_stack
from own_stack import own_stack  # noqa: E402

PASSPHRASE = "bench-passphrase-not-secret"
NAMES = ["file-0000123.txt", "notes-77.md", "photo-4242.jpg", "nothing-like-this", "report"]


def run(argv: list[str], env: dict[str, str], **kwargs) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, **kwargs)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"bench: {' '.join(argv[:4])} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    return elapsed, done


def make_tree(root: Path, files: int, per_dir: int = 100) -> None:
    """``files`` small files, ``per_dir`` to a folder, folders 100 to a parent."""
    for i in range(files):
        folder = root / f"top-{i // (per_dir * 100):03d}" / f"dir-{(i // per_dir) % 100:03d}"
        if i % per_dir == 0:
            folder.mkdir(parents=True, exist_ok=True)
        kind = ("file-{:07d}.txt", "notes-{}.md", "photo-{}.jpg", "data-{}.bin")[i % 4]
        fd = os.open(folder / kind.format(i), os.O_CREAT | os.O_WRONLY, 0o644)
        if i % 10 == 0:
            os.write(fd, b"x" * (i % 4096))
        os.close(fd)


class PeakMemory:
    """Samples the proportional set size (PSS: shared pages split among the processes sharing them)
    of a process and its children until stopped; RSS would count the shared libraries many times."""

    def __init__(self, pid: int):
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                procs = [self.process, *self.process.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_full_info().pss for p in procs if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.05)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def bench_scan(work: Path, env: dict[str, str], cli: list[str], worker_pid: int, files: int) -> dict:
    tree = work / "tree"
    started = time.perf_counter()
    make_tree(tree, files)
    print(f"scan: made {files} files in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    subprocess.run(["find", str(tree), "-printf", ""], check=True)  # warm the dentry and inode caches
    finds, scans, peaks = [], [], []
    for _ in range(3):
        with open(os.devnull, "w") as sink:
            started = time.perf_counter()
            subprocess.run(["find", str(tree), "-printf", "%s %T@ %p\n"], stdout=sink, check=True)
            finds.append(time.perf_counter() - started)
        with PeakMemory(worker_pid) as memory:
            elapsed, done = run([*cli, "scan", str(tree), "--json"], env)
        scans.append(elapsed)
        peaks.append(memory.peak)
        assert json.loads(done.stdout)["files"] == files
    return {
        "files": files,
        "find_s": statistics.median(finds),
        "scan_s": statistics.median(scans),
        "scan_in_worker_s": json.loads(done.stdout)["duration_s"],
        "peak_pss_bytes": max(peaks),
    }


def make_search_catalog(
    work: Path, env: dict[str, str], cli: list[str], snapshots: int, files: int
) -> tuple[dict[str, str], float, dict]:
    """The search's data (bench/api/run.py searches it too): a restic repository, added as `bench`, of
    ``snapshots`` snapshots of a ``files``-file tree, ingested into the catalog. Returns restic's
    environment for that repository, the ingest's time through the CLI and its JSON answer."""
    from syncoxide.config import Settings

    restic = Settings().tools.restic
    tree = work / "small-tree"
    make_tree(tree, files, per_dir=50)
    repo = work / "restic-repo"
    secret = work / "passphrase"
    secret.write_text(PASSPHRASE + "\n")
    renv = {
        **env,
        "RESTIC_PASSWORD": PASSPHRASE,
        "RESTIC_REPOSITORY": str(repo),
        "RESTIC_CACHE_DIR": str(work / "restic-cache"),
    }
    run([restic, "init"], renv)
    started = time.perf_counter()
    for i in range(snapshots):
        (tree / f"report-{i}.txt").write_text(f"report {i}\n")  # each snapshot a little different
        run([restic, "backup", "--quiet", str(tree)], renv)
    print(f"search: made {snapshots} snapshots in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    run(
        [
            *cli,
            "repo",
            "add",
            "--engine",
            "restic",
            "--repo",
            str(repo),
            "--name",
            "bench",
            "--passphrase-file",
            str(secret),
        ],
        env,
    )
    ingest_s, done = run([*cli, "catalog", "ingest", "--repo", "bench", "--json"], env)
    return renv, ingest_s, json.loads(done.stdout)


def bench_search(work: Path, env: dict[str, str], cli: list[str], snapshots: int, files: int) -> dict:
    from syncoxide.config import Settings

    restic = Settings().tools.restic
    renv, ingest_s, ingest = make_search_catalog(work, env, cli, snapshots, files)
    restic_s, ours_s, query_s = [], [], []
    for name in NAMES:
        elapsed, _ = run([restic, "find", "--json", f"*{name}*"], renv)
        restic_s.append(elapsed)
        ours = [run([*cli, "search", name, "--repo", "bench", "--json"], env)[0] for _ in range(3)]
        ours_s.append(statistics.median(ours))
    query_s = in_process_queries(env)
    return {
        "snapshots": snapshots,
        "entries": ingest["entries"],
        "ingest_s": ingest_s,
        "ingest_in_worker_s": ingest["duration_s"],
        "restic_find_s": statistics.median(restic_s),
        "search_cli_s": statistics.median(ours_s),
        "search_query_s": statistics.median(query_s),
    }


def in_process_queries(env: dict[str, str]) -> list[float]:
    """The query alone (what the dashboard pays), as `search NAME --repo bench`: reader already open."""
    code = (
        "import json, statistics, time\n"
        "from syncoxide.config import load_settings\n"
        "from syncoxide.catalog.query import CatalogReader, SearchFilter\n"
        "r = CatalogReader.open(load_settings()); out = []\n"
        "repo = [r.snapshot_rows[0]['repository_id']]\n"
        f"for name in {NAMES!r}:\n"
        "    r.search(SearchFilter(name=name, repository_ids=repo))\n"
        "    t = time.perf_counter(); r.search(SearchFilter(name=name, repository_ids=repo))\n"
        "    out.append(time.perf_counter() - t)\n"
        "print(json.dumps(out))\n"
    )
    return json.loads(run([sys.executable, "-c", code], env)[1].stdout)


def bench_pages(env: dict[str, str]) -> dict[str, float]:
    """Each dashboard page rendered by Streamlit's AppTest over this catalog, warm (second render)."""
    code = (
        "import json, time\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"app = {str(Path(__file__).resolve().parents[2] / 'dashboard' / 'app.py')!r}\n"
        "out = {}\n"
        "for page in ['overview', 'snapshots', 'restore', 'search', 'analytics', 'cleanup', 'policies']:\n"
        "    test = AppTest.from_file(app, default_timeout=120).run()\n"
        "    test.switch_page(f'views/{page}.py').run()\n"
        "    started = time.perf_counter(); test.run(); out[page] = time.perf_counter() - started\n"
        "    assert not test.exception, (page, test.exception)\n"
        "print(json.dumps(out))\n"
    )
    return json.loads(run([sys.executable, "-c", code], env)[1].stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 files; 20 snapshots of 2,000 files")
    parser.add_argument("--only", choices=["scan", "search"], action="append")
    parser.add_argument("--json", action="store_true", help="print all figures as JSON too")
    args = parser.parse_args()
    which = args.only or ["scan", "search"]

    work = Path(tempfile.mkdtemp(prefix="sxbench-catalog-", dir="/tmp"))
    cli = [sys.executable, "-m", "syncoxide"]
    try:
        with own_stack(work) as env:
            figures = measure(work, env, cli, which, args.quick)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(figures, args.json)


def measure(work: Path, env: dict[str, str], cli: list[str], which: list[str], quick: bool) -> dict[str, dict]:
    figures: dict[str, dict] = {}
    status = json.loads(run([*cli, "dev", "status", "--json"], env)[1].stdout)
    worker_pid = next(s["pid"] for s in status if s["name"] == "worker")
    if "scan" in which:
        figures["scan"] = bench_scan(work, env, cli, worker_pid, 100_000 if quick else 1_000_000)
    if "search" in which:
        snapshots, files = (20, 2_000) if quick else (100, 10_000)
        figures["search"] = bench_search(work, env, cli, snapshots, files)
        figures["pages"] = bench_pages(env)
    return figures


def report(figures: dict[str, dict], as_json: bool) -> None:
    if as_json:
        print(json.dumps(figures, indent=2))
    print(f"machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB")
    if "scan" in figures:
        s = figures["scan"]
        print(
            f"scan {s['files']} files: find={s['find_s']:.2f}s syncoxide={s['scan_s']:.2f}s"
            f" (in the worker {s['scan_in_worker_s']:.2f}s), peak memory (PSS) {s['peak_pss_bytes'] / 2**20:.0f} MiB"
        )
    if "search" in figures:
        s = figures["search"]
        print(
            f"search over {s['snapshots']} snapshots ({s['entries']} entries): restic find={s['restic_find_s']:.2f}s"
            f" syncoxide search={s['search_cli_s'] * 1000:.0f}ms (query alone {s['search_query_s'] * 1000:.1f}ms)"
        )
        print(
            f"ingest: {s['entries']} entries in {s['ingest_in_worker_s']:.1f}s in the worker"
            f" = {s['entries'] / s['ingest_in_worker_s']:.0f} entries/s ({s['ingest_s']:.1f}s through the CLI)"
        )
    if "pages" in figures:
        print("dashboard pages, warm: " + ", ".join(f"{k} {v * 1000:.0f}ms" for k, v in figures["pages"].items()))
    if "scan" in figures:
        print(f"ratio scan {figures['scan']['scan_s'] / figures['scan']['find_s']:.2f}")
    if "search" in figures:
        s = figures["search"]
        print(f"ratio search-cli {s['search_cli_s'] / s['restic_find_s']:.4f}")
        print(f"ratio search-query {s['search_query_s'] / s['restic_find_s']:.5f}")


if __name__ == "__main__":
    main()
