"""Why an SFTP server refused a request, from what statvfs@openssh.com says of its filesystem (the real server's
answers are in tests/integration/test_sync_failures.py; here, filesystems a loopback tmpfs cannot be)."""

from __future__ import annotations

import errno

import pytest

from syncoxide.providers.sftp import wire
from syncoxide.providers.sftp.refusal import refusal
from syncoxide.providers.sftp.session import Room
from syncoxide.providers.sftp.wire import SftpError

GIB = 1024**3


class Answers:
    """A session that only answers statvfs, with a given room."""

    def __init__(self, room: Room | None):
        self.room = room

    def statvfs(self, path: str) -> Room | None:
        return self.room


@pytest.mark.parametrize(
    "room, code",
    [
        (Room(free_bytes=0, free_inodes=10, inodes=100, read_only=False), errno.ENOSPC),
        (Room(free_bytes=5 * GIB, free_inodes=0, inodes=100, read_only=False), errno.ENOSPC),
        (Room(free_bytes=5 * GIB, free_inodes=10, inodes=100, read_only=True), errno.EROFS),
        # btrfs, vfat and many FUSE filesystems count no inodes at all: 0 of 0 is not a full inode table
        (Room(free_bytes=5 * GIB, free_inodes=0, inodes=0, read_only=False), None),
        (Room(free_bytes=5 * GIB, free_inodes=10, inodes=100, read_only=False), None),  # a quota, say: unknown
        (None, None),  # no statvfs@openssh.com
    ],
)
def test_a_failure_is_explained_only_where_the_filesystem_says_why(room, code):
    found = refusal(Answers(room), SftpError(wire.FAILURE, "Failure"), "/srv/x")  # type: ignore[arg-type]
    assert (found.errno if found else None) == code


def test_other_refusals_are_left_as_the_server_said_them():
    denied = SftpError(wire.PERMISSION_DENIED, "Permission denied")
    assert refusal(Answers(Room(0, 0, 100, True)), denied, "/srv/x") is None  # type: ignore[arg-type]
