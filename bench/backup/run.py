"""Raw borg/restic vs syncoxide's BackupWorkflow/RestoreWorkflow, end to end, on the same data.

    python bench/backup/run.py [--quick] [--repeat N] [--engine borg|restic] [--json]

Starts its own stack (`syncoxide dev up --no-dashboard` on free ports, a temporary data dir),
times first backup, incremental no-change backup and full restore for the raw engine CLI and
for the syncoxide CLI, and ends with one line per comparison: `ratio <what> <syncoxide/anchor>`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from syncoxide.config import Settings

MiB = 1024 * 1024
PASSPHRASE = "bench-passphrase-not-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_dataset(root: Path, *, small: int, big_mib: int, dup_copies: int) -> int:
    """Many small files, a few large random ones, and duplicated content; returns total bytes."""
    total = 0
    for i in range(small):
        path = root / "small" / f"d{i % 100:03d}" / f"f{i:06d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = os.urandom(512 + (i * 37) % 8192)
        path.write_bytes(data)
        total += len(data)
    big = root / "big"
    big.mkdir()
    for i in range(4):
        with open(big / f"random-{i}.bin", "wb") as out:
            for _ in range(big_mib // 4):
                out.write(os.urandom(MiB))
        total += (big_mib // 4) * MiB
    for i in range(dup_copies):
        shutil.copyfile(big / "random-0.bin", big / f"copy-{i}.bin")
        total += (big_mib // 4) * MiB
    return total


def warm(root: Path) -> None:
    """Read the dataset once so neither side pays for the first read from disk."""
    for path in root.rglob("*"):
        if path.is_file():
            with open(path, "rb") as data:
                while data.read(8 * MiB):
                    pass


def timed(argv: list[str], env: dict[str, str], cwd: str | None = None) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    warning = 1 if Path(argv[0]).name == "borg" else 3  # borg: warnings; restic: some files unreadable
    if done.returncode not in (0, warning):
        raise SystemExit(f"bench: {' '.join(argv[:3])} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return elapsed


def median_of(repeat: int, measure, *args) -> dict[str, float]:
    """Run ``measure(*args, round)`` ``repeat`` times; the median of each figure."""
    rounds = [measure(*args, i) for i in range(repeat)]
    return {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}


def raw_engine(engine: str, tools: Settings, data: Path, work: Path, env: dict[str, str], i: int) -> dict[str, float]:
    repo = work / f"raw-{engine}-{i}"
    out = work / f"raw-{engine}-restore-{i}"
    out.mkdir()
    if engine == "borg":
        borg = tools.tools.borg
        e = {**env, "BORG_PASSPHRASE": PASSPHRASE, "BORG_BASE_DIR": str(work / "raw-borg-base")}
        timed([borg, "init", "--encryption=repokey-blake2", str(repo)], e)
        first = timed([borg, "create", "--compression", "auto,zstd,3", f"{repo}::one", str(data)], e)
        second = timed([borg, "create", "--compression", "auto,zstd,3", f"{repo}::two", str(data)], e)
        restore = timed([borg, "extract", f"{repo}::one"], e, cwd=str(out))
    else:
        restic = tools.tools.restic
        e = {**env, "RESTIC_PASSWORD": PASSPHRASE, "RESTIC_REPOSITORY": str(repo),
             "RESTIC_CACHE_DIR": str(work / "raw-restic-cache")}  # fmt: skip
        timed([restic, "init"], e)
        first = timed([restic, "backup", "--json", str(data)], e)
        second = timed([restic, "backup", "--json", str(data)], e)
        restore = timed([restic, "restore", "latest", "--target", str(out)], e)
    return {"first_backup": first, "incremental_backup": second, "restore": restore}


def syncoxide_engine(engine: str, data: Path, work: Path, env: dict[str, str], i: int) -> dict[str, float]:
    cli = [sys.executable, "-m", "syncoxide.cli"]
    secret = work / "passphrase"
    secret.write_text(PASSPHRASE + "\n")
    repo = work / f"sx-{engine}-{i}"
    name = f"bench-{engine}-{i}"
    timed([*cli, "repo", "init", "--engine", engine, "--repo", str(repo), "--name", name,
           "--passphrase-file", str(secret)], env)  # fmt: skip
    backup = [*cli, "backup", "--repo", name, "--source", str(data), "--json"]
    started = time.perf_counter()
    result = subprocess.run(backup, env=env, capture_output=True, text=True, check=True)
    first = time.perf_counter() - started
    snapshot = json.loads(result.stdout)["snapshot_id"]
    second = timed(backup, env)
    restore = timed([*cli, "restore", "--repo", name, "--snapshot", snapshot,
                     "--target", str(work / f"sx-{engine}-restore-{i}"), "--json"], env)  # fmt: skip
    return {"first_backup": first, "incremental_backup": second, "restore": restore}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="~250 MB instead of ~1.2 GB")
    parser.add_argument("--engine", choices=["borg", "restic"], action="append")
    parser.add_argument("--repeat", type=int, default=1, help="rounds per side; the median is reported")
    parser.add_argument("--json", action="store_true", help="print all figures as JSON too")
    args = parser.parse_args()
    engines = args.engine or ["borg", "restic"]

    work = Path(tempfile.mkdtemp(prefix="sxbench-", dir="/tmp"))
    home = work / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCOXIDE_")}
    env["SYNCOXIDE_HOME"] = str(home)
    env["SYNCOXIDE_METRICS_ADDRESS"] = ""
    for port in ("TEMPORAL_PORT", "TEMPORAL_UI_PORT", "DASHBOARD_PORT"):
        env[f"SYNCOXIDE_{port}"] = str(free_port())
    tools = Settings(home=home)
    try:
        data = work / "data"
        quick, full = dict(small=5000, big_mib=200, dup_copies=1), dict(small=30000, big_mib=1000, dup_copies=2)
        sizes = quick if args.quick else full
        total = make_dataset(data, **sizes)
        files = sizes["small"] + 4 + sizes["dup_copies"]
        print(f"dataset: {total / MiB:.0f} MiB in {files} files", file=sys.stderr)
        warm(data)
        subprocess.run([sys.executable, "-m", "syncoxide.cli", "dev", "up", "--no-dashboard"], env=env, check=True,
                       capture_output=True)  # fmt: skip
        figures: dict[str, dict[str, dict[str, float]]] = {}
        for engine in engines:
            figures[engine] = {
                "anchor": median_of(args.repeat, raw_engine, engine, tools, data, work, env),
                "syncoxide": median_of(args.repeat, syncoxide_engine, engine, data, work, env),
            }
        if args.json:
            print(json.dumps({"dataset_bytes": total, "seconds": figures}, indent=2))
        for engine, pair in figures.items():
            for what, anchor in pair["anchor"].items():
                ours = pair["syncoxide"][what]
                print(f"time {engine}-{what} anchor={anchor:.2f}s syncoxide={ours:.2f}s (+{ours - anchor:.2f}s)")
        for engine, pair in figures.items():
            for what, anchor in pair["anchor"].items():
                print(f"ratio {engine}-{what} {pair['syncoxide'][what] / anchor:.2f}")
    finally:
        subprocess.run([sys.executable, "-m", "syncoxide.cli", "dev", "down"], env=env, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
