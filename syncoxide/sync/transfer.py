"""One verified, resumable file transfer between any two providers.

The bytes read from the source are hashed (MD5) as they stream; the destination's copy is hashed
independently (read back, ``md5sum`` on an SSH server, or checked by S3 through Content-MD5 and
the ETag) and must match, as must the source's own free hash when it has one. Data lands under a
hidden temporary name and is renamed into place only after that check, so no partial or corrupt
file ever appears at a final path.

Resumable destinations: local and SFTP (the temporary file grows chunk by chunk; a checkpoint
records the verified offset; a resumed transfer truncates the temporary file to it) and S3 (a
multipart upload whose id and verified parts are checkpointed). Others write through the
provider's own atomic ``write`` to a temporary name, verify, then move.
"""

from __future__ import annotations

import base64
import contextvars
import errno
import hashlib
import os
import secrets
import stat as statmod
import weakref
from collections.abc import Callable
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from syncoxide.errors import VerificationFailed
from syncoxide.providers import paths
from syncoxide.providers.base import TEMP_MARKER, Entry, Provider
from syncoxide.providers.errors import ObjectNotFound, ProviderError, ProviderTransient
from syncoxide.sync.errors import Interrupted
from syncoxide.sync.hashing import HASH, READ_CHUNK, HashingReader, read_md5, remote_md5
from syncoxide.sync.throttle import Limiter

Progress = dict[str, Any]
PART_CONCURRENCY = 4


class SourceChanged(ProviderTransient):
    """The source file changed while it was being copied; the next attempt copies the new one."""


@dataclass
class TransferContext:
    limiter: Limiter = field(default_factory=lambda: Limiter(None))
    check: Callable[[], None] = lambda: None
    """raises to stop (cancellation); called between chunks"""
    checkpoint: Callable[[Progress], None] = lambda progress: None
    """records resumable progress (the journal)"""
    on_bytes: Callable[[int], None] = lambda n: None
    chunk_size: int = 16 * 1024 * 1024
    large_file: int = 64 * 1024 * 1024


@dataclass
class TransferResult:
    entry: Entry
    md5: str | None
    sent: int
    resumed_from: int = 0


def temp_for(path: str, token: str) -> str:
    return paths.join(paths.parent(path), f".{paths.name(path)[:100]}{TEMP_MARKER}{token}")


def source_mtime(src: Provider, entry: Entry) -> datetime:
    """The stored modification time (a listing of S3 has upload times; stat has the stored one)."""
    return entry.mtime if src.capabilities.listed_mtime else src.stat(entry.path).mtime


def check_source_unchanged(src: Provider, entry: Entry) -> None:
    now = src.stat(entry.path)
    if now.size != entry.size:
        raise SourceChanged(f"{src.display}: {entry.path} changed while it was copied "
                            f"(size {entry.size} -> {now.size})")
    if src.capabilities.listed_mtime and abs(now.mtime.timestamp() - entry.mtime.timestamp()) > 1e-6:
        raise SourceChanged(f"{src.display}: {entry.path} changed while it was copied (modification time)")
    free = entry.hashes.get(HASH)
    if free and now.hashes.get(HASH) and now.hashes[HASH] != free:
        raise SourceChanged(f"{src.display}: {entry.path} changed while it was copied (hash)")


def _check_source_hash(src: Provider, entry: Entry, md5: str) -> None:
    free = entry.hashes.get(HASH)
    if free and free != md5:
        raise VerificationFailed(f"{src.display}: {entry.path}: read {md5}, the server says {free}: corrupted read")


def _resume_valid(resume: Progress | None, entry: Entry, kind: str) -> bool:
    return bool(resume) and resume.get("writer") == kind and resume.get("size") == entry.size \
        and resume.get("mtime") == entry.mtime.timestamp()


# -- local and SFTP: a growing temporary file -------------------------------------------------------


