"""S3 (AWS or any S3-compatible server) through boto3.

Location: ``s3://bucket/optional/prefix``. Objects are written with one PUT, or a multipart upload
that is completed only when every part is in (and aborted on failure), so no partial object is
ever visible. Directories are key prefixes. The modification time is kept in the object's
``mtime`` metadata (``X-Amz-Meta-Mtime``, seconds as a decimal string, as rclone does); a listing
has upload times, ``stat`` has the stored mtime. A single-part ETag is the content's MD5.
"""

from __future__ import annotations

import base64
import io
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.config
import botocore.credentials
import botocore.exceptions
import botocore.session
import botocore.utils
from boto3.s3.transfer import TransferConfig

from syncoxide.config import Settings
from syncoxide.errors import InvalidInput
from syncoxide.providers import options, paths
from syncoxide.providers.base import (
    Capabilities,
    Entry,
    Provider,
    RangeReader,
    Readable,
    ReadStream,
    TrackedSource,
    check_range,
)
from syncoxide.providers.errors import (
    ObjectNotFound,
    ProviderAuthFailed,
    ProviderError,
    ProviderNotFound,
    ProviderTransient,
)
from syncoxide.providers.features import MultipartWriter
from syncoxide.providers.s3.put import SignedPut
from syncoxide.providers.spec import ProviderSpec
from syncoxide.secrets.in_locations import redacted

MIB = 1024 * 1024
MD5_ETAG = re.compile(r"^[0-9a-f]{32}$")
NOT_FOUND = {"NoSuchKey", "NotFound", "404"}
AUTH = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403", "ExpiredToken", "InvalidToken"}
TRANSIENT = {"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "503", "500", "502", "504"}
NETWORK_ERRORS = (
    botocore.exceptions.EndpointConnectionError,
    botocore.exceptions.ConnectionClosedError,
    botocore.exceptions.ReadTimeoutError,
    botocore.exceptions.ConnectTimeoutError,
    botocore.exceptions.ResponseStreamingError,
)
S3_ERRORS: tuple[type[Exception], ...] = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)
_SESSION_LOCK = threading.Lock()
_SHARED: list[boto3.session.Session] = []


def mtime_text(mtime: datetime) -> str:
    """The ``mtime`` metadata of an object: seconds as a decimal string, to the nanosecond."""
    ns = round(mtime.timestamp() * 1e9)
    return f"{ns // 1_000_000_000}.{ns % 1_000_000_000:09d}"


def _md5(etag: str | None) -> dict[str, str]:
    value = (etag or "").strip('"').lower()
    return {"md5": value} if MD5_ETAG.match(value) else {}


CAPABILITIES = Capabilities(
    hashes=frozenset({"md5"}),
    server_side_copy=True,
    set_mtime=True,
    mtime_precision=1e-3,
    directories=False,
    listed_mtime=False,
)


