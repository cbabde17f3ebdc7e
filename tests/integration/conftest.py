"""Session fixtures for provider tests: real S3, WebDAV and SFTP servers on loopback, no Temporal."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from syncoxide.config import Settings, load_settings
from tests.servers import HttpServer, free_port, start_s3, start_webdav
from tests.sshd import SshServer, start_sshd


@pytest.fixture(scope="session")
def provider_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_settings(home=tmp_path_factory.mktemp("provider-home"))


@pytest.fixture(scope="session")
def rclone_bin(provider_settings: Settings) -> str:
    found = provider_settings.tools.rclone
    if not found:
        pytest.fail("rclone is not installed: run scripts/setup.sh (it builds rclone with go install)")
    return found


@pytest.fixture(scope="session")
def s3_server(rclone_bin: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    server = start_s3(rclone_bin, tmp_path_factory.mktemp("s3-server"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def webdav_server(rclone_bin: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    server = start_webdav(rclone_bin, tmp_path_factory.mktemp("webdav-server"))
    yield server
    server.stop()


@dataclass
class SftpServer:
    ssh: SshServer
    key_file: Path
    known_hosts: Path


@pytest.fixture(scope="session")
def sftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SftpServer]:
    """Our own sshd (the `stack` fixture's would pull in Temporal)."""
    workdir = tmp_path_factory.mktemp("provider-sshd") / "sshd"
    server = start_sshd(workdir, free_port())
    yield SftpServer(ssh=server, key_file=workdir / "user_key", known_hosts=workdir / "known_hosts")
    server.stop()
