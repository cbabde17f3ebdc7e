"""A stream command (and so pg_dump) runs without the engine's own environment: its passphrase, its
repository, its cache. Real borg and restic, no Temporal: the snapshot's copy of the command's output is
what the command saw."""

from __future__ import annotations

import io
import secrets

import pytest

from syncoxide.config import Settings
from syncoxide.engines import open_engine
from syncoxide.models import Engine, StreamSource

SHOW = 'echo "passphrase=[$RESTIC_PASSWORD$BORG_PASSPHRASE] repository=[$RESTIC_REPOSITORY]"; env'


@pytest.mark.parametrize("kind", [Engine.borg, Engine.restic], ids=lambda e: e.value)
def test_a_stream_command_sees_no_engine_variable(tmp_path, kind):
    settings = Settings(home=tmp_path / "home")
    for name in ("borg", "restic"):
        if getattr(settings.tools, name) is None:
            pytest.fail(f"{name} is not installed: run `make setup`")
    passphrase = "pw-" + secrets.token_hex(12)
    location = str(tmp_path / f"repo-{secrets.token_hex(4)}")
    engine = open_engine(settings, kind, location, passphrase)
    engine.init()
    stream = StreamSource(name="seen/env.txt", command=["sh", "-c", SHOW], env={"STREAM_OWN": "its-own"})
    snapshot, _ = engine.backup([], snapshot_name="env-1", stream=stream)
    out = io.BytesIO()
    engine.read_file(snapshot, "/seen/env.txt", out)
    seen = out.getvalue().decode()

    assert "passphrase=[] repository=[]" in seen
    assert passphrase not in seen
    assert location not in seen
    variables = {line.partition("=")[0] for line in seen.splitlines()[1:] if "=" in line}
    assert not {v for v in variables if v.startswith("RESTIC_")}
    assert not {v for v in variables if v.startswith("BORG_")} - {"BORG_VERSION"}  # borg adds its version
    assert "STREAM_OWN=its-own" in seen  # what the stream brings (PGPASSWORD for pg_dump) it keeps
    assert "PATH" in variables and "HOME" in variables