class S3Provider(Provider):
    kind = "s3"
    capabilities = CAPABILITIES

    def __init__(
        self,
        display: str,
        client: Any,
        bucket: str,
        prefix: str,
        transfer: TransferConfig,
        secrets: list[str],
        signed_put: SignedPut | None = None,
    ):
        super().__init__(display)
        self._client = client
        self.bucket = bucket
        self.prefix = prefix
        self._transfer = transfer
        self._secrets = secrets
        self._signed_put = signed_put

    # -- helpers -------------------------------------------------------------------------------

    def _key(self, path: str) -> str:
        return paths.join(self.prefix, paths.clean(path))

    def _rel(self, key: str) -> str:
        return key[len(self.prefix) + 1 :] if self.prefix else key

    def _fail(self, exc: Exception, path: str, where: str | None = None) -> Exception:
        where = where or f"{self.display}: {path or '/'}"
        if isinstance(exc, botocore.exceptions.ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
            message = options.redact(str(error.get("Message") or code or status), self._secrets)
            if code == "NoSuchBucket":
                return ProviderNotFound(f"{self.display}: bucket {self.bucket} does not exist")
            if code in NOT_FOUND or status == "404":
                return ObjectNotFound(f"{where} not found")
            if code in AUTH or status == "403":
                return ProviderAuthFailed(f"{where}: the server refused the credentials ({code or status})")
            if code in TRANSIENT or status.startswith("5"):
                return ProviderTransient(f"{where}: server error {code or status}: {message}")
            return ProviderError(f"{where}: {code or status}: {message}")
        if isinstance(exc, botocore.exceptions.NoCredentialsError):
            return ProviderAuthFailed(f"{self.display}: no credentials (give access_key_id and secret_access_key)")
        if isinstance(exc, NETWORK_ERRORS):
            return ProviderTransient(f"{where}: {options.redact(str(exc), self._secrets)}")
        return ProviderError(f"{where}: {options.redact(str(exc), self._secrets)}")

    def _head(self, path: str) -> dict[str, Any] | None:
        try:
            return self._client.head_object(Bucket=self.bucket, Key=self._key(path))
        except botocore.exceptions.ClientError as exc:
            failure = self._fail(exc, path)
            if isinstance(failure, ObjectNotFound):
                return None
            raise failure from None
        except S3_ERRORS as exc:
            raise self._fail(exc, path) from None

    def _is_prefix(self, path: str) -> bool:
        prefix = self._key(path)
        try:
            found = self._client.list_objects_v2(Bucket=self.bucket, Prefix=f"{prefix}/" if prefix else "", MaxKeys=1)
        except S3_ERRORS as exc:
            raise self._fail(exc, path) from None
        return bool(found.get("KeyCount") or found.get("Contents"))

    # -- the contract --------------------------------------------------------------------------

    def list(self, path: str = "", *, specials: list[Entry] | None = None) -> Iterator[Entry]:
        start = paths.clean(path)
        prefix = self._key(start)
        seen_dirs: set[str] = set()
        count = 0
        paginator = self._client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=f"{prefix}/" if prefix else ""):
                for item in page.get("Contents", []):
                    count += 1
                    key: str = item["Key"]
                    rel = self._rel(key.rstrip("/"))
                    mtime: datetime = item["LastModified"].astimezone(UTC)
                    is_marker = key.endswith("/")
                    for directory in [*paths.ancestors(rel), *([rel] if is_marker else [])]:
                        if len(directory) > len(start) and directory not in seen_dirs:
                            seen_dirs.add(directory)
                            yield Entry(path=directory, size=0, mtime=mtime, is_dir=True)
                    if not is_marker:
                        yield Entry(path=rel, size=item["Size"], mtime=mtime, hashes=_md5(item.get("ETag")))
        except S3_ERRORS as exc:
            raise self._fail(exc, start) from None
        if count == 0 and start:
            self.stat(start)  # ObjectNotFound if nothing is there

    def stat(self, path: str) -> Entry:
        clean = paths.clean(path)
        if not clean:
            return Entry(path="", size=0, mtime=datetime.fromtimestamp(0, UTC), is_dir=True)
        head = self._head(clean)
        if head is not None:
            mtime = head["LastModified"].astimezone(UTC)
            stored = (head.get("Metadata") or {}).get("mtime")
            if stored:
                try:
                    mtime = datetime.fromtimestamp(float(stored), UTC)
                except ValueError:
                    pass
            return Entry(path=clean, size=head["ContentLength"], mtime=mtime, hashes=_md5(head.get("ETag")))
        if self._is_prefix(clean):
            return Entry(path=clean, size=0, mtime=datetime.fromtimestamp(0, UTC), is_dir=True)
        raise ObjectNotFound(f"{self.display}: {clean} not found")

    def open_read(self, path: str, offset: int = 0, length: int | None = None) -> ReadStream:
        check_range(offset, length)
        clean = paths.clean(path)
        if length == 0:
            self.stat(clean)
            return io.BytesIO(b"")
        extra = {}
        if offset or length is not None:
            end = "" if length is None else str(offset + length - 1)
            extra["Range"] = f"bytes={offset}-{end}"
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=self._key(clean), **extra)
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":
                return io.BytesIO(b"")  # offset at or past the end
            raise self._fail(exc, clean) from None
        except S3_ERRORS as exc:
            raise self._fail(exc, clean) from None
        return RangeReader(response["Body"], length)

    def write(
        self,
        path: str,
        source: Readable,
        *,
        size: int | None = None,
        mtime: datetime | None = None,
        in_place: bool = False,
    ) -> Entry:
        clean = paths.clean(path)
        tracked = TrackedSource(source)
        metadata = {"mtime": mtime_text(mtime or datetime.now(UTC))}
        try:
            self._client.upload_fileobj(
                tracked, self.bucket, self._key(clean), ExtraArgs={"Metadata": metadata}, Config=self._transfer
            )
        except BaseException as exc:
            if tracked.error is not None:
                raise tracked.error from None
            if isinstance(exc, S3_ERRORS):
                raise self._fail(exc, clean) from None
            raise
        return self.stat(clean)

    def put(self, path: str, body: bytes, md5: bytes, mtime: datetime) -> str:
        """One PUT with Content-MD5 (the server refuses bytes that hash otherwise); returns the ETag (MD5 hex).

        Nothing is visible at ``path`` until the PUT is complete. Used for bodies below the multipart size.
        """
        key, md5_b64 = self._key(paths.clean(path)), base64.b64encode(md5).decode()
        metadata = {"mtime": mtime_text(mtime)}

        def with_boto3() -> dict[str, Any]:
            return self._client.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentMD5=md5_b64, Metadata=metadata
            )

        try:
            if self._signed_put is None:
                etag = str(with_boto3().get("ETag", ""))
            else:
                etag = self._signed_put.put(key, body, md5_b64, metadata, with_boto3)
        except S3_ERRORS as exc:
            raise self._fail(exc, path) from None
        return etag.strip('"').lower()

    def multipart_writer(self) -> MultipartWriter:
        from syncoxide.providers.s3.multipart import S3Uploads  # (which builds on this module)

        return S3Uploads(self._client, self.bucket, self._key, self.put, self._fail)

    def mkdir(self, path: str) -> None:
        paths.clean(path)  # directories are key prefixes: nothing to create

    def delete(self, path: str) -> None:
        clean = paths.clean(path)
        if self._head(clean) is None:
            raise ObjectNotFound(f"{self.display}: {clean} not found")
        try:
            self._client.delete_object(Bucket=self.bucket, Key=self._key(clean))
        except S3_ERRORS as exc:
            raise self._fail(exc, clean) from None

    def rmdir(self, path: str) -> None:
        clean = paths.clean(path)
        if self._is_prefix(clean) and any(True for e in self.list(clean) if not e.is_dir):
            raise ProviderError(f"{self.display}: directory {clean} is not empty")
        try:
            self._client.delete_object(Bucket=self.bucket, Key=self._key(clean) + "/")  # a marker, if any
        except S3_ERRORS as exc:
            raise self._fail(exc, clean) from None

    def copy(self, src: str, dst: str) -> None:
        s, d = paths.clean(src), paths.clean(dst)
        if self._head(s) is None:
            raise ObjectNotFound(f"{self.display}: {s} not found")
        try:
            # managed copy: CopyObject, or UploadPartCopy parts for objects over the threshold
            self._client.copy(
                {"Bucket": self.bucket, "Key": self._key(s)}, self.bucket, self._key(d), Config=self._transfer
            )
        except S3_ERRORS as exc:
            raise self._fail(exc, s) from None

    def move(self, src: str, dst: str) -> None:
        self.copy(src, dst)
        self.delete(src)

    def set_mtime(self, path: str, mtime: datetime) -> None:
        clean = paths.clean(path)
        head = self._head(clean)
        if head is None:
            raise ObjectNotFound(f"{self.display}: {clean} not found")
        metadata = {**(head.get("Metadata") or {}), "mtime": mtime_text(mtime)}
        key = self._key(clean)
        extra = {k: head[k] for k in ("ContentType", "ContentEncoding", "CacheControl") if head.get(k)}
        extra.update(Metadata=metadata, MetadataDirective="REPLACE")
        try:
            # a copy onto itself with new metadata; managed, so objects over 5 GB copy in parts
            self._client.copy(
                {"Bucket": self.bucket, "Key": key}, self.bucket, key, ExtraArgs=extra, Config=self._transfer
            )
        except S3_ERRORS as exc:
            raise self._fail(exc, clean) from None

    def create_bucket(self, region: str | None) -> None:
        """CreateBucket (in ``region``, where that is not the default us-east-1); one that is there already, made
        by a run at the same moment, is fine."""
        extra = (
            {"CreateBucketConfiguration": {"LocationConstraint": region}} if region and region != "us-east-1" else {}
        )
        try:
            self._client.create_bucket(Bucket=self.bucket, **extra)
        except botocore.exceptions.ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists") and self._bucket_reachable():
                return
            if code == "BucketAlreadyExists":
                raise ProviderError(f"{self.display}: bucket {self.bucket} belongs to another account") from None
            raise self._fail(exc, "", where=f"{self.display}: cannot create bucket {self.bucket}") from None
        except S3_ERRORS as exc:
            raise self._fail(exc, "", where=f"{self.display}: cannot create bucket {self.bucket}") from None

    def _bucket_reachable(self) -> bool:
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except S3_ERRORS:
            return False
        return True

    def close(self) -> None:
        if self._signed_put is not None:
            self._signed_put.close()
        self._client.close()


