"""Settings from the environment (SYNCOXIDE_*) and an optional TOML file.

Precedence: environment, then the file named by SYNCOXIDE_CONFIG (default: syncoxide.toml in
the data dir), then the defaults below.
"""

from __future__ import annotations

import os
import shutil
import sys
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from syncoxide.home import config_file, default_home

TOOLS_DIR = Path(os.environ.get("SYNCOXIDE_TOOLS_DIR", Path.home() / ".cache" / "syncoxide" / "bin"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SYNCOXIDE_", extra="forbid")

    home: Path = Field(default_factory=default_home, description="data dir")
    temporal_address: str | None = Field(
        default=None, description="host:port of a Temporal cluster; unset means the embedded dev server"
    )
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    namespace: str = "default"
    payload_keys: str | None = Field(
        default=None, description="secret reference to the payload key list (default file:<home>/payload.keys)"
    )
    payload_plaintext_reads: bool = Field(
        default=False, description="let clients read payloads written before the codec (workers never do)"
    )
    codec_port: int = Field(default=8234, description="where the embedded stack's codec server listens")
    codec_token: str | None = Field(
        default=None, description="secret reference to the codec bearer token (default file:<home>/codec.token)"
    )
    api_port: int = Field(default=8235, description="where `syncoxide serve` (the REST API) listens")
    api_address: str = Field(
        default="127.0.0.1", description="the API's listen address; beyond loopback it needs TLS or a proxy"
    )
    api_tls_cert: Path | None = Field(default=None, description="the API's TLS certificate chain (PEM file)")
    api_tls_key: Path | None = Field(default=None, description="the API's TLS private key (PEM file)")
    api_trusted_proxy: str | None = Field(
        default=None,
        description="the one address whose X-Forwarded-For/-Proto the API believes (with --insecure-behind-proxy)",
    )
    api_token_key: str | None = Field(
        default=None,
        description="secret reference to the key API token hashes are made with (default file:<home>/api-token.key)",
    )
    database_url: str | None = Field(
        default=None, description="PostgreSQL URL; unset means the embedded server under the data dir"
    )
    task_queue: str = Field(default="syncoxide", description="workflows; engine activities use <this>-engine")
    max_concurrent_engine_activities: int = 4
    dashboard_port: int = 8501
    dashboard_address: str = Field(default="127.0.0.1", description="where the dashboard listens")
    dashboard_public_names: list[str] = Field(
        default_factory=list, description="host names the dashboard is reached by, e.g. behind a proxy (JSON list)"
    )
    dashboard_password: str | None = Field(
        default=None,
        description="secret reference to a password hash (syncoxide dashboard hash-password); "
        "required when the dashboard listens beyond loopback",
    )
    dashboard_readonly_password: str | None = Field(
        default=None, description="secret reference to the hash of a password that may look but not act"
    )
    restore_roots: list[str] = Field(
        default_factory=lambda: [str(Path.home()), "/tmp"],
        description="folders the dashboard may restore into (JSON list in the environment)",
    )
    health_every: str = Field(default="5min", description="how often late policies are looked for")
    metrics_address: str | None = Field(
        default="127.0.0.1:9464", description="where the worker serves Prometheus metrics; empty turns them off"
    )
    ssh_options: str | None = Field(
        default=None, description="extra ssh arguments for remote repositories, e.g. '-i KEY -o UserKnownHostsFile=F'"
    )
    borg_remote_path: str | None = Field(default=None, description="borg on the remote side, if not `borg`")
    catalog_location: str | None = Field(
        default=None,
        description="where the catalog's Parquet parts go: a local dir (default <home>/catalog) or "
        "s3://bucket/prefix?endpoint_override=http://host:port",
    )
    catalog_s3_access_key: str | None = Field(default=None, description="secret reference for an S3 catalog")
    catalog_s3_secret_key: str | None = Field(default=None, description="secret reference for an S3 catalog")
    hash_threads: int = Field(default=4, ge=1, description="files hashed at once during a scan")
    temporal_bin: str | None = None
    borg_bin: str | None = None
    restic_bin: str | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=config_file()),
        )

    @property
    def engine_task_queue(self) -> str:
        return engine_queue_for(self.task_queue)

    @property
    def embedded_temporal(self) -> bool:
        return self.temporal_address is None

    @property
    def temporal_target(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def temporal_ui_url(self) -> str:
        return f"http://127.0.0.1:{self.temporal_ui_port}"

    @property
    def embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def pgdata(self) -> Path:
        return self.home / "postgres"

    @property
    def catalog_uri(self) -> str:
        return self.catalog_location or str(self.home / "catalog")

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def engine_state_dir(self) -> Path:
        """Engine caches, borg's security/keys dirs and restic's cache live here."""
        return self.home / "engines"

    @cached_property
    def tools(self) -> Tools:
        return Tools(self)


class Tools:
    """Where the external programs are: explicit setting, then the build cache, then PATH."""

    def __init__(self, settings: Settings):
        self._settings = settings

    def _find(self, name: str, explicit: str | None) -> str | None:
        if explicit:
            return explicit
        for candidate in (TOOLS_DIR / name, Path(sys.executable).parent / name):
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
        return shutil.which(name)

    @property
    def temporal(self) -> str | None:
        return self._find("temporal", self._settings.temporal_bin)

    @property
    def restic(self) -> str | None:
        return self._find("restic", self._settings.restic_bin)

    @property
    def borg(self) -> str | None:
        return self._find("borg", self._settings.borg_bin)

    @property
    def rclone(self) -> str | None:
        return self._find("rclone", None)


def engine_queue_for(task_queue: str) -> str:
    """Engine activities (heavy I/O, bounded concurrency) run on a queue of their own."""
    return f"{task_queue}-engine"


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
