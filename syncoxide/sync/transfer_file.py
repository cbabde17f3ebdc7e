"""Transfers to a destination with a temp-file writer (local, SFTP): a hidden temporary file, verified where it
landed, renamed into place.

Small files (below ``large_file``) stream into the temporary file, which is then made durable (fsync; on
SFTP every write answered), given its modification time and hashed through the same open handle (no
second open on the server; from 8 MiB by the server itself where it can, ``md5sum`` over SSH), compared
with what was read, and renamed. They are not checkpointed: one whose process is killed mid-way is sent
again whole by the next run.

Large files move in parallel chunks (``parts.py``): read in order, hashed as they stream, each chunk
written at its offset (through a connection of its own where the destination needs one) and made durable;
the journal's checkpoint advances over the contiguous prefix of durable chunks. A resumed transfer
truncates the temporary file to that offset, hashes the source's prefix again and sends the rest; the
whole file is verified before the rename.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import weakref
from datetime import UTC, datetime

from syncoxide.errors import VerificationFailed
from syncoxide.providers import paths
from syncoxide.providers.base import Entry, Provider
from syncoxide.sync.fileops import FileOps, read_back
from syncoxide.sync.hashing import READ_CHUNK, HashingReader, read_md5
from syncoxide.sync.parts import send_parts
from syncoxide.sync.transfer_base import (
    Progress,
    TransferContext,
    TransferResult,
    check_read,
    check_source_unchanged,
    provider_failure,
    resumable,
    resume_valid,
    source_mtime,
    temp_for,
)

WRITER = "file"

_made_dirs: weakref.WeakKeyDictionary[Provider, set[str]] = weakref.WeakKeyDictionary()


def _ensure_parent(dst: Provider, path: str) -> None:
    parent = paths.parent(path)
    if not parent:
        return
    made = _made_dirs.setdefault(dst, set())
    if parent not in made:
        dst.mkdir(parent)
        made.add(parent)


def file_transfer(
    src: Provider, entry: Entry, dst: Provider, path: str, ctx: TransferContext, resume: Progress | None
) -> TransferResult:
    mtime = source_mtime(src, entry) if dst.capabilities.set_mtime else None
    if entry.size >= ctx.large_file:
        md5, sent, resumed_from = _large(src, entry, dst, path, ctx, resume, mtime)
    else:
        md5, sent, resumed_from = _small(src, entry, dst, path, ctx, mtime), entry.size, 0
    if mtime is None:
        landed = dst.stat(path)
    else:
        if dst.capabilities.mtime_precision >= 1:  # whole seconds (SFTP v3)
            mtime = datetime.fromtimestamp(int(mtime.timestamp()), UTC)
        landed = Entry(path=path, size=entry.size, mtime=mtime)
    return TransferResult(entry=landed, md5=md5, sent=sent, resumed_from=resumed_from)


def _small(src: Provider, entry: Entry, dst: Provider, path: str, ctx: TransferContext, mtime: datetime | None) -> str:
    ops = FileOps(dst)
    temp = temp_for(path, secrets.token_hex(8))
    try:
        _ensure_parent(dst, path)
        with src.open_read(entry.path) as stream, ops.files.open(temp, "w+b") as handle:
            reader = HashingReader(stream, None, ctx.limiter, ctx.check)
            while chunk := reader.read(READ_CHUNK):
                handle.write(chunk)
                ctx.on_bytes(len(chunk))
            md5 = reader.digest.hexdigest()
            check_read(src, entry, reader.count, md5)
            check_source_unchanged(src, entry)
            ops.files.seal(handle, temp, mtime)
            reads_back = not ops.hashed_by_server(entry.size)
            landed = read_back(handle, entry.size) if reads_back else None
            if reads_back:
                ops.files.close_unanswered(handle)
        if landed is None:
            landed = ops.md5(temp, entry.size)
        if landed != md5:
            raise VerificationFailed(f"{dst.display}: {path}: wrote {md5}, the destination has {landed}")
        ctx.before_land()
        ops.rename(temp, path)
    except BaseException as exc:
        failure = ops.files.explain(exc, temp)
        ops.remove(temp)
        raise provider_failure(dst, ops.files, failure, path) from None
    return md5


def _large(
    src: Provider,
    entry: Entry,
    dst: Provider,
    path: str,
    ctx: TransferContext,
    resume: Progress | None,
    mtime: datetime | None,
) -> tuple[str, int, int]:
    ops = FileOps(dst)
    offset, token = 0, secrets.token_hex(8)
    if resume_valid(resume, entry, WRITER) and resume is not None:
        token = str(resume["token"])
        existing = ops.files.size(temp_for(path, token))
        offset = min(int(resume.get("offset", 0)), existing) if existing is not None else 0
    elif resume and resume.get("writer") == WRITER and resume.get("token"):
        ops.remove(temp_for(path, str(resume["token"])))  # the source changed: that progress is stale
    temp, part_size = temp_for(path, token), ctx.chunk_size
    done: list[int] = []

    def save() -> None:
        ctx.checkpoint(
            {
                "writer": WRITER,
                "token": token,
                "size": entry.size,
                "mtime": entry.mtime.timestamp(),
                "offset": min(entry.size, offset + len(done) * part_size),
            }
        )

    shared = threading.Lock()  # without a provider per thread, one provider carries one chunk at a time

    def send(number: int, data: bytes) -> int:
        if ctx.dst_here is not None:
            FileOps(ctx.dst_here()).write_at(temp, offset + (number - 1) * part_size, data)
        else:
            with shared:
                ops.write_at(temp, offset + (number - 1) * part_size, data)
        ctx.on_bytes(len(data))
        return number

    try:
        _ensure_parent(dst, path)
        if offset:
            ops.files.truncate(temp, offset)  # chunks past the checkpoint may be partly there: they go again
        else:
            ops.files.open(temp, "wb").close()
        save()
        whole = read_md5(src, entry.path, 0, offset) if offset else hashlib.md5()
        with src.open_read(entry.path, offset) as stream:
            reader = HashingReader(stream, whole, ctx.limiter, ctx.check)
            sent = send_parts(reader, part_size, 1, send, done, save, ctx.parts)
        md5 = whole.hexdigest()
        check_read(src, entry, offset + sent, md5)
        check_source_unchanged(src, entry)
        if mtime is not None:
            ops.files.set_mtime(temp, mtime)
        landed = ops.md5(temp, entry.size)
        if landed != md5:
            raise VerificationFailed(f"{dst.display}: {path}: wrote {md5}, the destination has {landed}")
        ctx.before_land()
        ops.rename(temp, path)
    except BaseException as exc:
        failure = ops.files.explain(exc, temp)
        if not resumable(failure):  # a full disk is not: its temporary file goes, freeing the room it took
            ops.remove(temp)
        raise provider_failure(dst, ops.files, failure, path) from None
    return md5, sent, offset


def abort_stale(dst: Provider, path: str, progress: Progress) -> None:
    if progress.get("writer") == WRITER and progress.get("token"):
        FileOps(dst).remove(temp_for(path, str(progress["token"])))
