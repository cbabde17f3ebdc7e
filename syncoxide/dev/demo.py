"""The first-run demo: a sample folder, a borg repository, one backup through Temporal."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from syncoxide.config import Settings

SAMPLE_FILES = {
    "README.txt": "This folder was made by `syncoxide demo` and backed up through Temporal.\n",
    "notes/ideas.md": "# Ideas\n\n- back up everything twice\n- restore once a month\n",
    "notes/todo.txt": "water the plants\n",
    "photos/2026/holiday.raw": None,
    "code/hello.py": 'print("hello from a backup")\n',
}


def demo_dir(settings: Settings) -> Path:
    return settings.home / "demo"


def make_sample(settings: Settings) -> Path:
    sample = demo_dir(settings) / "sample"
    for relative, text in SAMPLE_FILES.items():
        path = sample / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            continue
        if text is None:
            path.write_bytes(os.urandom(2 * 1024 * 1024))
        else:
            path.write_text(text, encoding="utf-8")
    return sample


def passphrase_file(settings: Settings) -> Path:
    path = demo_dir(settings) / "passphrase"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(24) + "\n")
    return path
