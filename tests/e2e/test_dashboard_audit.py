"""The dashboard's Audit page with Streamlit's AppTest, over entries recorded in the stack's PostgreSQL as the
API's middleware and the CLI record them: newest first, filtered by who and by refusal, paged back."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from syncoxide.store import audit, open_store

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("stack_env")]
APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
COLUMNS = ["time", "who", "scope", "method", "path", "target", "status", "address", "detail"]


def audit_page(role: str | None = None) -> AppTest:
    test = AppTest.from_file(str(APP), default_timeout=60)
    if role:
        test.session_state["role"] = role
    test.run().switch_page("views/audit.py").run()
    assert not test.exception, test.exception
    assert test.title[0].value == "Audit"
    return test


def button(test: AppTest, label: str):
    return next(b for b in test.button if b.label == label)


def rows(test: AppTest) -> list[dict]:
    return test.dataframe[0].value.to_dict("records") if test.dataframe else []


def look(test: AppTest, *, who: str | None = None, refused: bool | None = None, size: int | None = None) -> AppTest:
    if who is not None:
        test.text_input(key="audit_actor").input(who).run()
    if refused is not None:
        test.checkbox(key="audit_refused").set_value(refused).run()
    if size is not None:
        test.selectbox(key="audit_size").select(size).run()
    assert not test.exception, test.exception
    return test


@pytest.fixture()
def three(stack) -> dict:
    """A start accepted for a token, an anonymous attempt refused, a token refused its scope: in that order."""
    tag = uuid.uuid4().hex[:6]
    ci, viewer = f"ci-{tag}", f"viewer-{tag}"
    with open_store(stack.settings) as conn:
        audit.record(
            conn,
            actor=ci,
            scope="operate",
            method="POST",
            path=f"/api/v1/runs/backup/{tag}",
            status=202,
            address="10.0.0.5",
            detail={"run_id": f"backup-{tag}", "replayed": False},
        )
        audit.record(
            conn,
            actor="anonymous",
            scope=None,
            method="POST",
            path=f"/api/v1/runs/backup/{tag}",
            status=401,
            address="203.0.113.9",
        )
        audit.record(
            conn,
            actor=viewer,
            scope="read",
            method="DELETE",
            path=f"/api/v1/repositories/{tag}",
            status=403,
            address="10.0.0.7",
            target=f"repo-{tag}",
        )
    return {"tag": tag, "ci": ci, "viewer": viewer}


def test_entries_newest_first_with_every_column_and_refusals_highlighted(three):
    test = audit_page()
    assert list(test.dataframe[0].value.columns) == COLUMNS
    top = rows(test)[:3]
    assert [(r["who"], r["method"], r["status"]) for r in top] == [
        (three["viewer"], "DELETE", 403),
        ("anonymous", "POST", 401),
        (three["ci"], "POST", 202),
    ]
    viewer, anonymous, ci = top
    assert (viewer["scope"], viewer["path"], viewer["target"], viewer["address"]) == (
        "read",
        f"/api/v1/repositories/{three['tag']}",
        f"repo-{three['tag']}",
        "10.0.0.7",
    )
    assert pd.isna(anonymous["scope"]) and anonymous["address"] == "203.0.113.9" and anonymous["detail"] == ""
    assert ci["detail"] == f"run_id=backup-{three['tag']}, replayed=False" and ci["scope"] == "operate"
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+", r["time"]) for r in top)
    styles = test.dataframe[0].proto.arrow_data.styler.styles
    status = COLUMNS.index("status")
    for row, entry in enumerate(top):
        cell = re.search(rf"row{row}_col{status}\b[^{{]*\{{([^}}]*)\}}", styles)
        assert bool(cell and "background-color" in cell.group(1)) == (entry["status"] >= 400), (row, styles)


def test_filter_by_who_and_refused_only(three):
    test = look(audit_page(), who=three["ci"])
    assert [(r["who"], r["status"]) for r in rows(test)] == [(three["ci"], 202)]
    look(test, refused=True)
    assert not rows(test) and any(c.value == "no entries match" for c in test.caption)
    look(test, who="anonymous")
    assert rows(test)[0]["path"] == f"/api/v1/runs/backup/{three['tag']}" and rows(test)[0]["status"] == 401
    assert all(r["who"] == "anonymous" and r["status"] >= 400 for r in rows(test))
    look(test, who="")
    refused = rows(test)
    assert all(r["status"] >= 400 for r in refused)
    assert [(r["who"], r["status"]) for r in refused[:2]] == [(three["viewer"], 403), ("anonymous", 401)]
    look(test, refused=False)
    assert [r["who"] for r in rows(test)[:3]] == [three["viewer"], "anonymous", three["ci"]]


def test_paging_back_to_older_entries_and_forward_again(stack):
    who = f"pager-{uuid.uuid4().hex[:6]}"
    with open_store(stack.settings) as conn:
        for i in range(24):
            status = 409 if i % 2 else 200
            audit.record(conn, actor=who, scope="admin", method="PUT", path=f"/p/{i}", status=status, address=None)
    test = look(audit_page(), who=who, size=10)
    paths = lambda: [r["path"] for r in rows(test)]  # noqa: E731
    assert paths() == [f"/p/{i}" for i in range(23, 13, -1)]
    assert button(test, "newer").disabled and button(test, "newest").disabled
    button(test, "older").click().run()
    assert paths() == [f"/p/{i}" for i in range(13, 3, -1)]
    button(test, "older").click().run()
    assert paths() == ["/p/3", "/p/2", "/p/1", "/p/0"] and button(test, "older").disabled
    button(test, "newer").click().run()
    assert paths() == [f"/p/{i}" for i in range(13, 3, -1)]
    button(test, "newest").click().run()
    assert paths()[0] == "/p/23"

    button(test, "older").click().run()
    look(test, refused=True)  # a filter starts again from the newest
    assert paths() == [f"/p/{i}" for i in range(23, 3, -2)]
    button(test, "older").click().run()
    assert paths() == ["/p/3", "/p/1"] and button(test, "older").disabled
    assert all(r["status"] == 409 for r in rows(test))


def test_read_only_users_are_told_it_is_for_admins(stack):
    test = audit_page(role="read-only")
    assert not test.dataframe and "for admins" in test.info[0].value


def test_nothing_secret_or_hostile_is_shown_as_given(stack):
    who = f"odd-{uuid.uuid4().hex[:6]}"
    with open_store(stack.settings) as conn:
        audit.record(
            conn,
            actor=who,
            scope="admin",
            method="POST",
            path="/api/v1/x\n\x1b[31mred",
            status=422,
            address="::1",
            detail={"token": "sx_not_for_eyes", "run_id": "r-1"},
        )
    test = look(audit_page(), who=who)
    [row] = rows(test)
    assert row["path"] == "/api/v1/x\\n\\x1b[31mred"
    assert row["detail"] == "token=(hidden), run_id=r-1"
    assert "sx_not_for_eyes" not in str(test.dataframe[0].proto)


def test_an_empty_log_says_how_entries_arrive(monkeypatch):
    monkeypatch.setattr(audit, "recent", lambda conn, **_: [])
    test = audit_page()
    assert not test.dataframe
    assert "syncoxide serve" in test.info[0].value and "docs/api.md" in test.info[0].value


def test_refused_only_finds_a_refusal_behind_a_long_run_of_successes_at_once(stack):
    who = f"busy-{uuid.uuid4().hex[:6]}"
    with open_store(stack.settings) as conn:
        audit.record(conn, actor=who, scope="admin", method="POST", path="/refused", status=403, address=None)
        for i in range(5100):
            audit.record(conn, actor=who, scope="admin", method="POST", path=f"/ok/{i}", status=200, address=None)
    test = look(audit_page(), who=who, refused=True)
    assert [(r["path"], r["status"]) for r in rows(test)] == [("/refused", 403)]
    assert button(test, "older").disabled
