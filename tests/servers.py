"""Real servers on loopback ports for provider tests: `rclone serve s3` and `rclone serve webdav`.

Each serves a temporary directory with fixed test credentials, is waited for until it answers
HTTP, and is stopped by ``stop()``.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

S3_ACCESS_KEY = "syncoxide-test-key"
S3_SECRET_KEY = "syncoxide-test-secret-0123456789"
S3_BUCKET = "bucket"
WEBDAV_USER = "syncoxide"
WEBDAV_PASSWORD = "webdav-test-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class HttpServer:
    url: str
    root: Path
    """The directory the server serves (tests may look at it directly)."""
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _wait_http(server: HttpServer, timeout_s: float = 30) -> None:
    """Until the server answers any HTTP status (401/403 count: it is up)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited with {server.process.returncode}: {server.log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(server.url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"server at {server.url} did not answer: {server.log.read_text()[-2000:]}") from None
            time.sleep(0.1)


def _start_rclone(rclone: str, args: list[str], root: Path, workdir: Path, name: str) -> HttpServer:
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"{name}.log"
    config = workdir / "rclone-empty.conf"
    config.touch()
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [rclone, "--config", str(config), *args, "--addr", f"127.0.0.1:{port}", str(root)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = HttpServer(url=f"http://127.0.0.1:{port}", root=root, process=process, log=log)
    _wait_http(server)
    return server


def start_s3(rclone: str, workdir: Path) -> HttpServer:
    """`rclone serve s3` over workdir/s3; top-level directories are buckets (S3_BUCKET exists)."""
    root = workdir / "s3"
    (root / S3_BUCKET).mkdir(parents=True, exist_ok=True)
    return _start_rclone(
        rclone,
        ["serve", "s3", "--auth-key", f"{S3_ACCESS_KEY},{S3_SECRET_KEY}", "--force-path-style=true"],
        root,
        workdir,
        "s3",
    )


def start_webdav(rclone: str, workdir: Path) -> HttpServer:
    """`rclone serve webdav` over workdir/webdav with basic auth; ETags are the files' MD5."""
    root = workdir / "webdav"
    root.mkdir(parents=True, exist_ok=True)
    return _start_rclone(
        rclone,
        ["serve", "webdav", "--user", WEBDAV_USER, "--pass", WEBDAV_PASSWORD, "--etag-hash", "md5"],
        root,
        workdir,
        "webdav",
    )
