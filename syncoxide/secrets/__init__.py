"""Secret references: a secret is named by where to find it, never carried as a value.

A reference is one of ``env:NAME``, ``file:PATH`` or ``command:SHELL COMMAND``. References travel
in workflow payloads and the store; values are resolved only inside the process that needs them
(an activity) and never logged.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, field_validator

from syncoxide.errors import InvalidInput, SecretUnavailable

SecretKind = Literal["env", "file", "command"]
COMMAND_TIMEOUT_S = 30


class SecretRef(BaseModel, frozen=True):
    kind: SecretKind
    value: str

    @field_validator("value")
    @classmethod
    def _not_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("a secret reference needs a name, path or command")
        return v

    @classmethod
    def parse(cls, text: str) -> SecretRef:
        kind, sep, value = text.partition(":")
        if not sep or kind not in ("env", "file", "command") or not value.strip():
            raise InvalidInput(f"secret reference {text!r} must be env:NAME, file:PATH or command:COMMAND")
        return cls(kind=kind, value=value)

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"

    def resolve(self) -> str:
        """Return the secret. Errors name the reference, never the secret."""
        if self.kind == "env":
            secret = os.environ.get(self.value)
            if secret is None:
                raise SecretUnavailable(f"environment variable {self.value} is not set (secret env:{self.value})")
        elif self.kind == "file":
            try:
                secret = Path(self.value).expanduser().read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise SecretUnavailable(f"cannot read secret file {self.value}: {exc.strerror}") from None
        else:
            try:
                done = subprocess.run(self.value, shell=True, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                raise SecretUnavailable(f"secret command timed out after {COMMAND_TIMEOUT_S}s: {self.value}") from None
            if done.returncode != 0:
                raise SecretUnavailable(f"secret command exited with {done.returncode}: {self.value}")
            secret = done.stdout.rstrip("\r\n")
        if not secret:
            raise SecretUnavailable(f"secret {self} is empty")
        return secret


def ref_from_options(env: str | None, file: str | None, command: str | None) -> SecretRef | None:
    """Build a reference from the CLI's --passphrase-env/-file/-command; at most one may be given."""
    given = [(k, v) for k, v in (("env", env), ("file", file), ("command", command)) if v]
    if len(given) > 1:
        raise InvalidInput("give only one of --passphrase-env, --passphrase-file, --passphrase-command")
    if not given:
        return None
    kind, value = given[0]
    if kind == "file":
        value = str(Path(value).expanduser().resolve())
    return SecretRef(kind=kind, value=value)
