"""rclone copy/sync vs syncoxide copy/sync, local -> SFTP and local -> S3, on the same data in one run.

    python bench/sync/run.py [--quick] [--only small|large|backup-dir|bisync] [--targets local,sftp,s3] [--json]

Targets: a local folder (the local provider reaches every path without following symlinks), SFTP, S3.
Datasets: 10,000 small files (1-8 KiB in 100 directories) and two 1 GB files (--quick: 1,000 small
files and two 64 MiB files). Servers: OpenSSH's sshd and `rclone serve s3` on loopback, started as
the tests start them; syncoxide's journal goes to an embedded PostgreSQL under a temporary home.
Both tools get the same parallelism (4 transfers; rclone's 8 checkers) and start from an empty
destination; each measures a first run and a no-change run. rclone is run as a CLI (its process
start is included, a few ms); syncoxide is called in-process (`run_sync`, what the CLI and the
activity call). Ends with one line per comparison: `ratio <what> <syncoxide/rclone>`. For SFTP a
second anchor, `rclone --sftp-disable-hashcheck`, is also shown: by default rclone verifies each SFTP
upload with a remote md5sum/sha1sum, which dominates its small-file time here; syncoxide always verifies
(reading small files back, md5sum over SSH for large ones).

bisync: `rclone bisync` against syncoxide's bisync on the small dataset: the --resync run, a no-change run
and a run after changes (see ``bisync_round``).

backup-dir: both destinations hold the small dataset; then a tenth of its files change and a twentieth go,
and `rclone sync --backup-dir` (a sibling folder on the same remote) is timed against syncoxide sync with
`backup_dir` (a folder at the destination's root): both move each replaced or deleted file aside.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from syncoxide.config import Settings  # noqa: E402
from syncoxide.providers import ProviderSpec  # noqa: E402
from syncoxide.store import embedded  # noqa: E402
from syncoxide.sync import MaxDelete, Mode, SyncOptions, SyncRequest, run_sync  # noqa: E402
from tests.servers import S3_ACCESS_KEY, S3_BUCKET, S3_SECRET_KEY, free_port, start_s3  # noqa: E402
from tests.sshd import start_sshd  # noqa: E402

MiB = 1024 * 1024
TRANSFERS = 4


def make_small(root: Path, count: int) -> None:
    rng = random.Random(7)
    for i in range(count):
        path = root / f"d{i % 100:03d}" / f"f{i:05d}.dat"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(rng.randint(1024, 8192)))


def make_large(root: Path, mib: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for name in ("one.bin", "two.bin"):
        with open(root / name, "wb") as out:
            for _ in range(mib):
                out.write(os.urandom(MiB))


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


class Bench:
    def __init__(self, work: Path, rclone: str):
        self.work = work
        self.rclone = rclone
        self.sshd = start_sshd(work / "sshd", free_port())
        self.s3 = start_s3(rclone, work / "s3srv")
        home = work / "home"
        base = Settings(home=home)
        self.pgdata = base.pgdata
        self.settings = base.model_copy(update={"database_url": embedded.start(base.pgdata)})
        os.environ["BENCH_S3_KEY"], os.environ["BENCH_S3_SECRET"] = S3_ACCESS_KEY, S3_SECRET_KEY
        self.conf = work / "rclone.conf"
        key, known = work / "sshd" / "user_key", work / "sshd" / "known_hosts"
        self.conf.write_text(
            f"[sftp]\ntype = sftp\nhost = 127.0.0.1\nport = {self.sshd.port}\nuser = {self.sshd.user}\n"
            f"key_file = {key}\nknown_hosts_file = {known}\n\n"
            f"[s3]\ntype = s3\nprovider = Other\naccess_key_id = {S3_ACCESS_KEY}\n"
            f"secret_access_key = {S3_SECRET_KEY}\nendpoint = {self.s3.url}\nforce_path_style = true\n"
            f"region = us-east-1\n"
        )
        self.sftp_options = {"key_file": str(key), "known_hosts": str(known)}
        self.counter = 0

    def close(self) -> None:
        self.sshd.stop()
        self.s3.stop()
        embedded.stop(self.pgdata)

    def destination(self, target: str) -> tuple[str, ProviderSpec]:
        """A fresh, empty destination: (rclone remote path, syncoxide spec)."""
        self.counter += 1
        name = f"dst{self.counter}"
        if target == "local":
            path = self.work / "local" / name
            path.mkdir(parents=True)
            return str(path), ProviderSpec(kind="local", location=str(path))
        if target == "sftp":
            path = self.work / "sftp" / name
            path.mkdir(parents=True)
            return f"sftp:{path}", ProviderSpec(
                kind="sftp",
                location=f"sftp://{self.sshd.user}@127.0.0.1:{self.sshd.port}{path}",
                options=self.sftp_options,
            )
        (self.s3.root / S3_BUCKET / name).mkdir(parents=True)
        return f"s3:{S3_BUCKET}/{name}", ProviderSpec(
            kind="s3",
            location=f"s3://{S3_BUCKET}/{name}",
            options={"endpoint_url": self.s3.url, "region": "us-east-1", "addressing_style": "path"},
            secrets={"access_key_id": "env:BENCH_S3_KEY", "secret_access_key": "env:BENCH_S3_SECRET"},
        )

    def rclone_run(self, verb: str, source: Path, remote: str, *extra: str) -> None:
        subprocess.run(
            [
                self.rclone,
                "--config",
                str(self.conf),
                verb,
                str(source),
                remote,
                "--transfers",
                str(TRANSFERS),
                "--checkers",
                "8",
                "-q",
                *extra,
            ],
            check=True,
        )

    def syncoxide_run(
        self, mode: Mode, source: Path, spec: ProviderSpec, backup_dir: str | None = None, resync: bool = False
    ) -> None:
        request = SyncRequest(
            source=ProviderSpec(kind="local", location=str(source)),
            destination=spec,
            mode=mode,
            options=SyncOptions(
                transfers=TRANSFERS, max_delete=MaxDelete(percent=100), backup_dir=backup_dir, resync=resync
            ),
        )
        result = run_sync(self.settings, request)
        if result.errors:
            raise SystemExit(f"syncoxide {mode.value} failed: {result.errors[0]}")


def change_some(root: Path) -> tuple[int, int]:
    """A tenth of the small files get new content (and a later time), a twentieth are deleted."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    changed, deleted = files[::10], files[5::20]
    rng = random.Random(11)
    for path in changed:
        path.write_bytes(rng.randbytes(rng.randint(1024, 8192)))
        os.utime(path, (time.time() + 60, time.time() + 60))
    for path in deleted:
        path.unlink()
    return len(changed), len(deleted)


