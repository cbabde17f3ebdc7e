"""PutObject of a small body, signed and sent without botocore's per-call machinery.

boto3 spends about 2 ms of CPU on every call (events, parameter validation, endpoint rules, response
parsing) where a 4 KiB upload is otherwise a few hundred microseconds of work, so for small files it
was most of a sync's time. Here a PUT is signed with AWS Signature Version 4 (unsigned payload: the
body is covered by the signed Content-MD5, which the server checks before it stores anything) and
sent on one keep-alive ``http.client`` connection per thread (urllib3's pool costs another 0.4 ms a call),
verifying TLS as botocore does; where a proxy applies, boto3 does every PUT.

Where to send is learnt once from botocore itself: a presigned URL carries the endpoint, addressing
style and signing region. Any answer but a 2xx, and any connection error, goes to the caller's
fallback (boto3's ``put_object``: retries, region redirects, the errors the provider maps); an answer
that says this path itself is wrong (a redirect, a 400) turns it off for the provider's lifetime.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import os
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from botocore.httpsession import get_cert_path
from botocore.utils import get_environ_proxies

UNSIGNED = "UNSIGNED-PAYLOAD"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


class SignedPut:
    def __init__(
        self, base_url: str, region: str, service: str, credentials: Any, *, verify: bool | str, timeout: float
    ):
        parts = urlsplit(base_url)
        self._host = parts.netloc
        self._base_path = parts.path  # ends with "/": "/bucket/" (path style) or "/" (virtual hosted)
        self._scope_tail = f"{region}/{service}/aws4_request"
        self._region, self._service = region, service
        self._credentials = credentials
        self._timeout = timeout
        self._tls = _tls_context(verify) if parts.scheme == "https" else None
        self._local = threading.local()
        self._connections: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._keys: dict[tuple[str, str], bytes] = {}
        self.enabled = True

    @classmethod
    def for_client(
        cls, client: Any, bucket: str, credentials: Any, *, verify: bool | str, timeout: float
    ) -> SignedPut | None:
        """Learn endpoint and signing scope from a presigned URL; None where that cannot be done."""
        if credentials is None:
            return None
        try:
            url = client.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=60)
        except Exception:  # noqa: BLE001 - no fast path; boto3 does every PUT
            return None
        parts = urlsplit(url)
        scope = (parse_qs(parts.query).get("X-Amz-Credential") or [""])[0].split("/")
        if not parts.path.endswith("/k") or len(scope) != 5 or scope[4] != "aws4_request":
            return None
        base = f"{parts.scheme}://{parts.netloc}{parts.path[:-1]}"
        if get_environ_proxies(base):
            return None
        return cls(base, scope[2], scope[3], credentials, verify=verify, timeout=timeout)

    def _signing_key(self, secret: str, day: str) -> bytes:
        key = self._keys.get((secret, day))
        if key is None:
            key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret}".encode(), day), self._region), self._service), "aws4_request")
            self._keys = {(secret, day): key}
        return key

    def headers(
        self, path: str, body: bytes, md5_b64: str, metadata: dict[str, str], stamp: str | None = None
    ) -> dict[str, str]:
        """The signed headers of a PUT of ``body`` to ``path`` (already URL-encoded), at ``stamp`` (default now)."""
        frozen = self._credentials.get_frozen_credentials()
        stamp = stamp or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        headers = {
            "content-length": str(len(body)),
            "content-md5": md5_b64,
            "host": self._host,
            "x-amz-content-sha256": UNSIGNED,
            "x-amz-date": stamp,
        }
        for name, value in metadata.items():
            headers[f"x-amz-meta-{name.lower()}"] = value
        if frozen.token:
            headers["x-amz-security-token"] = frozen.token
        names = sorted(headers)
        signed = ";".join(names)
        canonical = "\n".join(["PUT", path, "", *(f"{n}:{headers[n].strip()}" for n in names), "", signed, UNSIGNED])
        scope = f"{stamp[:8]}/{self._scope_tail}"
        to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        signature = hmac.new(
            self._signing_key(frozen.secret_key, stamp[:8]), to_sign.encode(), hashlib.sha256
        ).hexdigest()
        headers["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={frozen.access_key}/{scope}, SignedHeaders={signed}, Signature={signature}"
        )
        return headers

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            if self._tls is not None:
                connection = http.client.HTTPSConnection(self._host, timeout=self._timeout, context=self._tls)
            else:
                connection = http.client.HTTPConnection(self._host, timeout=self._timeout)
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def _send(self, key: str, body: bytes, md5_b64: str, metadata: dict[str, str]) -> tuple[int, str, bytes]:
        path = self._base_path + quote(key, safe="/~")
        connection = self._connection()
        try:
            connection.request("PUT", path, body=body, headers=self.headers(path, body, md5_b64, metadata))
            response = connection.getresponse()
            answer = response.read()
        except BaseException:
            connection.close()  # reopened by the next request
            raise
        if response.will_close:
            connection.close()
        return response.status, response.getheader("ETag", ""), answer

    def put(
        self, key: str, body: bytes, md5_b64: str, metadata: dict[str, str], fallback: Callable[[], dict[str, Any]]
    ) -> str:
        """Store ``body`` at ``key``; returns the ETag as the server gave it."""
        if self.enabled:
            try:
                status, etag, answer = self._send(key, body, md5_b64, metadata)
            except (OSError, http.client.HTTPException):
                status, answer = 0, b""  # a connection error: boto3 sends it again, with its retries
            if 200 <= status < 300:
                return etag
            if 0 < status < 500 and status not in (403, 404) and b"BadDigest" not in answer:
                self.enabled = False  # a redirect or a request the server does not take: boto3 from now on
        return str(fallback().get("ETag", ""))

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()


def _tls_context(verify: bool | str) -> ssl.SSLContext:
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=get_cert_path(os.environ.get("AWS_CA_BUNDLE") or verify))