class _FileOps:
    """File operations on a local or SFTP destination by absolute path."""

    def __init__(self, dst: Provider):
        self.dst = dst
        self.sftp = getattr(dst, "_sftp", None) if dst.kind == "sftp" else None

    def abs(self, path: str) -> str:
        return str(self.dst._abs(path))  # type: ignore[attr-defined]

    def size(self, path: str) -> int | None:
        try:
            if self.sftp is not None:
                return self.sftp.stat(self.abs(path)).st_size or 0
            return os.stat(self.abs(path)).st_size
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise

    def open(self, path: str, offset: int) -> Any:
        if self.sftp is not None:
            if offset:
                self.sftp.truncate(self.abs(path), offset)
                handle = self.sftp.open(self.abs(path), "r+b")
                handle.seek(offset)
            else:
                handle = self.sftp.open(self.abs(path), "wb")
            handle.set_pipelined(True)
            return handle
        if offset:
            handle = open(self.abs(path), "r+b")  # noqa: SIM115 - closed by the caller
            handle.truncate(offset)
            handle.seek(offset)
            return handle
        return open(self.abs(path), "wb")  # noqa: SIM115

    def durable(self, handle: Any, path: str, offset: int) -> Any:
        """Make everything written so far stick; returns the handle to go on writing with."""
        if self.sftp is not None:
            # closing waits for every pipelined write (paramiko loses track of pipelined replies if
            # another request goes out on the handle meanwhile, so no fstat here)
            handle.close()
            handle = self.sftp.open(self.abs(path), "r+b")
            handle.seek(offset)
            handle.set_pipelined(True)
            return handle
        handle.flush()
        os.fsync(handle.fileno())
        return handle

    def set_mtime(self, path: str, mtime: datetime) -> None:
        ts = mtime.timestamp()
        if self.sftp is not None:
            self.sftp.utime(self.abs(path), (ts, ts))
        else:
            ns = round(ts * 1e9)
            os.utime(self.abs(path), ns=(ns, ns))

    def md5(self, path: str, size: int) -> str:
        if self.sftp is not None:
            if size >= 8 * 1024 * 1024:
                remote = remote_md5(self.dst, path)
                if remote:
                    return remote
            digest = hashlib.md5()
            with self.sftp.open(self.abs(path), "rb") as handle:
                handle.prefetch(size)
                while chunk := handle.read(READ_CHUNK):
                    digest.update(chunk)
            return digest.hexdigest()
        digest = hashlib.md5()
        with open(self.abs(path), "rb") as handle:
            while chunk := handle.read(READ_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    def rename(self, temp: str, final: str) -> None:
        if self.sftp is not None:
            try:
                attrs = self.sftp.stat(self.abs(final))
                if statmod.S_ISDIR(attrs.st_mode or 0):
                    raise ProviderError(f"{self.dst.display}: {final} is a directory")
            except FileNotFoundError:
                pass
            self.sftp.posix_rename(self.abs(temp), self.abs(final))
        else:
            if os.path.isdir(self.abs(final)):
                raise ProviderError(f"{self.dst.display}: {final} is a directory")
            os.replace(self.abs(temp), self.abs(final))

    def remove(self, path: str) -> None:
        try:
            if self.sftp is not None:
                self.sftp.remove(self.abs(path))
            else:
                os.unlink(self.abs(path))
        except OSError:
            pass


_made_dirs: weakref.WeakKeyDictionary[Provider, set[str]] = weakref.WeakKeyDictionary()


def _ensure_parent(dst: Provider, path: str) -> None:
    parent = paths.parent(path)
    if not parent:
        return
    made = _made_dirs.setdefault(dst, set())
    if parent not in made:
        dst.mkdir(parent)
        made.add(parent)


def _fail(dst: Provider, exc: BaseException, path: str) -> BaseException:
    if isinstance(exc, ProviderError | VerificationFailed | Interrupted):
        return exc
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return ProviderError(f"{dst.display}: {path}: no space left on the destination ({exc.strerror})")
    failure = getattr(dst, "_fail", None)
    if failure is not None and isinstance(exc, Exception):
        return failure(exc, path)  # type: ignore[no-any-return]
    return exc


def _file_transfer(src: Provider, entry: Entry, dst: Provider, path: str, ctx: TransferContext,
                   resume: Progress | None) -> TransferResult:
    ops = _FileOps(dst)
    kind = "file"
    offset = 0
    token = secrets.token_hex(8)
    if _resume_valid(resume, entry, kind) and resume is not None:
        token = str(resume["token"])
        existing = ops.size(temp_for(path, token))
        offset = min(int(resume.get("offset", 0)), existing or 0) if existing is not None else 0
    elif resume and resume.get("writer") == kind and resume.get("token"):
        ops.remove(temp_for(path, str(resume["token"])))  # the source changed: that progress is stale
    temp = temp_for(path, token)
    digest = read_md5(src, entry.path, 0, offset) if offset else hashlib.md5()
    reader: HashingReader | None = None
    keep_temp = False
    try:
        _ensure_parent(dst, path)
        ctx.checkpoint({"writer": kind, "token": token, "offset": offset, "size": entry.size,
                        "mtime": entry.mtime.timestamp()})
        every = ctx.chunk_size if entry.size >= ctx.large_file else 0
        with src.open_read(entry.path, offset) as stream:
            reader = HashingReader(stream, digest, ctx.limiter, ctx.check)
            handle = ops.open(temp, offset)
            try:
                since = 0
                while chunk := reader.read(READ_CHUNK):
                    handle.write(chunk)
                    ctx.on_bytes(len(chunk))
                    since += len(chunk)
                    if every and since >= every:
                        handle = ops.durable(handle, temp, offset + reader.count)
                        since = 0
                        ctx.checkpoint({"writer": kind, "token": token, "offset": offset + reader.count,
                                        "size": entry.size, "mtime": entry.mtime.timestamp()})
                handle = ops.durable(handle, temp, offset + reader.count)
            finally:
                handle.close()
        md5 = digest.hexdigest()
        written = offset + reader.count
        if written != entry.size:
            raise SourceChanged(f"{src.display}: {entry.path} changed while it was copied "
                                f"(read {written} bytes, expected {entry.size})")
        _check_source_hash(src, entry, md5)
        check_source_unchanged(src, entry)
        mtime = source_mtime(src, entry) if dst.capabilities.set_mtime else None
        if mtime is not None:
            ops.set_mtime(temp, mtime)
        landed = ops.md5(temp, written)
        if landed != md5:
            raise VerificationFailed(f"{dst.display}: {path}: wrote {md5}, the destination has {landed}")
        ops.rename(temp, path)
    except BaseException as exc:
        keep_temp = every_resumable(exc) and entry.size >= ctx.large_file
        if not keep_temp:
            ops.remove(temp)
        if reader is not None and reader.count == 0 and isinstance(exc, ObjectNotFound):
            raise
        raise _fail(dst, exc, path) from None
    if mtime is None:
        landed_entry = dst.stat(path)
    else:
        if dst.capabilities.mtime_precision >= 1:  # SFTP v3 keeps whole seconds
            mtime = datetime.fromtimestamp(int(mtime.timestamp()), UTC)
        landed_entry = Entry(path=path, size=written, mtime=mtime)
    return TransferResult(entry=landed_entry, md5=md5, sent=reader.count, resumed_from=offset)


def every_resumable(exc: BaseException) -> bool:
    """Keep a temporary file for the next attempt after an interruption, not after a hard failure."""
    if isinstance(exc, VerificationFailed | SourceChanged):
        return False
    if isinstance(exc, Interrupted):
        return True
    if isinstance(exc, ProviderTransient | ConnectionError | EOFError | TimeoutError):
        return True
    if isinstance(exc, OSError):
        return exc.errno not in (errno.ENOSPC, errno.EDQUOT)
    return not isinstance(exc, Exception)  # KeyboardInterrupt, cancellation (BaseException)


# -- S3: verified PUT or resumable multipart ----------------------------------------------------------


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def _s3_transfer(src: Provider, entry: Entry, dst: Any, path: str, ctx: TransferContext,
                 resume: Progress | None) -> TransferResult:
    from syncoxide.providers.s3 import S3_ERRORS, _mtime_text

    mtime = source_mtime(src, entry)
    try:
        if entry.size < ctx.large_file:
            with src.open_read(entry.path) as stream:
                reader = HashingReader(stream, None, ctx.limiter, ctx.check)
                body = reader.read()
            md5 = reader.digest.hexdigest()
            if len(body) != entry.size:
                raise SourceChanged(f"{src.display}: {entry.path} changed while it was copied")
            _check_source_hash(src, entry, md5)
            # straight to the final key: the server refuses the body unless it hashes to the Content-MD5,
            # and nothing is visible there until the PUT is complete
            etag = dst.put(path, body, reader.digest.digest(), mtime)
            ctx.on_bytes(len(body))
            if etag != md5:
                raise VerificationFailed(f"{dst.display}: {path}: stored ETag {etag} is not {md5}")
            # no HEAD needed: the server checked the bytes, and size, time and MD5 are known
            stored = Entry(path=path, size=len(body), mtime=mtime, hashes={HASH: md5})
            return TransferResult(entry=stored, md5=md5, sent=len(body))
        return _s3_multipart(src, entry, dst, path, ctx, resume, {"mtime": _mtime_text(mtime)})
    except S3_ERRORS as exc:
        raise dst._fail(exc, path) from None


def _s3_multipart(src: Provider, entry: Entry, dst: Any, path: str, ctx: TransferContext,
                  resume: Progress | None, metadata: dict[str, str]) -> TransferResult:
    client, bucket, key = dst._client, dst.bucket, dst._key(path)
    size, part_size = entry.size, ctx.chunk_size
    parts: list[list[Any]] = []  # [number, etag, md5 hex]
    upload_id = None
    if _resume_valid(resume, entry, "s3") and resume is not None and resume.get("part_size") == part_size:
        upload_id = str(resume["upload_id"])
        try:
            listed = {p["PartNumber"]: p["ETag"].strip('"') for p in
                      client.list_parts(Bucket=bucket, Key=key, UploadId=upload_id).get("Parts", [])}
            for number, etag, md5 in resume.get("parts", []):
                if listed.get(number) != etag:
                    break
                parts.append([number, etag, md5])
        except Exception:  # noqa: BLE001 - the upload expired or was aborted: start again
            upload_id, parts = None, []
    elif resume and resume.get("writer") == "s3" and resume.get("upload_id"):
        _abort(client, bucket, key, str(resume["upload_id"]))
    if upload_id is None:
        upload_id = client.create_multipart_upload(Bucket=bucket, Key=key, Metadata=metadata)["UploadId"]
    resumed_from = len(parts) * part_size

    def save() -> None:
        ctx.checkpoint({"writer": "s3", "upload_id": upload_id, "part_size": part_size, "parts": parts,
                        "size": size, "mtime": entry.mtime.timestamp(), "offset": len(parts) * part_size})

    save()
    sent = 0
    try:
        # the whole file's MD5 on this thread as it reads; each part's MD5 (its Content-MD5) on the thread
        # that uploads it, so the two hashes run side by side
        whole = read_md5(src, entry.path, 0, resumed_from) if resumed_from else hashlib.md5()

        def upload(number: int, chunk: bytes) -> list[Any]:
            md5 = hashlib.md5(chunk)
            answer = client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number,
                                        Body=chunk, ContentMD5=_b64(md5.digest()))
            etag = answer["ETag"].strip('"').lower()
            if etag != md5.hexdigest():
                raise VerificationFailed(f"{dst.display}: {path}: part {number} stored as {etag}")
            ctx.on_bytes(len(chunk))
            return [number, etag, md5.hexdigest()]

        # parts go up PART_CONCURRENCY at a time; the checkpoint advances over the contiguous prefix
        # of verified parts, so a resume never skips a part that did not make it
        pending: dict[int, Future[list[Any]]] = {}
        finished: dict[int, list[Any]] = {}
        with src.open_read(entry.path, resumed_from) as stream, \
                ThreadPoolExecutor(PART_CONCURRENCY, thread_name_prefix="part") as pool:
            reader = HashingReader(stream, whole, ctx.limiter, ctx.check)
            number = len(parts) + 1
            while chunk := _read_exactly(reader, part_size):
                sent += len(chunk)
                pending[number] = pool.submit(contextvars.copy_context().run, upload, number, chunk)
                number += 1
                while len(pending) >= PART_CONCURRENCY:
                    _collect(pending, finished, wait_one=True)
                    _advance(parts, finished, save)
            while pending:
                _collect(pending, finished, wait_one=True)
                _advance(parts, finished, save)
        total = resumed_from + sent
        if total != size:
            raise SourceChanged(f"{src.display}: {entry.path} changed while it was copied")
        _check_source_hash(src, entry, whole.hexdigest())
        check_source_unchanged(src, entry)
        expected = hashlib.md5(b"".join(bytes.fromhex(p[2]) for p in parts)).hexdigest() + f"-{len(parts)}"
        answer = client.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": f'"{e}"'} for n, e, _ in parts]},
        )
        stored = answer.get("ETag", "").strip('"').lower()
        whole_md5 = whole.hexdigest()
        if stored and stored not in (expected, whole_md5):  # some servers give the whole object's MD5
            raise VerificationFailed(f"{dst.display}: {path}: multipart ETag {stored} is not {expected}")
    except BaseException as exc:
        if not every_resumable(exc):
            _abort(client, bucket, key, upload_id)
        raise
    return TransferResult(entry=dst.stat(path), md5=whole_md5, sent=sent, resumed_from=resumed_from)


