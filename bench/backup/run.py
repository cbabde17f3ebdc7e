"""Raw borg/restic vs syncoxide's BackupWorkflow/RestoreWorkflow, end to end, on the same data.

    python bench/backup/run.py [--quick] [--repeat N] [--engine borg|restic] [--json]

Starts its own stack (`syncoxide dev up --no-dashboard` on free ports, a temporary data dir),
times first backup, incremental no-change backup and full restore for the raw engine CLI and
for the syncoxide CLI, and ends with one line per comparison: `ratio <what> <syncoxide/anchor>`.

Rounds alternate between the two sides (which one goes first alternates too), and every timed
step starts from the same state: no workflow running (a backup starts a catalog ingest that goes
on after the CLI returns), the dataset in the page cache (borg drops what it reads from the
cache, so one warm-up at the start would only help the first run), earlier writes on disk.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: own_stack
from own_stack import own_stack  # noqa: E402

from syncoxide.config import Settings  # noqa: E402
from syncoxide.orchestration import client as temporal  # noqa: E402

MiB = 1024 * 1024
PASSPHRASE = "bench-passphrase-not-secret"
IDLE_TIMEOUT_S = 600
WARNING_CODES = {"borg": 1, "restic": 3}  # borg: warnings; restic: some files unreadable; the CLI: none


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
    """Read the dataset into the page cache, which borg empties of what it backs up (posix_fadvise)."""
    for path in root.rglob("*"):
        if path.is_file():
            with open(path, "rb") as data:
                while data.read(8 * MiB):
                    pass


async def wait_idle(settings: Settings) -> None:
    """Until no workflow runs on the stack."""
    client = await temporal.connect(settings)
    deadline = time.monotonic() + IDLE_TIMEOUT_S
    while (await client.count_workflows("ExecutionStatus = 'Running'")).count:
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: workflows still running after {IDLE_TIMEOUT_S}s")
        await asyncio.sleep(0.2)


@dataclass
class Stand:
    """What every timed step shares: the stack's settings, the dataset, the work dir, the environment."""

    settings: Settings
    data: Path
    work: Path
    env: dict[str, str]

    def settle(self) -> None:
        """The same start for every step: nothing running in the background, data cached, writes on disk."""
        asyncio.run(wait_idle(self.settings))
        warm(self.data)
        os.sync()

    def timed(self, argv: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> tuple[float, str]:
        """Seconds ``argv`` took from a settled start, and its output."""
        self.settle()
        started = time.perf_counter()
        done = subprocess.run(argv, env=env or self.env, cwd=cwd, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        if done.returncode not in (0, WARNING_CODES.get(Path(argv[0]).name)):
            raise SystemExit(f"bench: {' '.join(argv[:3])} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
        return elapsed, done.stdout


Side = Callable[[Stand, str, int], dict[str, float]]


def raw_engine(stand: Stand, engine: str, i: int) -> dict[str, float]:
    repo = stand.work / f"raw-{engine}-{i}"
    out = stand.work / f"raw-{engine}-restore-{i}"
    out.mkdir()
    data = str(stand.data)
    if engine == "borg":
        borg = stand.settings.tools.borg
        e = {**stand.env, "BORG_PASSPHRASE": PASSPHRASE, "BORG_BASE_DIR": str(stand.work / "raw-borg-base")}
        subprocess.run([borg, "init", "--encryption=repokey-blake2", str(repo)], env=e, check=True, capture_output=True)
        first, _ = stand.timed([borg, "create", "--compression", "auto,zstd,3", f"{repo}::one", data], e)
        second, _ = stand.timed([borg, "create", "--compression", "auto,zstd,3", f"{repo}::two", data], e)
        restore, _ = stand.timed([borg, "extract", f"{repo}::one"], e, cwd=str(out))
    else:
        restic = stand.settings.tools.restic
        e = {
            **stand.env,
            "RESTIC_PASSWORD": PASSPHRASE,
            "RESTIC_REPOSITORY": str(repo),
            "RESTIC_CACHE_DIR": str(stand.work / "raw-restic-cache"),
        }
        subprocess.run([restic, "init"], env=e, check=True, capture_output=True)
        first, _ = stand.timed([restic, "backup", "--json", data], e)
        second, _ = stand.timed([restic, "backup", "--json", data], e)
        restore, _ = stand.timed([restic, "restore", "latest", "--target", str(out)], e)
    return {"first_backup": first, "incremental_backup": second, "restore": restore}


def syncoxide_engine(stand: Stand, engine: str, i: int) -> dict[str, float]:
    cli = [sys.executable, "-m", "syncoxide"]
    secret = stand.work / "passphrase"
    secret.write_text(PASSPHRASE + "\n")
    repo = stand.work / f"sx-{engine}-{i}"
    name = f"bench-{engine}-{i}"
    subprocess.run(
        [
            *cli,
            "repo",
            "init",
            "--engine",
            engine,
            "--repo",
            str(repo),
            "--name",
            name,
            "--passphrase-file",
            str(secret),
        ],
        env=stand.env,
        check=True,
        capture_output=True,
    )
    backup = [*cli, "backup", "--repo", name, "--source", str(stand.data), "--json"]
    first, output = stand.timed(backup)
    snapshot = json.loads(output)["snapshot_id"]
    second, _ = stand.timed(backup)
    restore, _ = stand.timed(
        [
            *cli,
            "restore",
            "--repo",
            name,
            "--snapshot",
            snapshot,
            "--target",
            str(stand.work / f"sx-{engine}-restore-{i}"),
            "--json",
        ]
    )
    return {"first_backup": first, "incremental_backup": second, "restore": restore}


def compare(stand: Stand, engine: str, repeat: int) -> dict[str, dict[str, float]]:
    """``repeat`` rounds of both sides, taking turns at going first; the median of each figure per side."""
    sides: dict[str, Side] = {"anchor": raw_engine, "syncoxide": syncoxide_engine}
    rounds: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
    for i in range(repeat):
        for side in list(sides) if i % 2 == 0 else list(sides)[::-1]:
            rounds[side].append(sides[side](stand, engine, i))
    return {
        side: {key: statistics.median(r[key] for r in figures) for key in figures[0]}
        for side, figures in rounds.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="~250 MB instead of ~1.2 GB")
    parser.add_argument("--engine", choices=["borg", "restic"], action="append")
    parser.add_argument("--repeat", type=int, default=1, help="rounds per side; the median is reported")
    parser.add_argument("--json", action="store_true", help="print all figures as JSON too")
    args = parser.parse_args()
    engines = args.engine or ["borg", "restic"]

    work = Path(tempfile.mkdtemp(prefix="sxbench-", dir="/tmp"))
    try:
        data = work / "data"
        quick, full = dict(small=5000, big_mib=200, dup_copies=1), dict(small=30000, big_mib=1000, dup_copies=2)
        sizes = quick if args.quick else full
        total = make_dataset(data, **sizes)
        files = sizes["small"] + 4 + sizes["dup_copies"]
        print(f"dataset: {total / MiB:.0f} MiB in {files} files", file=sys.stderr)
        with own_stack(work) as env:
            stand = Stand(settings=Settings(), data=data, work=work, env=env)
            figures = {engine: compare(stand, engine, args.repeat) for engine in engines}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps({"dataset_bytes": total, "seconds": figures}, indent=2))
    for engine, pair in figures.items():
        for what, anchor in pair["anchor"].items():
            ours = pair["syncoxide"][what]
            print(f"time {engine}-{what} anchor={anchor:.2f}s syncoxide={ours:.2f}s ({ours - anchor:+.2f}s)")
    for engine, pair in figures.items():
        for what, anchor in pair["anchor"].items():
            print(f"ratio {engine}-{what} {pair['syncoxide'][what] / anchor:.2f}")


if __name__ == "__main__":
    main()
