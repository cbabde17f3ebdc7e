from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncoxide import operations
from syncoxide.models import Engine, Repository
from syncoxide.secrets import SecretRef
from syncoxide.store import open_store, repositories

PASSPHRASE_ENV = "SXT_REPO_PASSPHRASE"


@pytest.fixture(scope="session", autouse=True)
def _passphrase() -> Iterator[str]:
    """The worker resolves env: references in its own environment, which in tests is ours."""
    value = secrets.token_urlsafe(16)
    os.environ[PASSPHRASE_ENV] = value
    yield value
    os.environ.pop(PASSPHRASE_ENV, None)


def make_repository(stack, engine: Engine, location: Path, name: str) -> Repository:
    ref = SecretRef(kind="env", value=PASSPHRASE_ENV)
    operations.init_repository(stack.settings, engine, str(location), ref)
    with open_store(stack.settings) as conn:
        return repositories.add(conn, name=name, engine=engine, location=str(location), passphrase=ref)