def _timestamp(text: str) -> datetime:
    """A listing's ISO 8601 times without dateutil (a tenth of a second per 1,000 keys otherwise)."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return botocore.utils.parse_timestamp(text)  # HEAD's RFC 1123 dates


def _unsigned_payload(request: Any, **_: Any) -> None:
    config = request.context.get("client_config")
    if config is not None:
        unsigned = botocore.config.Config(s3={**(config.s3 or {}), "payload_signing_enabled": False})
        request.context["client_config"] = config.merge(unsigned)


def _session(explicit: bool) -> boto3.session.Session:
    """A boto3 session to make a client with; call with _SESSION_LOCK held.

    Creating a client from a new session reads the S3 service model again (~0.1 s), so clients given
    their keys share one session; without keys a fresh session looks up the credential chain each time.
    """
    if explicit and _SHARED:
        return _SHARED[0]
    core = botocore.session.Session()
    core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=_timestamp)
    session = boto3.session.Session(botocore_session=core)
    if explicit:
        _SHARED.append(session)
    return session


def _provider(spec: ProviderSpec) -> S3Provider:
    """The provider for ``spec``, its bucket not yet looked at."""
    url = urlsplit(spec.location)
    if url.scheme != "s3" or not url.netloc:
        raise InvalidInput(f"s3 location {redacted(spec.location)!r} must look like s3://bucket/prefix")
    bucket, prefix = url.netloc, paths.clean(url.path)
    display = f"s3://{bucket}/{prefix}".rstrip("/")
    key_id = options.secret(spec, "access_key_id")
    secret = options.secret(spec, "secret_access_key")
    token = options.secret(spec, "session_token")
    if (key_id is None) != (secret is None):
        raise InvalidInput("s3 needs both access_key_id and secret_access_key secrets, or neither")
    style = options.text(spec, "addressing_style", "auto")
    if style not in ("auto", "path", "virtual"):
        raise InvalidInput(f"s3 option addressing_style must be auto, path or virtual, not {style!r}")
    timeout = options.number(spec, "timeout", 60)
    config = botocore.config.Config(
        s3={"addressing_style": style},
        signature_version="s3v4",  # what botocore signs S3 requests with anyway; presigned URLs too (SignedPut)
        retries={"max_attempts": 5, "mode": "standard"},
        connect_timeout=timeout,
        read_timeout=timeout,
        request_checksum_calculation="when_required",  # many S3-compatible servers lack CRC trailers
        response_checksum_validation="when_required",
    )
    verify = options.flag(spec, "verify_tls", True)
    with _SESSION_LOCK:
        session = _session(explicit=key_id is not None)
        client = session.client(
            "s3",
            endpoint_url=options.text(spec, "endpoint_url"),
            region_name=options.text(spec, "region"),
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            aws_session_token=token,
            verify=verify,
            config=config,
        )
    credentials = (
        botocore.credentials.Credentials(key_id, secret, token) if key_id and secret else session.get_credentials()
    )
    chunk = int(options.number(spec, "multipart_chunksize", 16 * MIB))
    transfer = TransferConfig(
        multipart_threshold=int(options.number(spec, "multipart_threshold", 64 * MIB)),
        multipart_chunksize=max(chunk, 5 * MIB),
        max_concurrency=4,
    )
    signed_put = SignedPut.for_client(client, bucket, credentials, verify=verify, timeout=timeout)
    # a part carries its Content-MD5 (signed, and checked by the server): hashing its body again with SHA-256
    # for the signature, as botocore does over plain http, only costs time
    client.meta.events.register("before-sign.s3.UploadPart", _unsigned_payload)
    return S3Provider(display, client, bucket, prefix, transfer, [s for s in (secret, token) if s], signed_put)


def connect(spec: ProviderSpec, settings: Settings) -> S3Provider:
    """The provider for ``spec``; ProviderNotFound (naming the bucket) when the bucket does not exist."""
    provider = _provider(spec)
    try:
        provider._client.list_objects_v2(
            Bucket=provider.bucket, Prefix=f"{provider.prefix}/" if provider.prefix else "", MaxKeys=1
        )
    except S3_ERRORS as exc:
        provider.close()
        raise provider._fail(exc, "") from None
    return provider


def make_root(spec: ProviderSpec, settings: Settings) -> None:
    """Create the bucket of ``spec`` (a prefix needs no creating): the one root no parent directory holds, so
    ``roots.open_root`` asks the provider kind itself, as ``rclone mkdir`` of a bucket does."""
    with _provider(spec) as provider:
        provider.create_bucket(options.text(spec, "region"))
