"""Where syncoxide keeps its data, found without loading the settings machinery (config.py uses it too).

Precedence as in the settings: SYNCOXIDE_HOME, then ``home`` in the config file (SYNCOXIDE_CONFIG,
default ``syncoxide.toml`` in the data dir), then ``$XDG_DATA_HOME/syncoxide``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path


def default_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "syncoxide"


def config_file() -> Path:
    explicit = os.environ.get("SYNCOXIDE_CONFIG")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("SYNCOXIDE_HOME", default_home())) / "syncoxide.toml"


def home() -> Path:
    if "SYNCOXIDE_HOME" in os.environ:
        return Path(os.environ["SYNCOXIDE_HOME"])
    try:
        with open(config_file(), "rb") as f:
            configured = tomllib.load(f).get("home")
    except (OSError, tomllib.TOMLDecodeError):
        configured = None
    return Path(configured) if isinstance(configured, str) else default_home()
