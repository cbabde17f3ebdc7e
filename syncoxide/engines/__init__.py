"""Backup engines behind one interface (base.BackupEngine)."""

from __future__ import annotations

from syncoxide.config import Settings
from syncoxide.engines.base import BackupEngine
from syncoxide.engines.borg import BorgEngine
from syncoxide.engines.restic import ResticEngine
from syncoxide.errors import InvalidInput, SyncoxideError
from syncoxide.models import Engine

_IMPLEMENTATIONS: dict[Engine, type[BackupEngine]] = {Engine.borg: BorgEngine, Engine.restic: ResticEngine}


def parse_engine(name: str) -> Engine:
    try:
        return Engine(name)
    except ValueError:
        raise InvalidInput(f"engine {name!r}: must be one of {', '.join(e.value for e in Engine)}") from None


def open_engine(settings: Settings, engine: Engine, location: str, passphrase: str) -> BackupEngine:
    binary = getattr(settings.tools, engine.value)
    if binary is None:
        raise SyncoxideError(f"the {engine.value} program was not found (run: make setup)")
    return _IMPLEMENTATIONS[engine](
        binary=binary,
        location=location,
        passphrase=passphrase,
        state_dir=settings.engine_state_dir,
        ssh_options=settings.ssh_options,
        remote_binary=settings.borg_remote_path if engine == Engine.borg else None,
    )
