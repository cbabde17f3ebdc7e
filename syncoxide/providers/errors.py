"""Provider errors: each says which provider and which path, never a credential.

They extend the core classes in syncoxide/errors.py, so activities classify them the same way
(retryable or not) and the CLI prints their one line.
"""

from __future__ import annotations

import errno

from syncoxide.errors import InvalidInput, NotFound, SyncoxideError

FULL = (errno.ENOSPC, errno.EDQUOT)


class ProviderError(SyncoxideError):
    """A provider operation failed for a reason retrying will not fix."""


class ProviderTransient(ProviderError):
    """The server is unreachable, timed out or answered 5xx; retrying later can succeed."""

    retryable = True


class ProviderNotFound(ProviderError, NotFound):
    """The provider's root itself is missing: no such bucket, share, remote or directory."""


class ObjectNotFound(ProviderError, NotFound):
    """No file or directory at the given path."""


class ProviderAuthFailed(ProviderError):
    """The server refused the credentials (wrong key, password or signature)."""


class NotSupported(ProviderError, InvalidInput):
    """The provider cannot do this (e.g. server-side copy on a server without one)."""


class NoSpace(ProviderError):
    """The destination's filesystem is full, or the account's quota used up."""

    @classmethod
    def of(cls, display: str, path: str, exc: OSError) -> NoSpace:
        return cls(f"{display}: {path}: no space left on the destination ({exc.strerror})")
