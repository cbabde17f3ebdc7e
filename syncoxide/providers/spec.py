"""A provider as data: kind, location, options and secret references (never secret values).

    ProviderSpec(kind="s3", location="s3://bucket/prefix",
                 options={"endpoint_url": "https://s3.example.net"},
                 secrets={"access_key_id": "env:S3_KEY", "secret_access_key": "file:~/.s3-secret"})

A spec travels in workflow payloads and the store; ``open_provider`` resolves its secrets inside
the process that opens it. A location (or a URL option) holding a password or another secret is refused
(``syncoxide.secrets.in_locations``): secrets are references, never part of a location.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from syncoxide.config import Settings
from syncoxide.providers.base import Provider
from syncoxide.secrets import SecretRef
from syncoxide.secrets.in_locations import credentials_problem, refuse_credentials

ProviderKind = Literal["local", "sftp", "s3", "webdav", "rclone"]
OptionValue = str | int | float | bool

# kind -> (module, options it takes, secrets it takes)
KINDS: dict[str, tuple[str, frozenset[str], frozenset[str]]] = {
    "local": ("syncoxide.providers.local", frozenset({"links", "copy_links"}), frozenset()),
    "sftp": (
        "syncoxide.providers.sftp.provider",
        frozenset({"key_file", "known_hosts", "timeout"}),
        frozenset({"password", "key_passphrase"}),
    ),
    "s3": (
        "syncoxide.providers.s3.provider",
        frozenset(
            {
                "endpoint_url",
                "region",
                "addressing_style",
                "verify_tls",
                "multipart_threshold",
                "multipart_chunksize",
                "timeout",
            }
        ),
        frozenset({"access_key_id", "secret_access_key", "session_token"}),
    ),
    "webdav": (
        "syncoxide.providers.webdav",
        frozenset({"user", "verify_tls", "timeout", "etag_hash", "oc_mtime"}),
        frozenset({"password", "bearer_token"}),
    ),
    "rclone": ("syncoxide.providers.rclone", frozenset({"config", "flags"}), frozenset()),
}


class ProviderSpec(BaseModel):
    # a refused location's secret stays out of messages
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    kind: ProviderKind
    location: str = Field(
        description="local path, sftp://user@host:port/path, s3://bucket/prefix, "
        "http(s)://host/path (WebDAV) or remote:path (rclone)"
    )
    options: dict[str, OptionValue] = Field(default_factory=dict)
    secrets: dict[str, SecretRef] = Field(default_factory=dict)

    @field_validator("secrets", mode="before")
    @classmethod
    def _parse_refs(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: SecretRef.parse(v) if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("location")
    @classmethod
    def _location_given(cls, value: str, info: ValidationInfo) -> str:
        if not value.strip():
            raise ValueError("a provider needs a location")
        return refuse_credentials(value, kind=info.data.get("kind"), field="")  # (pydantic names the field)

    @model_validator(mode="after")
    def _no_credentials_in_options(self) -> ProviderSpec:
        for name, value in self.options.items():
            if isinstance(value, str) and (problem := credentials_problem(value, kind=self.kind)):
                raise ValueError(f"options.{name}: {problem}")  # an endpoint_url with user:password@
        return self

    @model_validator(mode="after")
    def _known_keys(self) -> ProviderSpec:
        _, options, secrets = KINDS[self.kind]
        if self.kind == "rclone":
            return self  # any secret name becomes an RCLONE_CONFIG_<REMOTE>_<NAME> variable
        for what, given, known in (("option", self.options, options), ("secret", self.secrets, secrets)):
            unknown = sorted(set(given) - known)
            if unknown:
                allowed = ", ".join(sorted(known)) or "none"
                raise ValueError(f"unknown {what} {unknown[0]!r} for a {self.kind} provider (known: {allowed})")
        return self


def provider_module(kind: str) -> ModuleType:
    """The module of a provider kind: ``connect(spec, settings)``; and, for a kind whose root can be missing with
    no parent directory to make it in (an S3 bucket), ``make_root(spec, settings)`` and its ``CAPABILITIES``."""
    return importlib.import_module(KINDS[kind][0])


def open_provider(spec: ProviderSpec, settings: Settings) -> Provider:
    """Resolve the spec's secrets and connect; errors are ProviderError subclasses or SecretUnavailable."""
    return provider_module(spec.kind).connect(spec, settings)
