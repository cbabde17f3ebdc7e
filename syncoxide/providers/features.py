"""What a provider may offer beyond the contract, as rclone's ``fs.Features`` has optional interfaces beside its
flags: each is a protocol, reached through an accessor of ``Provider`` that returns None where the provider
has no such thing. The sync layer chooses how to transfer from these (``sync/transfer.py``), never from a
provider's kind.

- ``TempFileWriter`` (local, SFTP): files written in place at any offset, each write made durable, renamed
  into place once checked; so a large file can move in parallel chunks and resume from the last durable one.
- ``MultipartWriter`` (S3): whole objects only, by one PUT or a multipart upload, every body checked by the
  server against its Content-MD5; an upload shows nothing until it is completed, and can be resumed.
- ``ServerMd5`` (SFTP with a shell): the server hashes its own file (``md5sum`` over SSH), so a large file is
  not read back over the wire to be verified.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class TempFileWriter(Protocol):
    """Files by relative path, never reached through a symlink (nor is one at the path written through). The
    caller makes the parent folders through the provider (``mkdir``), which checks them."""

    def open(self, path: str, mode: str) -> Any:
        """``rb``, ``wb`` (create or truncate), ``w+b`` (also read back), ``r+b`` (write into an existing file);
        a file made here is its owner's alone until it lands and takes the source's permission bits."""

    def size(self, path: str) -> int | None:
        """The file's size; None where there is none."""

    def truncate(self, path: str, size: int) -> None: ...

    def write_at(self, path: str, offset: int, data: bytes) -> None:
        """Write ``data`` at ``offset`` of an existing file and make it durable before returning."""

    def seal(self, handle: Any, path: str, mtime: datetime | None) -> None:
        """Everything written through ``handle`` (open on ``path``) is durable and the file has ``mtime``; the
        handle stays open."""

    def close_unanswered(self, handle: Any) -> None:
        """Close a sealed handle without waiting for a round trip where the next request waits anyway."""

    def set_mtime(self, path: str, mtime: datetime) -> None: ...

    def rename(self, temp: str, final: str) -> None:
        """Replace ``final`` with ``temp`` in one step."""

    def is_dir(self, path: str) -> bool: ...

    def remove(self, path: str) -> None: ...

    def explain(self, exc: BaseException, path: str) -> BaseException:
        """``exc`` from writing ``path``, said more precisely where the provider can (a server's generic failure
        that was a full disk); ask while what was written is still there."""

    def failure(self, exc: Exception, path: str) -> Exception:
        """The provider's own error class for a raw error of these operations."""


@runtime_checkable
class MultipartWriter(Protocol):
    """Objects at their final names, written whole: nothing partial is ever visible, so there is no temporary
    name. Parts are numbered from 1; ETags and MD5s are lowercase hex."""

    errors: tuple[type[Exception], ...]
    """what the upload calls raise as the transport gives it (``failure`` says it in the provider's terms)"""

    def put(self, path: str, body: bytes, md5: bytes, mtime: datetime) -> str:
        """One PUT that the server refuses unless the body has ``md5`` (a digest); returns the stored ETag."""

    def start(self, path: str, mtime: datetime) -> str:
        """A new multipart upload of the object that will have ``mtime``; returns its id."""

    def listed_parts(self, path: str, upload_id: str) -> dict[int, str]:
        """The parts the server holds of an upload, by number: their ETags."""

    def upload_part(self, path: str, upload_id: str, number: int, body: bytes, md5: bytes) -> str:
        """One part, refused by the server unless it has ``md5``; returns its ETag."""

    def complete(self, path: str, upload_id: str, parts: list[tuple[int, str]]) -> str:
        """Make the object of these (number, ETag) parts visible; returns its ETag ("" where none is given)."""

    def abort(self, path: str, upload_id: str) -> None:
        """Drop an upload and its parts; one that is gone already is fine."""

    def failure(self, exc: Exception, path: str) -> Exception: ...


@runtime_checkable
class ServerMd5(Protocol):
    def remote_md5(self, path: str) -> str | None:
        """The MD5 the server computes of its own file; None where it cannot (an SFTP-only account)."""