def backup_dir_round(bench: Bench, source: Path, target: str, quiet: bool) -> list[dict[str, object]]:
    remote, spec = bench.destination(target)
    fast = ["--sftp-disable-hashcheck"] if target == "sftp" else []
    unchecked = bench.destination(target)[0] if fast else None
    for anchor in filter(None, (remote, unchecked)):
        bench.rclone_run("sync", source, anchor, *fast)  # the starting point, not timed
    bench.syncoxide_run(Mode.sync, source, spec)
    changed, deleted = change_some(source)
    r = timed(lambda: bench.rclone_run("sync", source, remote, "--backup-dir", f"{remote}-versions"))
    s = timed(lambda: bench.syncoxide_run(Mode.sync, source, spec, backup_dir=".versions"))
    rows = [
        {
            "what": f"sync-backup-dir-{target}",
            "syncoxide_s": round(s, 3),
            "rclone_s": round(r, 3),
            "ratio": round(s / r, 3),
        }
    ]
    line = (
        f"sync --backup-dir {target:4} ({changed} replaced, {deleted} deleted)  syncoxide {s:7.2f} s  rclone {r:7.2f} s"
    )
    if unchecked is not None:
        u = timed(lambda: bench.rclone_run("sync", source, unchecked, "--backup-dir", f"{unchecked}-versions", *fast))
        rows.append(
            {
                "what": f"sync-backup-dir-{target}-vs-rclone-no-hashcheck",
                "syncoxide_s": round(s, 3),
                "rclone_s": round(u, 3),
                "ratio": round(s / u, 3),
            }
        )
        line += f"  rclone --sftp-disable-hashcheck {u:7.2f} s"
    if not quiet:
        print(line, flush=True)
    return rows


