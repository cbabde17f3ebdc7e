"""The dashboard's restore to "the original place": every entry it would write is checked against the
allowed folders (SYNCOXIDE_RESTORE_ROOTS), for a whole snapshot as for chosen paths."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from syncoxide.models import RunKind
from syncoxide.store import open_store, runs

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("stack_env")]
APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


@pytest.fixture(autouse=True)
def _fresh_settings():
    """The dashboard keeps its settings in st.cache_resource; these tests change the allowed folders."""
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def wizard(backed_up, roots: list[str], monkeypatch) -> AppTest:
    monkeypatch.setenv("SYNCOXIDE_RESTORE_ROOTS", json.dumps(roots))
    st.cache_resource.clear()
    test = AppTest.from_file(str(APP), default_timeout=60).run()
    test.switch_page("views/restore.py").run()
    test.selectbox(key="wiz_repo_select").select(backed_up["repository"].id).run()
    test.selectbox(key="wiz_snapshot_select").select(backed_up["snapshots"][1]).run()
    assert not test.exception, test.exception
    return test


def restore_runs(stack, backed_up) -> int:
    with open_store(stack.settings) as conn:
        return len(runs.recent(conn, repository_id=backed_up["repository"].id, kind=RunKind.restore, limit=100))


def test_original_place_of_a_whole_snapshot_outside_the_allowed_folders_is_refused(
    stack, backed_up, workdir, monkeypatch
):
    before = restore_runs(stack, backed_up)
    allowed = workdir / "restores"
    test = wizard(backed_up, [str(allowed)], monkeypatch)
    test.radio(key="wiz_mode").set_value("the original place").run()
    errors = [e.value for e in test.error]
    assert errors and errors[0].startswith("original place: "), errors
    assert f"outside the folders restores may write to ({allowed}" in errors[0]
    first = errors[0].rsplit("first: ", 1)[1]
    assert str(backed_up["root"]).startswith(first)  # names the first entry outside (restic lists the parents too)
    assert not [b for b in test.button if b.label == "restore"]

    test.text_input(key="wiz_typed").input(str(backed_up["root"] / "photos"))
    [b for b in test.button if b.label == "add path"][0].click().run()
    errors = [e.value for e in test.error]
    assert errors and errors[0].startswith("original place: ") and "photos" in errors[0], errors
    assert not [b for b in test.button if b.label == "restore"]
    assert restore_runs(stack, backed_up) == before


def test_original_place_inside_the_allowed_folders_restores_and_keeps_what_is_there(stack, backed_up, monkeypatch):
    root = backed_up["root"]
    test = wizard(backed_up, [str(root)], monkeypatch)
    test.radio(key="wiz_mode").set_value("the original place").run()
    assert not test.error, [e.value for e in test.error]
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    [b for b in test.button if b.label == "restore"][0].click().run()
    deadline = time.monotonic() + 120
    while not (test.success or test.error) and time.monotonic() < deadline:
        time.sleep(0.5)
        test.run()
    assert test.success, [e.value for e in test.error]
    assert "existing files kept" in test.success[0].value
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before