def _collect(pending: dict[int, Future[list[Any]]], finished: dict[int, list[Any]], wait_one: bool) -> None:
    done, _ = wait(list(pending.values()), return_when=FIRST_COMPLETED if wait_one else ALL_COMPLETED)
    for number in [n for n, f in pending.items() if f in done]:
        finished[number] = pending.pop(number).result()  # a failed part raises here


def _advance(parts: list[list[Any]], finished: dict[int, list[Any]], save: Callable[[], None]) -> None:
    moved = False
    while parts and parts[-1][0] + 1 in finished or not parts and 1 in finished:
        parts.append(finished.pop(parts[-1][0] + 1 if parts else 1))
        moved = True
    if moved:
        save()


def _read_exactly(reader: HashingReader, size: int) -> bytes:
    first = reader.read(size)
    if len(first) == size or not first:
        return first
    pieces, got = [first], len(first)
    while got < size and (data := reader.read(size - got)):
        pieces.append(data)
        got += len(data)
    return b"".join(pieces)


def _abort(client: Any, bucket: str, key: str, upload_id: str) -> None:
    try:
        client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    except Exception:  # noqa: BLE001, S110 - best effort: an upload that is gone is already aborted
        pass


def abort_stale(dst: Provider, path: str, progress: Progress) -> None:
    """Clean up what an abandoned transfer left: its temporary file or its multipart upload."""
    if progress.get("writer") == "file" and progress.get("token") and dst.kind in ("local", "sftp"):
        _FileOps(dst).remove(temp_for(path, str(progress["token"])))
    elif progress.get("writer") == "s3" and progress.get("upload_id") and dst.kind == "s3":
        _abort(dst._client, dst.bucket, dst._key(path), str(progress["upload_id"]))  # type: ignore[attr-defined]


