"""S3 buckets, on `rclone serve s3`: a sync into a bucket that does not exist creates it (as `rclone copy` does),
a dry run does not; a source bucket, or a bisync side with a baseline, that does not exist is a one-line error
naming the bucket."""

from __future__ import annotations

import os
import secrets
from types import SimpleNamespace

import pytest

from syncoxide.providers import ProviderNotFound, ProviderSpec, open_provider
from syncoxide.providers.errors import ProviderError
from syncoxide.sync import Mode, SyncOptions, SyncRequest, run_sync
from tests.e2e.cli import syncoxide
from tests.integration.sync_helpers import *  # noqa: F403 - fixtures
from tests.integration.sync_helpers import SideMaker
from tests.servers import HttpServer


def bucket_spec(s3_spec: ProviderSpec, bucket: str, prefix: str = "") -> ProviderSpec:
    return s3_spec.model_copy(update={"location": f"s3://{bucket}/{prefix}".rstrip("/")})


def fresh_bucket() -> str:
    return f"made-{secrets.token_hex(4)}"


def test_a_sync_into_a_missing_bucket_creates_it_and_a_dry_run_does_not(
    sync_settings, make_side: SideMaker, s3_server: HttpServer
):
    src, s3 = make_side("local", "src"), make_side("s3", "any")
    src.write("a.txt", b"alpha")
    src.write("docs/b.txt", b"bravo")
    bucket = fresh_bucket()
    destination = bucket_spec(s3.spec, bucket, "photos/2024")

    dry = run_sync(
        sync_settings,
        SyncRequest(source=src.spec, destination=destination, mode=Mode.sync, options=SyncOptions(dry_run=True)),
    )
    assert sorted(a.path for a in dry.plan.actions) == ["a.txt", "docs/b.txt"]
    assert dry.plan.destination == f"s3://{bucket}/photos/2024 (does not exist yet)"
    assert not (s3_server.root / bucket).exists()
    with pytest.raises(ProviderNotFound, match=f"bucket {bucket} does not exist"):
        open_provider(destination, sync_settings)

    done = run_sync(sync_settings, SyncRequest(source=src.spec, destination=destination, mode=Mode.sync))
    assert done.errors == [] and done.transferred_files == 2
    assert (s3_server.root / bucket / "photos/2024/docs/b.txt").read_bytes() == b"bravo"
    with open_provider(destination, sync_settings) as there:
        assert there.read_bytes("a.txt") == b"alpha"
    again = run_sync(sync_settings, SyncRequest(source=src.spec, destination=destination, mode=Mode.sync))
    assert again.plan.actions == [] and again.errors == []


def test_a_missing_source_bucket_is_a_one_line_error_naming_it(
    sync_settings, make_side: SideMaker, s3_server: HttpServer
):
    s3, dst = make_side("s3", "any"), make_side("local", "dst")
    bucket = fresh_bucket()
    env = {
        **os.environ,
        "SYNCOXIDE_HOME": str(sync_settings.home),
        "SYNCOXIDE_DATABASE_URL": sync_settings.database_url,
    }
    options = [f"--src-opt={key}={value}" for key, value in s3.spec.options.items()]
    refs = [f"--src-secret={name}={ref.kind}:{ref.value}" for name, ref in s3.spec.secrets.items()]
    result = syncoxide(SimpleNamespace(env=env), "sync", "run", f"s3://{bucket}/docs", str(dst.root), *options, *refs)
    assert result.code == 1, result.stdout
    assert result.error_lines == [f"error: s3://{bucket}/docs: bucket {bucket} does not exist"]
    assert not (s3_server.root / bucket).exists()


def test_a_bisync_side_whose_bucket_went_missing_is_not_made_anew(
    sync_settings, make_side: SideMaker, s3_server: HttpServer
):
    src, s3 = make_side("local", "src"), make_side("s3", "any")
    src.write("a.txt", b"alpha")
    bucket = fresh_bucket()
    request = SyncRequest(
        source=src.spec,
        destination=bucket_spec(s3.spec, bucket),
        mode=Mode.bisync,
        pair=f"bi-{bucket}",
        options=SyncOptions(resync=True),
    )
    assert run_sync(sync_settings, request).errors == []  # the resync makes the bucket and the baseline
    assert (s3_server.root / bucket / "a.txt").read_bytes() == b"alpha"
    with open_provider(request.destination, sync_settings) as there:
        there.delete("a.txt")
        there._client.delete_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    with pytest.raises(ProviderNotFound, match=f"bucket {bucket} does not exist"):
        run_sync(sync_settings, request.model_copy(update={"options": SyncOptions()}))
    assert not (s3_server.root / bucket).exists()
    assert src.read("a.txt") == b"alpha"


def test_a_bucket_name_the_server_refuses_is_a_clear_error(sync_settings, make_side: SideMaker):
    src, s3 = make_side("local", "src"), make_side("s3", "any")
    src.write("a.txt", b"alpha")
    destination = bucket_spec(s3.spec, "Not_A_Bucket")
    refused = "^s3://Not_A_Bucket: cannot create bucket Not_A_Bucket: InvalidBucketName: bucket must "
    with pytest.raises(ProviderError, match=refused):
        run_sync(sync_settings, SyncRequest(source=src.spec, destination=destination, mode=Mode.copy))
