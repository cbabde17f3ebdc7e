"""The payload codec's cost: Temporal's plain pydantic payloads (the anchor, no codec) against sealed ones.

    python bench/codec/run.py [--quick] [--runs N] [--json]

On a stack of its own (`dev up`), runs N restic backups and N one-pass syncs through the CLI
(BackupWorkflow and SyncWorkflow with their activities, as users run them). From each run's history it
takes every payload the run wrote, then times in this process:

- per payload: converting each value to and from its JSON payload (what Temporal does without a codec,
  the anchor) against the same plus sealing and opening it: `ratio payload-roundtrip <sealed/plain>`;
- per run: sealing and opening all of a run's payloads once, against the run's own duration in
  Temporal (start to close): `ratio codec-share-backup` and `ratio codec-share-sync`, the part of a
  run the codec takes (a payload is sealed once and opened by the worker that replays it and by the
  client that reads it, so the true part is one to three times this).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: own_stack
from own_stack import own_stack  # noqa: E402

from syncoxide.config import Settings  # noqa: E402
from syncoxide.orchestration import client as temporal  # noqa: E402
from syncoxide.orchestration.codec import ENCODING, EncryptionCodec  # noqa: E402

PASSPHRASE = "bench-passphrase-not-secret"


def make_tree(root: Path, files: int) -> None:
    for i in range(files):
        path = root / f"d{i % 20:02d}" / f"file-{i:05d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * (100 + i % 4000))


def payloads_of(message) -> list:
    """Every Payload inside a protobuf message (events, their inputs, results, failures, heartbeats)."""
    from temporalio.api.common.v1 import Payload

    found = []
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if hasattr(value, "ListFields"):
            items = [value]
        elif hasattr(value, "keys"):  # a map field
            items = list(value.values())
        else:
            items = list(value)
        for item in items:
            if isinstance(item, Payload):
                found.append(item)
            elif hasattr(item, "ListFields"):
                found += payloads_of(item)
    return found


async def history_payloads(settings: Settings, workflow_id: str) -> tuple[list, float]:
    client = await temporal.connect(settings)
    handle = client.get_workflow_handle(workflow_id)
    deadline = time.monotonic() + 600
    while (described := await handle.describe()).close_time is None:
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: {workflow_id} still running after 600s")
        await asyncio.sleep(0.2)
    history = await handle.fetch_history()
    sealed = [p for event in history.events for p in payloads_of(event) if p.metadata.get("encoding") == ENCODING]
    return sealed, (described.close_time - described.start_time).total_seconds()


def cli(env: dict[str, str], *args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "syncoxide", *args, "--json"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench: syncoxide {' '.join(args[:2])} failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout)


def best_of(repeat: int, work) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def measure(codec: EncryptionCodec, sealed: list, repeat: int = 20) -> dict[str, float]:
    from temporalio.contrib.pydantic import pydantic_data_converter

    converter = pydantic_data_converter.payload_converter
    opened = [codec.open(p) for p in sealed]
    values = [converter.from_payloads([p])[0] for p in opened]

    def plain() -> None:
        for value in values:
            converter.from_payloads(converter.to_payloads([value]))

    def with_codec() -> None:
        for value in values:
            [payload] = converter.to_payloads([value])
            converter.from_payloads([codec.open(codec.seal(payload))])

    return {
        "payloads": len(sealed),
        "bytes": sum(len(p.data) for p in opened),
        "plain_s": best_of(repeat, plain),
        "sealed_s": best_of(repeat, with_codec),
        "codec_s": best_of(repeat, lambda: [codec.open(codec.seal(p)) for p in opened]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 files and 2 runs of each kind")
    parser.add_argument("--runs", type=int, help="runs of each kind (default 2 quick, 5 otherwise)")
    parser.add_argument("--json", action="store_true", help="print all figures as JSON too")
    args = parser.parse_args()
    runs = args.runs or (2 if args.quick else 5)
    work = Path(tempfile.mkdtemp(prefix="sxbench-codec-", dir="/tmp"))
    make_tree(work / "data", 200 if args.quick else 5000)
    (work / "pass").write_text(PASSPHRASE + "\n")
    figures: dict[str, list[dict]] = {"backup": [], "sync": []}
    try:
        run_all(work, runs, figures)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(figures, args.json)


def run_all(work: Path, runs: int, figures: dict[str, list[dict]]) -> None:
    with own_stack(work) as env:
        settings = Settings()
        codec = temporal.data_converter(settings).payload_codec
        assert isinstance(codec, EncryptionCodec)
        cli(
            env,
            "repo",
            "init",
            "--engine",
            "restic",
            "--repo",
            str(work / "repo"),
            "--name",
            "bench",
            "--passphrase-file",
            str(work / "pass"),
        )
        for i in range(runs):
            run_id = cli(env, "backup", "--repo", "bench", "--source", str(work / "data"))["run_id"]
            sealed, took = asyncio.run(history_payloads(settings, run_id))
            figures["backup"].append({"run_s": took, **measure(codec, sealed)})
            pair = cli(env, "sync", "start", str(work / "data"), str(work / f"mirror-{i}"))["workflow_id"]
            sealed, took = asyncio.run(history_payloads(settings, pair))
            figures["sync"].append({"run_s": took, **measure(codec, sealed)})


def report(figures: dict[str, list[dict]], as_json: bool) -> None:
    if as_json:
        print(json.dumps(figures, indent=2))
    for kind, rows in figures.items():
        share = statistics.median(r["codec_s"] / r["run_s"] for r in rows)
        row = rows[len(rows) // 2]
        print(
            f"{kind}: {row['payloads']} sealed payloads, {row['bytes']} bytes, run {row['run_s']:.2f}s,"
            f" codec {row['codec_s'] * 1e3:.2f}ms, JSON alone {row['plain_s'] * 1e3:.2f}ms"
        )
        print(f"ratio payload-roundtrip-{kind} {statistics.median(r['sealed_s'] / r['plain_s'] for r in rows):.2f}")
        print(f"ratio codec-share-{kind} {share:.5f}")


if __name__ == "__main__":
    main()
