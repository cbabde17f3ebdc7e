"""The signed S3 PUT (providers/s3_put.py) signs exactly as botocore's SigV4 signer does for the same request,
so any server that takes boto3's PUTs takes these: path and virtual-hosted addressing, awkward keys,
metadata and a session token."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from urllib.parse import quote, urlsplit

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from syncoxide.providers.s3.put import SignedPut

STAMP = "20240503T080000Z"


@pytest.mark.parametrize("base", ["https://s3.eu-west-1.example.net/bucket/", "https://bucket.s3.example.net/"])
@pytest.mark.parametrize("key", ["plain.txt", "dir/a b+c (1) ü.txt", "x/y*z!'~&=@$,;.bin", "%41%2F.dat"])
@pytest.mark.parametrize("token", [None, "session-token/with+odd=chars"])
def test_signature_is_botocores(base: str, key: str, token: str | None, monkeypatch: pytest.MonkeyPatch):
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    put = SignedPut(base, "eu-west-1", "s3", credentials, verify=True, timeout=10)
    body = b"some bytes\n"
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    path = put._base_path + quote(key, safe="/~")
    ours = put.headers(path, body, md5, {"mtime": "1714723200.000000000"}, stamp=STAMP)

    theirs = AWSRequest(
        "PUT",
        f"https://{urlsplit(base).netloc}{path}",
        data=body,
        headers={"Content-Length": str(len(body)), "Content-MD5": md5, "X-Amz-Meta-Mtime": "1714723200.000000000"},
    )
    theirs.context["payload_signing_enabled"] = False  # https with Content-MD5: boto3 leaves the body unsigned
    monkeypatch.setattr("botocore.auth.datetime.datetime", _Frozen)
    S3SigV4Auth(credentials, "s3", "eu-west-1").add_auth(theirs)
    assert theirs.headers["X-Amz-Content-SHA256"] == ours["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"
    assert theirs.headers["Authorization"] == ours["authorization"]
    if token:
        assert ours["x-amz-security-token"] == token


class _Frozen(datetime):
    @classmethod
    def utcnow(cls) -> _Frozen:  # type: ignore[override]
        return cls(2024, 5, 3, 8, 0, 0)

    @classmethod
    def now(cls, tz=None) -> _Frozen:  # type: ignore[override]
        return cls(2024, 5, 3, 8, 0, 0, tzinfo=tz)
