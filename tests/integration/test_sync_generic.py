"""Transfers to a WebDAV destination (`rclone serve webdav`), the path every provider without its own
transfer takes: verified, moved into place, and what a killed run left is removed by the next one.

A WebDAV destination does not resume: `rclone serve webdav`, like most servers, truncates on every PUT
(a Content-Range is ignored), so a file interrupted mid-way is sent again whole.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import pytest
import requests

from syncoxide.providers import ProviderSpec
from syncoxide.sync import Mode, SyncOptions, SyncRequest, run_sync
from tests.integration.killed_run import kill_when
from tests.integration.sync_helpers import *  # noqa: F403 - fixtures
from tests.integration.sync_helpers import SideMaker
from tests.integration.test_sync_failures import temporaries
from tests.servers import WEBDAV_PASSWORD, WEBDAV_USER, HttpServer

MIB = 1024 * 1024
PASSWORD_ENV = "SYNCOXIDE_TEST_GENERIC_WEBDAV_PASSWORD"


@pytest.fixture
def webdav_side(webdav_server: HttpServer) -> tuple[ProviderSpec, Path]:
    os.environ[PASSWORD_ENV] = WEBDAV_PASSWORD
    name = f"dst-{secrets.token_hex(4)}"
    made = requests.request("MKCOL", f"{webdav_server.url}/{name}/", auth=(WEBDAV_USER, WEBDAV_PASSWORD))
    assert made.status_code == 201
    spec = ProviderSpec(
        kind="webdav",
        location=f"{webdav_server.url}/{name}",
        options={"user": WEBDAV_USER, "etag_hash": "md5"},
        secrets={"password": f"env:{PASSWORD_ENV}"},
    )
    return spec, webdav_server.root / name


def test_files_land_verified_with_no_temporary_left(sync_settings, make_side: SideMaker, webdav_side):
    spec, root = webdav_side
    src = make_side("local", "src")
    data = os.urandom(9 * MIB + 3)
    src.write("big.bin", data, mtime=1_700_000_000)
    src.write("d/small.txt", b"small\n")
    request = SyncRequest(
        source=src.spec, destination=spec, mode=Mode.copy, options=SyncOptions(large_file=8 * MIB, chunk_size=5 * MIB)
    )
    result = run_sync(sync_settings, request)
    assert result.errors == []
    assert (root / "big.bin").read_bytes() == data and (root / "d/small.txt").read_bytes() == b"small\n"
    assert int((root / "big.bin").stat().st_mtime) == 1_700_000_000
    assert temporaries(root) == []
    assert run_sync(sync_settings, request).plan.actions == []


def test_what_a_killed_transfer_left_is_removed_and_the_file_sent_whole(
    sync_settings, make_side: SideMaker, webdav_side
):
    spec, root = webdav_side
    src = make_side("local", "src")
    data = os.urandom(40 * MIB + 17)
    src.write("big.bin", data)
    options = SyncOptions(large_file=8 * MIB, chunk_size=5 * MIB, bwlimit=8 * MIB)
    request = SyncRequest(source=src.spec, destination=spec, mode=Mode.copy, options=options)
    kill_when(sync_settings, request, lambda: sum(p.stat().st_size for p in temporaries(root)) >= 8 * MIB)
    assert not (root / "big.bin").exists()  # nothing at the final path
    time.sleep(1)
    assert temporaries(root), "the server kept the partial upload (else there is nothing to clean up)"
    unlimited = options.model_copy(update={"bwlimit": None})
    result = run_sync(sync_settings, request.model_copy(update={"options": unlimited}))
    assert result.errors == [] and result.reconciled >= 1
    assert result.resumed_bytes == 0 and result.transferred_bytes == len(data)
    assert (root / "big.bin").read_bytes() == data
    deadline = time.monotonic() + 10  # the server may still be closing the killed upload
    while temporaries(root) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert temporaries(root) == []


def test_an_rclone_destination_gets_verified_files_and_no_temporary(sync_settings, make_side: SideMaker, scratch: Path):
    conf = scratch / "rclone.conf"
    conf.write_text("[loc]\ntype = local\n")
    root = scratch / "rclone-dst"
    root.mkdir()
    spec = ProviderSpec(kind="rclone", location=f"loc:{root}", options={"config": str(conf)})
    src = make_side("local", "src")
    src.write("a/b.txt", b"through rclone\n", mtime=1_700_000_000)
    result = run_sync(sync_settings, SyncRequest(source=src.spec, destination=spec, mode=Mode.copy))
    assert result.errors == []
    assert (root / "a/b.txt").read_bytes() == b"through rclone\n"
    assert int((root / "a/b.txt").stat().st_mtime) == 1_700_000_000
    assert temporaries(root) == []
