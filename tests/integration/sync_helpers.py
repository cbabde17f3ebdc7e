"""Fixtures for the sync tests: PostgreSQL (embedded, no Temporal) and sides on real providers.

Import the fixtures into a test module with ``from tests.integration.sync_helpers import *``.
A side is a provider spec plus the local directory that holds its files, so tests can arrange and
inspect both sides directly.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncoxide.config import Settings
from syncoxide.providers import ProviderSpec, open_provider
from syncoxide.store import embedded
from tests.servers import S3_ACCESS_KEY, S3_BUCKET, S3_SECRET_KEY, HttpServer

S3_SECRET_ENV = "SYNCOXIDE_TEST_SYNC_S3_SECRET"


@dataclass
class SyncSide:
    spec: ProviderSpec
    root: Path
    """where the side's files are on this machine (an S3 bucket prefix is a directory of rclone serve s3)"""

    settings: Settings | None = None
    """for sides whose server caches listings (rclone serve s3): changes go through the provider"""

    def write(self, rel: str, data: bytes, mtime: float | None = None) -> Path:
        path = self.root / rel
        if self.spec.kind == "s3":
            assert self.settings is not None
            with open_provider(self.spec, self.settings) as provider:
                provider.write_bytes(rel, data, mtime=datetime.fromtimestamp(mtime or time.time(), UTC))
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if mtime is not None:
            os.utime(path, (mtime, mtime))
        return path

    def delete(self, rel: str) -> None:
        if self.spec.kind == "s3":
            assert self.settings is not None
            with open_provider(self.spec, self.settings) as provider:
                provider.delete(rel)
        else:
            (self.root / rel).unlink()

    def read(self, rel: str) -> bytes:
        return (self.root / rel).read_bytes()

    def files(self) -> dict[str, bytes]:
        """Every regular file by relative path (S3's metadata sidecars of rclone serve s3 are not files)."""
        found = {}
        for path in sorted(self.root.rglob("*")):
            if path.is_file():
                found[path.relative_to(self.root).as_posix()] = path.read_bytes()
        return found


@pytest.fixture(scope="session")
def sync_settings() -> Iterator[Settings]:
    """Settings with a database: the embedded PostgreSQL under a temporary home."""
    home = Path(tempfile.mkdtemp(prefix="sxs-", dir="/tmp"))
    base = Settings(home=home)
    url = embedded.start(base.pgdata)
    yield base.model_copy(update={"database_url": url})
    embedded.stop(base.pgdata)
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture()
def scratch() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="sxsync-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


SideMaker = Callable[[str, str], SyncSide]


@pytest.fixture()
def make_side(request: pytest.FixtureRequest, scratch: Path, sync_settings: Settings) -> SideMaker:
    """(kind, name) -> an empty side: local, sftp (sshd on loopback) or s3 (rclone serve s3)."""
    counter = iter(range(1_000_000))

    def make(kind: str, name: str) -> SyncSide:
        unique = f"{name}-{next(counter)}-{scratch.name}"
        if kind == "local":
            root = scratch / unique
            root.mkdir(parents=True)
            return SyncSide(ProviderSpec(kind="local", location=str(root)), root)
        if kind == "sftp":
            server = request.getfixturevalue("sftp_server")
            root = scratch / unique
            root.mkdir(parents=True)
            location = f"sftp://{server.ssh.user}@127.0.0.1:{server.ssh.port}{root}"
            options = {"key_file": str(server.key_file), "known_hosts": str(server.known_hosts)}
            return SyncSide(ProviderSpec(kind="sftp", location=location, options=options), root)
        if kind == "s3":
            s3: HttpServer = request.getfixturevalue("s3_server")
            os.environ[S3_SECRET_ENV] = S3_SECRET_KEY
            root = s3.root / S3_BUCKET / unique
            root.mkdir(parents=True)
            spec = ProviderSpec(
                kind="s3",
                location=f"s3://{S3_BUCKET}/{unique}",
                options={
                    "endpoint_url": s3.url,
                    "region": "us-east-1",
                    "addressing_style": "path",
                    "multipart_threshold": 5 * 1024 * 1024,
                    "multipart_chunksize": 5 * 1024 * 1024,
                },
                secrets={"access_key_id": f"env:{S3_ACCESS_KEY_ENV}", "secret_access_key": f"env:{S3_SECRET_ENV}"},
            )
            os.environ[S3_ACCESS_KEY_ENV] = S3_ACCESS_KEY
            return SyncSide(spec, root, sync_settings)
        raise ValueError(kind)

    return make


S3_ACCESS_KEY_ENV = "SYNCOXIDE_TEST_SYNC_S3_KEY"


def ts(text: str) -> float:
    """'2024-01-02T03:04:05' (UTC) -> a POSIX timestamp, for file times tests set."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()
