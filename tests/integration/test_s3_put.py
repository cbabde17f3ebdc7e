"""The S3 provider's verified single PUT (``S3Provider.put``), signed without boto3, on `rclone serve s3`.

The signed request must store exactly what boto3 would (key encoding, metadata, ETag); a body that does
not hash to its Content-MD5 must be refused with nothing stored; anything the fast path cannot do goes
through boto3 instead.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from syncoxide.config import Settings
from syncoxide.providers import ProviderError, ProviderSpec, open_provider
from syncoxide.providers.s3.provider import S3Provider
from tests.servers import S3_ACCESS_KEY, S3_BUCKET, S3_SECRET_KEY, HttpServer

SECRET_ENV = "SYNCOXIDE_TEST_S3PUT_SECRET"
WHEN = datetime(2024, 5, 3, 8, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def s3(s3_server: HttpServer, provider_settings: Settings) -> Iterator[S3Provider]:
    os.environ[SECRET_ENV] = S3_SECRET_KEY
    spec = ProviderSpec(
        kind="s3",
        location=f"s3://{S3_BUCKET}/put-{secrets.token_hex(4)}",
        options={"endpoint_url": s3_server.url, "region": "us-east-1", "addressing_style": "path"},
        secrets={"access_key_id": f"command:echo {S3_ACCESS_KEY}", "secret_access_key": f"env:{SECRET_ENV}"},
    )
    with open_provider(spec, provider_settings) as provider:
        assert isinstance(provider, S3Provider)
        yield provider


class Counting:
    """Counts the PUTs that went through boto3 instead of the signed fast path."""

    def __init__(self, provider: S3Provider):
        self.calls = 0
        self._put_object = provider._client.put_object
        provider._client.put_object = self

    def __call__(self, **kwargs: object) -> dict:
        self.calls += 1
        return self._put_object(**kwargs)  # type: ignore[no-any-return]


def put(provider: S3Provider, path: str, body: bytes, md5_of: bytes | None = None) -> str:
    return provider.put(path, body, hashlib.md5(body if md5_of is None else md5_of).digest(), WHEN)


@pytest.mark.parametrize("name", ["plain.txt", "dir/sub/a b+c (1) ü.txt", "x/y*z!'~&=@$,;.bin", "%41%2F.dat"])
def test_signed_put_stores_what_boto3_would(s3: S3Provider, name: str):
    boto3_puts = Counting(s3)
    body = os.urandom(3000)
    assert put(s3, name, body) == hashlib.md5(body).hexdigest()
    assert boto3_puts.calls == 0
    assert s3.read_bytes(name) == body
    entry = s3.stat(name)
    assert entry.size == len(body) and entry.hashes["md5"] == hashlib.md5(body).hexdigest()
    assert abs(entry.mtime.timestamp() - WHEN.timestamp()) < 1e-3
    assert {e.path for e in s3.list() if not e.is_dir} == {name}


def test_a_body_that_does_not_match_its_md5_is_refused_and_nothing_changes(s3: S3Provider):
    put(s3, "report.txt", b"the old report\n")
    with pytest.raises(ProviderError, match="BadDigest"):
        put(s3, "report.txt", b"what arrived", md5_of=b"what was read")
    with pytest.raises(ProviderError, match="BadDigest"):
        put(s3, "new.txt", b"what arrived", md5_of=b"what was read")
    assert s3.read_bytes("report.txt") == b"the old report\n"
    assert not s3.exists("new.txt")


def test_a_dropped_connection_is_sent_again_through_boto3(s3: S3Provider):
    boto3_puts = Counting(s3)
    put(s3, "a.txt", b"first")
    assert s3._signed_put is not None
    s3._signed_put._local.connection.sock.close()  # as if the server had closed the kept-alive connection
    put(s3, "b.txt", b"second")
    put(s3, "c.txt", b"third")
    assert boto3_puts.calls == 1  # only the one that failed; the next opened a new connection
    assert [s3.read_bytes(p) for p in ("a.txt", "b.txt", "c.txt")] == [b"first", b"second", b"third"]


def test_a_put_the_server_refuses_is_sent_again_through_boto3(s3: S3Provider):
    boto3_puts = Counting(s3)
    assert s3._signed_put is not None
    s3._signed_put._base_path = "/no-such-bucket/"  # a wrong address: the server answers 404/400, not 2xx
    put(s3, "a.txt", b"stored by boto3")
    assert boto3_puts.calls == 1
    assert s3.read_bytes("a.txt") == b"stored by boto3"
