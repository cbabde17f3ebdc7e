"""Why an SFTP server refused a request, where its filesystem can say.

SFTP version 3 has one status, "Failure", for most errors: OpenSSH answers a write that failed with ENOSPC,
EDQUOT or EROFS alike. ``refusal`` asks the server about the filesystem (``statvfs@openssh.com``): a refusal
with less than ``NEARLY_FULL`` bytes or no inodes left is a full disk, one on a read-only filesystem says so.
A used-up quota on a filesystem with room left cannot be told from other failures: it stays "Failure".
"""

from __future__ import annotations

import errno

from syncoxide.providers.sftp import wire
from syncoxide.providers.sftp.session import SftpSession
from syncoxide.providers.sftp.wire import SftpError
from syncoxide.units import human_size

NEARLY_FULL = 1024 * 1024
"""Free bytes below which a refused write means a full disk: a write fails for want of room only when less
than its own size (at most 255 KiB from OpenSSH) is left, plus a few blocks of rounding."""


def refusal(session: SftpSession, exc: BaseException, path: str) -> OSError | None:
    """``exc`` (a refused request on ``path``) as ENOSPC or EROFS where the filesystem there is full or
    read-only; None where the server's answer is all there is to say."""
    if not isinstance(exc, SftpError) or exc.code != wire.FAILURE:
        return None
    try:
        room = session.statvfs(path)
    except OSError:
        return None
    if room is None:
        return None
    said = f"the SFTP server refused a write ({str(exc) or 'Failure'!r})"
    if room.read_only:
        return OSError(errno.EROFS, f"{said}: its filesystem is read-only")
    if room.free_bytes < NEARLY_FULL:
        return OSError(errno.ENOSPC, f"{said} with {human_size(room.free_bytes)} free on its filesystem")
    if room.inodes > 0 and room.free_inodes == 0:
        return OSError(errno.ENOSPC, f"{said} with no inodes free on its filesystem (too many files)")
    return None
