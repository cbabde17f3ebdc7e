"""What a user's command run beside the engines may see: a stream command (engines.base.stream_command) and
a hook (hooks.run_hooks)."""

from __future__ import annotations

import pytest

from syncoxide.backups.hooks import run_hooks
from syncoxide.engines.base import COMMAND_KEEPS, stream_command
from syncoxide.errors import InvalidInput
from syncoxide.models import StreamSource

ENGINE_ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/root",
    "RESTIC_PASSWORD": "engine-secret",
    "RESTIC_REPOSITORY": "rest:https://u:p@host/",
    "RESTIC_CACHE_DIR": "/c",
}


def test_a_stream_command_is_run_without_the_engines_variables_and_no_value_is_on_its_command_line():
    stream = StreamSource(
        name="postgres/app.pgdump",
        command=["/opt/pg/bin/pg_dump", "--dbname", "host=db"],
        env={"PGPASSWORD": "db-secret"},
    )
    argv, env = stream_command(stream, ENGINE_ENV)
    assert argv[0].endswith("/env")
    dash = argv.index("--")
    assert argv[dash + 1 :] == stream.command
    unset = argv[1:dash]
    assert unset[::2] == ["-u"] * (len(unset) // 2)
    assert set(unset[1::2]) == set(ENGINE_ENV) - COMMAND_KEEPS  # PGPASSWORD is the command's own: kept
    assert not any("secret" in arg or "u:p@" in arg for arg in argv)
    assert env == {**ENGINE_ENV, "PGPASSWORD": "db-secret"}  # the engine itself still has what it needs


@pytest.mark.parametrize("program", ["", "A=b"])
def test_a_stream_command_needs_a_program_name_env_would_not_read_as_an_assignment(program):
    with pytest.raises(InvalidInput, match="stream command"):
        stream_command(StreamSource(name="x", command=[program] if program else []), ENGINE_ENV)


def test_a_hook_gets_the_workers_environment_without_engine_secrets_or_the_repositorys_passphrase(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("RESTIC_PASSWORD", "in-the-worker-env")
    monkeypatch.setenv("BORG_PASSPHRASE", "also-there")
    monkeypatch.setenv("SXT_REPO_PASS", "the-repositorys")
    monkeypatch.setenv("SXT_WEBHOOK", "https://hooks.example/x")
    seen = tmp_path / "env.txt"
    run_hooks("before", [f"env > {seen}"], timeout_s=30, env={"SYNCOXIDE_RUN_ID": "run-1"}, withhold=["SXT_REPO_PASS"])
    text = seen.read_text()
    assert "in-the-worker-env" not in text and "also-there" not in text and "the-repositorys" not in text
    assert "SYNCOXIDE_RUN_ID=run-1" in text
    assert "SXT_WEBHOOK=https://hooks.example/x" in text  # the rest of the worker's environment stays
