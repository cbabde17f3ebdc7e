from __future__ import annotations

from pathlib import Path

import pytest

from syncoxide.config import Settings
from syncoxide.errors import InvalidValue


def test_environment_overrides_file_overrides_defaults(tmp_path, monkeypatch):
    for key in ("SYNCOXIDE_TEMPORAL_ADDRESS", "SYNCOXIDE_DATABASE_URL", "SYNCOXIDE_NAMESPACE", "SYNCOXIDE_TASK_QUEUE"):
        monkeypatch.delenv(key, raising=False)
    config = tmp_path / "syncoxide.toml"
    config.write_text('namespace = "from-file"\ntask_queue = "from-file"\n')
    monkeypatch.setenv("SYNCOXIDE_CONFIG", str(config))
    monkeypatch.setenv("SYNCOXIDE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SYNCOXIDE_TASK_QUEUE", "from-env")
    settings = Settings()
    assert settings.home == tmp_path / "home"
    assert settings.namespace == "from-file"
    assert settings.task_queue == "from-env"
    assert settings.engine_task_queue == "from-env-engine"
    assert settings.embedded_temporal and settings.temporal_target == "127.0.0.1:7233"
    assert settings.pgdata == Path(tmp_path / "home" / "postgres")


def test_an_external_cluster_and_database_are_used_as_given(monkeypatch):
    monkeypatch.setenv("SYNCOXIDE_TEMPORAL_ADDRESS", "temporal.internal:7233")
    monkeypatch.setenv("SYNCOXIDE_DATABASE_URL", "postgresql://u@db/syncoxide")
    settings = Settings()
    assert not settings.embedded_temporal and settings.temporal_target == "temporal.internal:7233"
    assert not settings.embedded_database


def test_an_interval_with_a_bare_m_is_refused_as_ambiguous():
    from syncoxide.models import parse_duration, parse_interval

    assert parse_interval("15min").total_seconds() == 900 and parse_interval("1d6h").total_seconds() == 108_000
    with pytest.raises(
        InvalidValue,
        match=r"^interval '15m': 'm' would mean months here; write 15min for minutes"
        r" or 450d for months$",
    ):
        parse_interval("15m")
    assert parse_duration("1m").days == 30  # retention's keep_within keeps restic's meaning
