"""One verified, resumable file transfer between any two providers.

The bytes read from the source are hashed (MD5) as they stream; the destination's copy is checked
independently (hashed where it landed, by the server itself where it offers that, or by a store that checks
each body's Content-MD5 and answers with its ETag) and must match, as must the source's own free hash when it
has one. Nothing partial or corrupt ever appears at a final path.

The way is chosen from what the destination offers (``providers/features.py``), never from its kind:

- a temp-file writer (local, SFTP; ``transfer_file.py``): a hidden temporary file, renamed into place once
  verified; large files in parallel chunks, resumable from the last durable chunk.
- a multipart writer (S3; ``transfer_s3.py``): one PUT straight to the final name, or a resumable multipart
  upload.
- neither (WebDAV, rclone remotes): the provider's own write to our temporary name, then verified and moved
  into place. Not resumable (WebDAV has no standard partial PUT, ``rclone rcat`` no way to continue); a
  large file's temporary name is checkpointed so the next run removes what a killed one left.
"""

from __future__ import annotations

import secrets

from syncoxide.errors import VerificationFailed
from syncoxide.providers.base import Entry, Provider
from syncoxide.providers.errors import ProviderError
from syncoxide.sync import transfer_file, transfer_s3
from syncoxide.sync.hashing import HASH, HashingReader, read_md5
from syncoxide.sync.transfer_base import (
    Progress,
    SourceChanged,
    TransferContext,
    TransferResult,
    check_read,
    source_mtime,
    temp_for,
)

__all__ = ["Progress", "SourceChanged", "TransferContext", "TransferResult", "abort_stale", "source_mtime", "transfer"]


# -- neither writer: the provider's own atomic write to a temporary name, verify, move ----------------

TEMP_WRITER = "temp"


def _generic_transfer(
    src: Provider, entry: Entry, dst: Provider, path: str, ctx: TransferContext, resume: Progress | None
) -> TransferResult:
    if resume and resume.get("writer") == TEMP_WRITER:
        _remove_temp(dst, path, resume)  # what a killed run left: nothing to resume from (see docs/sync.md)
    token = secrets.token_hex(8)
    temp = temp_for(path, token)
    if entry.size >= ctx.large_file:  # so that the next run removes it if this process dies mid-way
        ctx.checkpoint({"writer": TEMP_WRITER, "token": token, "size": entry.size, "mtime": entry.mtime.timestamp()})
    try:
        with src.open_read(entry.path) as stream:
            reader = HashingReader(stream, None, ctx.limiter, ctx.check)
            written = dst.write(temp, reader, size=entry.size, mtime=source_mtime(src, entry), in_place=True)
        md5 = reader.digest.hexdigest()
        ctx.on_bytes(reader.count)
        check_read(src, entry, reader.count, md5)
        landed = written.hashes.get(HASH) or read_md5(dst, temp).hexdigest()
        if landed != md5:
            raise VerificationFailed(f"{dst.display}: {path}: wrote {md5}, the destination has {landed}")
        ctx.before_land()
        dst.move(temp, path)
    except BaseException:
        _remove_temp(dst, path, {"token": token})
        raise
    return TransferResult(entry=dst.stat(path), md5=md5, sent=reader.count)


def _remove_temp(dst: Provider, path: str, progress: Progress) -> None:
    try:
        dst.delete(temp_for(path, str(progress["token"])))
    except ProviderError:
        pass


def transfer(
    src: Provider, entry: Entry, dst: Provider, path: str, ctx: TransferContext, resume: Progress | None = None
) -> TransferResult:
    """Copy ``entry`` from ``src`` to ``path`` on ``dst``, verified; resume from ``resume`` where it is valid."""
    if dst.temp_file_writer() is not None:
        return transfer_file.file_transfer(src, entry, dst, path, ctx, resume)
    if (uploads := dst.multipart_writer()) is not None:
        return transfer_s3.multipart_transfer(src, entry, dst, uploads, path, ctx, resume)
    return _generic_transfer(src, entry, dst, path, ctx, resume)


def abort_stale(dst: Provider, path: str, progress: Progress) -> None:
    """Clean up what an abandoned transfer left: its temporary file or its multipart upload."""
    if dst.temp_file_writer() is not None:
        transfer_file.abort_stale(dst, path, progress)
    elif (uploads := dst.multipart_writer()) is not None:
        transfer_s3.abort_stale(uploads, path, progress)
    elif progress.get("writer") == TEMP_WRITER and progress.get("token"):
        _remove_temp(dst, path, progress)
