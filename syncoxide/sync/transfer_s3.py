"""Transfers to a destination with a multipart writer (S3): one verified PUT straight to the final name, or a
resumable multipart upload.

Such a store never shows a partial object: a PUT is visible only once complete, and a multipart
upload only once completed. So there is no temporary name (a rename on S3 would be a server-side
copy of the whole object). Every body carries its Content-MD5, which the server checks before it
stores anything, and the returned ETags are compared with what was read.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from syncoxide.errors import VerificationFailed
from syncoxide.providers.base import Entry, Provider
from syncoxide.providers.features import MultipartWriter
from syncoxide.sync.hashing import HASH, HashingReader, read_md5
from syncoxide.sync.parts import send_parts
from syncoxide.sync.transfer_base import (
    Progress,
    TransferContext,
    TransferResult,
    check_read,
    check_source_unchanged,
    resumable,
    resume_valid,
    source_mtime,
)

WRITER = "s3"


def multipart_transfer(
    src: Provider,
    entry: Entry,
    dst: Provider,
    uploads: MultipartWriter,
    path: str,
    ctx: TransferContext,
    resume: Progress | None,
) -> TransferResult:
    mtime = source_mtime(src, entry)
    if entry.size >= ctx.large_file:
        try:
            return _multipart(src, entry, dst, uploads, path, ctx, resume, mtime)
        except uploads.errors as exc:
            raise uploads.failure(exc, path) from None
    with src.open_read(entry.path) as stream:
        reader = HashingReader(stream, None, ctx.limiter, ctx.check)
        body = reader.read()
    md5 = reader.digest.hexdigest()
    check_read(src, entry, len(body), md5)
    ctx.before_land()
    etag = uploads.put(path, body, reader.digest.digest(), mtime)
    ctx.on_bytes(len(body))
    if etag != md5:
        raise VerificationFailed(f"{dst.display}: {path}: stored ETag {etag} is not {md5}")
    # no HEAD needed: the server checked the bytes, and size, time and MD5 are known
    return TransferResult(
        entry=Entry(path=path, size=len(body), mtime=mtime, hashes={HASH: md5}), md5=md5, sent=len(body)
    )


def _multipart(
    src: Provider,
    entry: Entry,
    dst: Provider,
    uploads: MultipartWriter,
    path: str,
    ctx: TransferContext,
    resume: Progress | None,
    mtime: datetime,
) -> TransferResult:
    size, part_size = entry.size, ctx.chunk_size
    parts: list[list[Any]] = []  # [number, etag, md5 hex]
    upload_id = ""
    if resume_valid(resume, entry, WRITER) and resume is not None and resume.get("part_size") == part_size:
        upload_id = str(resume["upload_id"])
        try:
            listed = uploads.listed_parts(path, upload_id)
            for number, etag, md5 in resume.get("parts", []):
                if listed.get(number) != etag:
                    break
                parts.append([number, etag, md5])
        except Exception:  # noqa: BLE001 - the upload expired or was aborted: start again
            upload_id, parts = "", []
    elif resume and resume.get("writer") == WRITER and resume.get("upload_id"):
        uploads.abort(path, str(resume["upload_id"]))
    if not upload_id:
        upload_id = uploads.start(path, mtime)
    resumed_from = len(parts) * part_size

    def save() -> None:
        ctx.checkpoint(
            {
                "writer": WRITER,
                "upload_id": upload_id,
                "part_size": part_size,
                "parts": parts,
                "size": size,
                "mtime": entry.mtime.timestamp(),
                "offset": len(parts) * part_size,
            }
        )

    def upload(number: int, chunk: bytes) -> list[Any]:
        md5 = hashlib.md5(chunk)  # on the part's own thread, beside the whole file's MD5 on the reader's
        etag = uploads.upload_part(path, upload_id, number, chunk, md5.digest())
        if etag != md5.hexdigest():
            raise VerificationFailed(f"{dst.display}: {path}: part {number} stored as {etag}")
        ctx.on_bytes(len(chunk))
        return [number, etag, md5.hexdigest()]

    save()
    try:
        whole = read_md5(src, entry.path, 0, resumed_from) if resumed_from else hashlib.md5()
        with src.open_read(entry.path, resumed_from) as stream:
            reader = HashingReader(stream, whole, ctx.limiter, ctx.check)
            sent = send_parts(reader, part_size, len(parts) + 1, upload, parts, save, ctx.parts)
        check_read(src, entry, resumed_from + sent, whole.hexdigest())
        check_source_unchanged(src, entry)
        expected = hashlib.md5(b"".join(bytes.fromhex(p[2]) for p in parts)).hexdigest() + f"-{len(parts)}"
        ctx.before_land()
        stored = uploads.complete(path, upload_id, [(n, e) for n, e, _ in parts])
        if stored and stored not in (expected, whole.hexdigest()):  # some servers give the whole object's MD5
            raise VerificationFailed(f"{dst.display}: {path}: multipart ETag {stored} is not {expected}")
    except BaseException as exc:
        if not resumable(exc):
            uploads.abort(path, upload_id)
        raise
    return TransferResult(entry=dst.stat(path), md5=whole.hexdigest(), sent=sent, resumed_from=resumed_from)


def abort_stale(uploads: MultipartWriter, path: str, progress: Progress) -> None:
    if progress.get("writer") == WRITER and progress.get("upload_id"):
        uploads.abort(path, str(progress["upload_id"]))
