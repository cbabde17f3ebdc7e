"""Storage providers behind one contract (base.Provider): local, sftp, s3, webdav, rclone."""

from syncoxide.providers.base import Capabilities, Entry, Provider
from syncoxide.providers.errors import (
    NotSupported,
    ObjectNotFound,
    ProviderAuthFailed,
    ProviderError,
    ProviderNotFound,
    ProviderTransient,
)
from syncoxide.providers.spec import ProviderSpec, open_provider

__all__ = [
    "Capabilities",
    "Entry",
    "NotSupported",
    "ObjectNotFound",
    "Provider",
    "ProviderAuthFailed",
    "ProviderError",
    "ProviderNotFound",
    "ProviderSpec",
    "ProviderTransient",
    "open_provider",
]
