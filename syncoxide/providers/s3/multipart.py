"""The multipart writer of an S3 provider (``S3Provider.multipart_writer``): the provider's one PUT, and
multipart uploads through its boto3 client. The upload calls raise what boto3 raises (``errors``)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime
from typing import Any

from syncoxide.providers.s3.provider import S3_ERRORS, mtime_text


def _unquoted(etag: str) -> str:
    return etag.strip('"').lower()


class S3Uploads:
    errors = S3_ERRORS

    def __init__(
        self,
        client: Any,
        bucket: str,
        key: Callable[[str], str],
        put: Callable[[str, bytes, bytes, datetime], str],
        failure: Callable[..., Exception],
    ):
        self._client = client
        self._bucket = bucket
        self._key = key
        self.put = put
        self._failure = failure

    def start(self, path: str, mtime: datetime) -> str:
        answer = self._client.create_multipart_upload(
            Bucket=self._bucket, Key=self._key(path), Metadata={"mtime": mtime_text(mtime)}
        )
        return str(answer["UploadId"])

    def listed_parts(self, path: str, upload_id: str) -> dict[int, str]:
        listed = self._client.list_parts(Bucket=self._bucket, Key=self._key(path), UploadId=upload_id)
        return {p["PartNumber"]: p["ETag"].strip('"') for p in listed.get("Parts", [])}

    def upload_part(self, path: str, upload_id: str, number: int, body: bytes, md5: bytes) -> str:
        answer = self._client.upload_part(
            Bucket=self._bucket,
            Key=self._key(path),
            UploadId=upload_id,
            PartNumber=number,
            Body=body,
            ContentMD5=base64.b64encode(md5).decode(),
        )
        return _unquoted(answer["ETag"])

    def complete(self, path: str, upload_id: str, parts: list[tuple[int, str]]) -> str:
        answer = self._client.complete_multipart_upload(
            Bucket=self._bucket,
            Key=self._key(path),
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": f'"{e}"'} for n, e in parts]},
        )
        return _unquoted(answer.get("ETag", ""))

    def abort(self, path: str, upload_id: str) -> None:
        try:
            self._client.abort_multipart_upload(Bucket=self._bucket, Key=self._key(path), UploadId=upload_id)
        except Exception:  # noqa: BLE001, S110 - best effort: an upload that is gone is already aborted
            pass

    def failure(self, exc: Exception, path: str) -> Exception:
        return self._failure(exc, path)
