"""Errors that carry one clear line for the user.

Each class says whether retrying can help; activities turn that into Temporal's
retryable / non-retryable ApplicationError with the class name as its type.
"""

from __future__ import annotations


class SyncoxideError(Exception):
    """Base class: str(error) is the one line shown to the user."""

    retryable = False


class InvalidInput(SyncoxideError):
    """Bad input from the user: a missing path, an unknown engine, a malformed reference."""


class InvalidValue(InvalidInput, ValueError):
    """A malformed value (a duration, a compression); a ValueError so pydantic validators collect it."""


class SecretUnavailable(SyncoxideError):
    """A secret reference could not be resolved (unset variable, unreadable file, failing command)."""


class WrongPassphrase(SyncoxideError):
    """The repository refused the passphrase."""


class RepositoryNotFound(SyncoxideError):
    """No repository at the given location."""


class RepositoryExists(SyncoxideError):
    """A repository already exists where one was to be created."""


class RepositoryLocked(SyncoxideError):
    """Another process holds the repository lock; retrying later can succeed."""

    retryable = True


class EngineFailed(SyncoxideError):
    """The engine failed for a reason that may be transient (I/O, network)."""

    retryable = True


class VerificationFailed(SyncoxideError):
    """Restored files do not match the snapshot's listing."""


class ServiceUnavailable(SyncoxideError):
    """Temporal or PostgreSQL cannot be reached."""


class NotFound(SyncoxideError):
    """A named object (repository, run, snapshot) does not exist."""


NON_RETRYABLE_TYPES = [
    cls.__name__
    for cls in (
        InvalidInput,
        SecretUnavailable,
        WrongPassphrase,
        RepositoryNotFound,
        RepositoryExists,
        VerificationFailed,
        NotFound,
    )
]