# -- any other provider: its own atomic write to a temporary name, verify, move ----------------------


def _generic_transfer(src: Provider, entry: Entry, dst: Provider, path: str, ctx: TransferContext) -> TransferResult:
    temp = temp_for(path, secrets.token_hex(8))
    with src.open_read(entry.path) as stream:
        reader = HashingReader(stream, None, ctx.limiter, ctx.check)
        written = dst.write(temp, reader, size=entry.size, mtime=source_mtime(src, entry))
    try:
        md5 = reader.digest.hexdigest()
        ctx.on_bytes(reader.count)
        if reader.count != entry.size:
            raise SourceChanged(f"{src.display}: {entry.path} changed while it was copied")
        _check_source_hash(src, entry, md5)
        landed = written.hashes.get(HASH) or read_md5(dst, temp).hexdigest()
        if landed != md5:
            raise VerificationFailed(f"{dst.display}: {path}: wrote {md5}, the destination has {landed}")
        dst.move(temp, path)
    except BaseException:
        try:
            dst.delete(temp)
        except ProviderError:
            pass
        raise
    return TransferResult(entry=dst.stat(path), md5=md5, sent=reader.count)


def transfer(src: Provider, entry: Entry, dst: Provider, path: str, ctx: TransferContext,
             resume: Progress | None = None) -> TransferResult:
    """Copy ``entry`` from ``src`` to ``path`` on ``dst``, verified; resume from ``resume`` where it is valid."""
    if dst.kind in ("local", "sftp"):
        return _file_transfer(src, entry, dst, path, ctx, resume)
    if dst.kind == "s3":
        return _s3_transfer(src, entry, dst, path, ctx, resume)
    return _generic_transfer(src, entry, dst, path, ctx)
