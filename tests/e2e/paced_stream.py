"""Seeded random bytes written at a steady rate, for backups that must still be running when a test
interrupts them however fast the machine is: ``python paced_stream.py SEED MIB MIB_PER_S``."""

from __future__ import annotations

import hashlib
import random
import shlex
import sys
import time
from pathlib import Path

CHUNK = 256 * 1024


def chunks(seed: int, mib: int):
    rng = random.Random(seed)
    for _ in range(mib * (1024 * 1024 // CHUNK)):
        yield rng.randbytes(CHUNK)


def digest(seed: int, mib: int) -> str:
    """The SHA-256 of what ``python paced_stream.py seed mib ...`` writes."""
    hashed = hashlib.sha256()
    for chunk in chunks(seed, mib):
        hashed.update(chunk)
    return hashed.hexdigest()


def command(seed: int, mib: int, mib_per_s: float) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), str(seed), str(mib), str(mib_per_s)]


def shell_command(seed: int, mib: int, mib_per_s: float) -> str:
    return shlex.join(command(seed, mib, mib_per_s))


def main(seed: int, mib: int, mib_per_s: float) -> None:
    out = sys.stdout.buffer
    started = time.monotonic()
    per_chunk_s = CHUNK / (mib_per_s * 1024 * 1024)
    for i, chunk in enumerate(chunks(seed, mib)):
        out.write(chunk)
        out.flush()
        time.sleep(max(0.0, started + (i + 1) * per_chunk_s - time.monotonic()))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]))