def bisync_round(bench: Bench, source: Path, target: str, quiet: bool) -> list[dict[str, object]]:
    """rclone bisync vs syncoxide bisync, path1 a local copy of the data each, path2 an empty destination each:
    the first run (--resync), a no-change run, then a run after a tenth of path1's files change and a twentieth
    go (the same changes on both copies)."""
    rows: list[dict[str, object]] = []
    mine, theirs = bench.work / f"bisync-syncoxide-{target}", bench.work / f"bisync-rclone-{target}"
    for copy in (mine, theirs):
        shutil.copytree(source, copy)
    remote, _ = bench.destination(target)
    _, spec = bench.destination(target)
    workdir = ["--workdir", str(bench.work / f"bisync-workdir-{target}")]
    for run in ("resync", "no-change", "changes"):
        if run == "changes":
            change_some(mine)
            change_some(theirs)
        extra = ["--resync"] if run == "resync" else []
        r = timed(lambda: bench.rclone_run("bisync", theirs, remote, *workdir, *extra))  # noqa: B023
        s = timed(lambda: bench.syncoxide_run(Mode.bisync, mine, spec, resync=run == "resync"))  # noqa: B023
        rows.append(
            {
                "what": f"bisync-small-{target}-{run}",
                "syncoxide_s": round(s, 3),
                "rclone_s": round(r, 3),
                "ratio": round(s / r, 3),
            }
        )
        if not quiet:
            print(f"bisync small {target:4} {run:9}  syncoxide {s:7.2f} s  rclone {r:7.2f} s", flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 small files and two 64 MiB files")
    parser.add_argument("--only", choices=["small", "large", "backup-dir", "bisync"], help="one dataset")
    parser.add_argument("--targets", default="sftp,s3", help="comma-separated: local, sftp, s3")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rclone = Settings().tools.rclone
    if not rclone:
        raise SystemExit("rclone is not installed: run scripts/setup.sh")
    work = Path(tempfile.mkdtemp(prefix="sxbench-sync-", dir="/tmp"))
    count = 1000 if args.quick else 10_000
    datasets = {
        "small": (lambda p: make_small(p, count)),
        "large": (lambda p: make_large(p, 64 if args.quick else 1024)),
        "backup-dir": (lambda p: make_small(p, count)),
        "bisync": (lambda p: make_small(p, count)),
    }
    if args.only:
        datasets = {args.only: datasets[args.only]}
    start_load = os.getloadavg()  # the machine may be shared: figures are read with it
    bench = Bench(work, rclone)
    rows: list[dict[str, object]] = []
    try:
        for dataset, make in datasets.items():
            source = work / "data" / dataset
            make(source)
            for target in args.targets.split(","):
                if dataset == "backup-dir":
                    rows += backup_dir_round(bench, source, target, args.json)
                    continue
                if dataset == "bisync":
                    rows += bisync_round(bench, source, target, args.json)
                    continue
                for verb, mode in (("copy", Mode.copy), ("sync", Mode.sync)):
                    remote, _ = bench.destination(target)
                    _, spec = bench.destination(target)
                    # rclone's SFTP backend checks each upload by running md5sum/sha1sum over SSH, which
                    # costs it ~0.1 s per file here; the second anchor turns that check off
                    unchecked = bench.destination(target)[0] if target == "sftp" else None
                    for run in ("first", "no-change"):
                        r = timed(lambda: bench.rclone_run(verb, source, remote))  # noqa: B023
                        s = timed(lambda: bench.syncoxide_run(mode, source, spec))  # noqa: B023
                        rows.append(
                            {
                                "what": f"{verb}-{dataset}-{target}-{run}",
                                "syncoxide_s": round(s, 3),
                                "rclone_s": round(r, 3),
                                "ratio": round(s / r, 3),
                            }
                        )
                        line = f"{verb:4} {dataset:5} {target:4} {run:9}  syncoxide {s:7.2f} s  rclone {r:7.2f} s"
                        if unchecked is not None:
                            u = timed(
                                lambda: bench.rclone_run(
                                    verb,  # noqa: B023
                                    source,  # noqa: B023
                                    unchecked,  # noqa: B023
                                    "--sftp-disable-hashcheck",
                                )
                            )
                            rows.append(
                                {
                                    "what": f"{verb}-{dataset}-{target}-{run}-vs-rclone-no-hashcheck",
                                    "syncoxide_s": round(s, 3),
                                    "rclone_s": round(u, 3),
                                    "ratio": round(s / u, 3),
                                }
                            )
                            line += f"  rclone --sftp-disable-hashcheck {u:7.2f} s"
                        if not args.json:
                            print(line, flush=True)
    finally:
        bench.close()
        shutil.rmtree(work, ignore_errors=True)
    load = {"at_start": start_load, "at_end": os.getloadavg()}
    if args.json:
        print(
            json.dumps({"quick": args.quick, "transfers": TRANSFERS, "load_average": load, "results": rows}, indent=2)
        )
    else:
        for row in rows:
            print(f"ratio {row['what']} {row['ratio']:.2f}")
        print(
            "load average (1, 5, 15 min) at start {:.2f} {:.2f} {:.2f}, at end {:.2f} {:.2f} {:.2f}".format(
                *load["at_start"], *load["at_end"]
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
