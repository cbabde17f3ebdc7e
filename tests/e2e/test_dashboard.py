"""The dashboard's overview against the real store of the test stack."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from syncoxide import client as temporal
from syncoxide.models import RunKind
from syncoxide.store import open_store, runs

pytestmark = pytest.mark.e2e
APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


def test_overview_lists_repositories_and_runs_from_the_store(stack, monkeypatch):
    for key in ("SYNCOXIDE_HOME", "SYNCOXIDE_TEMPORAL_ADDRESS", "SYNCOXIDE_DATABASE_URL"):
        monkeypatch.setenv(key, stack.env[key])
    with open_store(stack.settings) as conn:
        runs.start(conn, run_id="backup-dashboard-test", kind=RunKind.backup, repository_id=None)

    app = AppTest.from_file(str(APP), default_timeout=30).run()

    assert not app.exception
    assert [h.value for h in app.header] == ["Repositories", "Recent runs"]
    assert {m.label for m in app.metric} >= {"temporal", "postgres", "worker"}
    recent = app.dataframe[1].value
    assert temporal.workflow_url(stack.settings, "backup-dashboard-test") in list(recent["run"])
