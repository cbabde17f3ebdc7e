"""Every dashboard page with Streamlit's AppTest, against a store and catalog built from real
backups and scans on the test stack; actions start real workflows."""

from __future__ import annotations

import asyncio
import io
import tarfile
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from syncoxide.models import RunKind
from syncoxide.orchestration import client as temporal
from syncoxide.orchestration import schedules
from syncoxide.store import catalog as manifest
from syncoxide.store import cleanup as plans
from syncoxide.store import open_store, runs
from syncoxide.store.locks import repository_gate
from tests.e2e.cli import syncoxide

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("stack_env")]
APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


def app(page: str | None = None) -> AppTest:
    test = AppTest.from_file(str(APP), default_timeout=60).run()
    if page:
        test.switch_page(f"views/{page}.py").run()
    assert not test.exception, test.exception
    return test


def button(test: AppTest, label: str):
    return next(b for b in test.button if b.label == label)


def test_overview_shows_health_storage_and_runs_linked_to_temporal(stack, backed_up):
    test = app()
    assert [h.value for h in test.header] == ["Health", "Running now", "Storage", "Recent runs"]
    assert {m.label for m in test.metric} >= {"temporal", "postgres", "worker", "stored in repositories"}
    recent = test.dataframe[-1].value
    with open_store(stack.settings) as conn:
        latest = runs.recent(conn, repository_id=backed_up["repository"].id, kind=RunKind.backup, limit=1)[0]
    assert temporal.workflow_url(stack.settings, latest.id) in list(recent["run"])
    assert test.get("arrow_vega_lite_chart") or test.get("vega_lite_chart")


def test_search_groups_hits_by_place_and_restore_this_opens_the_wizard(backed_up):
    test = app("search")
    test.text_input(key="search_text").input("report-2025")
    test.button[0].click().run()  # the form's submit button
    assert not test.exception, test.exception
    headings = [s.value for s in test.subheader]
    assert f"repository {backed_up['repository'].name} · 2" in headings
    assert f"source {backed_up['source']} · 2" in headings
    mine = f"repository {backed_up['repository'].name}"
    test.button(key=f"versions-{mine}-0").click().run()
    assert "Versions of" in test.header[0].value
    test.button(key=f"restore-{mine}-0").click().run()
    assert not test.exception, test.exception
    assert test.title[0].value == "Restore"
    assert test.selectbox(key="wiz_repo_select").value == backed_up["repository"].id
    assert test.selectbox(key="wiz_snapshot_select").value == backed_up["snapshots"][1]


def test_restore_wizard_end_to_end_then_verified(stack, backed_up, workdir):
    test = app("restore")
    test.selectbox(key="wiz_repo_select").select(backed_up["repository"].id).run()
    test.selectbox(key="wiz_snapshot_select").select(backed_up["snapshots"][0]).run()
    root = backed_up["root"]
    test.text_input(key="wiz_latest_path").input(str(root / "photos")).run()
    assert test.selectbox(key="wiz_snapshot_select").value == backed_up["snapshots"][1]  # the latest that has it
    target = workdir / "restored"
    test.text_input(key="wiz_target").input(str(target)).run()
    assert not test.exception, test.exception
    assert {m.label: m.value for m in test.metric} == {"files": "2", "size": "39.1 KiB", "already there": "0"}
    button(test, "restore").click().run()
    deadline = time.monotonic() + 120
    while not test.success and time.monotonic() < deadline:
        time.sleep(0.5)
        test.run()
        assert not test.exception and not test.error, (test.exception, [e.value for e in test.error])
    assert "2 files" in test.success[0].value and "verified" in test.success[0].value
    restored = target / str(root / "photos").lstrip("/")
    assert (restored / "beach.jpg").read_bytes() == (root / "photos" / "beach.jpg").read_bytes()


def test_restore_wizard_tar_download_holds_the_chosen_files(stack, backed_up):
    test = app("restore")
    test.selectbox(key="wiz_repo_select").select(backed_up["repository"].id).run()
    test.selectbox(key="wiz_snapshot_select").select(backed_up["snapshots"][1]).run()
    root = backed_up["root"]
    test.text_input(key="wiz_typed").input(str(root / "photos"))
    button(test, "add path").click().run()
    test.radio(key="wiz_mode").set_value("a tar download").run()
    assert not test.exception and not test.error, (test.exception, [e.value for e in test.error])
    assert not [b for b in test.button if b.label == "restore"]  # a download starts no restore run
    button(test, "prepare the tar").click().run()
    assert not test.exception, test.exception
    with tarfile.open(fileobj=io.BytesIO(test.session_state["wiz_tar"])) as tar:
        files = {m.name.lstrip("/"): tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    photos = str(root / "photos").lstrip("/")
    assert files == {f"{photos}/{p.name}": p.read_bytes() for p in (root / "photos").iterdir()}


def test_restore_wizard_refuses_a_destination_outside_the_allowed_folders(stack, backed_up):
    with open_store(stack.settings) as conn:
        before = len(runs.recent(conn, repository_id=backed_up["repository"].id, kind=RunKind.restore, limit=100))
    test = app("restore")
    test.selectbox(key="wiz_repo_select").select(backed_up["repository"].id).run()
    test.selectbox(key="wiz_snapshot_select").select(backed_up["snapshots"][1]).run()
    test.text_input(key="wiz_target").input("/etc/not-here").run()
    assert [e.value for e in test.error][0].startswith("destination /etc/not-here: outside the folders")
    assert not [b for b in test.button if b.label == "restore"]
    test.text_input(key="wiz_target").input("relative/path").run()
    assert "must be an absolute path" in test.error[0].value
    test.text_input(key="wiz_typed").input("/no/such/path")
    button(test, "add path").click().run()
    assert any("is not in snapshot" in e.value for e in test.error)
    with open_store(stack.settings) as conn:
        assert (
            len(runs.recent(conn, repository_id=backed_up["repository"].id, kind=RunKind.restore, limit=100)) == before
        )


def test_snapshots_timeline_browser_and_difference(backed_up):
    test = app("snapshots")
    test.selectbox(key="snapshots_repository").select(backed_up["repository"].name).run()
    assert not test.exception, test.exception
    assert len(test.dataframe[0].value) == 2
    changes = dict(zip(test.dataframe[-1].value["path"], test.dataframe[-1].value["change"], strict=True))
    changes = {path: change for path, change in changes.items() if path.startswith(str(backed_up["root"]))}
    assert changes == {
        str(backed_up["root"] / "docs" / "notes.md"): "added",
        str(backed_up["root"] / "docs"): "modified",
    }  # the folder's mtime moved


def test_analytics_for_a_source_and_a_repository(backed_up):
    test = app("analytics")
    test.selectbox(key="analytics_scope").select(f"source {backed_up['source']}").run()
    assert not test.exception, test.exception
    assert {m.label: m.value for m in test.metric}["files"] == "8"  # the tree plus notes.md
    assert test.get("plotly_chart")
    test.selectbox(key="analytics_scope").select(f"repository {backed_up['repository'].name}").run()
    assert not test.exception, test.exception
    assert int({m.label: m.value for m in test.metric}["files"]) >= 8


def test_cleanup_plan_review_apply_from_the_page(stack, backed_up):
    with open_store(stack.settings) as conn:
        known = {p.id for p in plans.list_plans(conn)}
        source_id = manifest.find_source(conn, backed_up["source"]).id
    test = app("cleanup")
    next(b for b in test.selectbox if b.label == "source").select(source_id)
    next(b for b in test.button if b.label == "make the plan").click().run()
    assert not test.exception, test.exception
    with open_store(stack.settings) as conn:
        made = [p for p in plans.list_plans(conn) if p.id not in known]
    assert len(made) == 1 and made[0].status == "planned"
    assert made[0].summary["duplicate"]["items"] == 2
    assert {m.label for m in test.metric} >= {"reclaimable", "duplicate", "junk"}
    assert button(test, "apply").disabled  # not before the review is confirmed
    test.checkbox(key="cleanup_approved").check().run()
    button(test, "apply").click().run()
    deadline = time.monotonic() + 120
    while not test.success and time.monotonic() < deadline:
        time.sleep(0.5)
        test.run()
    assert test.success and "done" in test.success[0].value
    with open_store(stack.settings) as conn:
        assert plans.get(conn, made[0].id).status == "applied"
    assert not (backed_up["root"] / "docs" / "draft.tmp").exists()
    assert syncoxide(stack, "cleanup", "undo", made[0].id).code == 0
    assert (backed_up["root"] / "docs" / "draft.tmp").exists()


def test_policies_page_pauses_resumes_and_runs_a_policy_now(stack, workdir):
    from tests.e2e.test_policies import policy_file

    applied = syncoxide(stack, "policy", "apply", str(policy_file(workdir)), "--yes")
    assert applied.code == 0, applied.stderr
    name = f"docs-{workdir.name.lower()}"
    test = app("policies")
    test.selectbox(key="policies_name").select(name).run()
    button(test, "pause").click().run()
    button(test, "yes").click().run()
    assert test.success[0].value == "pause: done"

    async def paused() -> bool:
        return (await schedules.describe(await temporal.connect(stack.settings), f"policy-{name}")).paused

    assert asyncio.run(paused())
    test = app("policies")
    test.selectbox(key="policies_name").select(name).run()
    button(test, "resume").click().run()
    button(test, "yes").click().run()
    assert not asyncio.run(paused())
    button(test, "run now").click().run()
    button(test, "yes").click().run()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with open_store(stack.settings) as conn:
            done = [r for r in runs.recent(conn, policy_id=name, kind=RunKind.backup) if r.status.value == "succeeded"]
        if done:
            break
        time.sleep(0.5)
    assert done, "run now started no backup"
    test = app("policies")
    test.selectbox(key="policies_name").select(name).run()
    assert test.get("arrow_vega_lite_chart") or test.get("vega_lite_chart")


def test_beyond_loopback_a_password_is_asked_and_read_only_users_cannot_act(stack, backed_up, workdir, monkeypatch):
    import streamlit as st

    from syncoxide.dashboard_auth import hash_password

    (workdir / "admin.hash").write_text(hash_password("admin password"))
    (workdir / "viewer.hash").write_text(hash_password("viewer password"))
    monkeypatch.setenv("SYNCOXIDE_DASHBOARD_ADDRESS", "0.0.0.0")
    monkeypatch.setenv("SYNCOXIDE_DASHBOARD_PASSWORD", f"file:{workdir / 'admin.hash'}")
    monkeypatch.setenv("SYNCOXIDE_DASHBOARD_READONLY_PASSWORD", f"file:{workdir / 'viewer.hash'}")
    st.cache_resource.clear()
    try:
        test = AppTest.from_file(str(APP), default_timeout=60).run()
        assert not test.title and test.text_input[0].label == "password"  # nothing shown before the login
        test.text_input[0].input("wrong")
        test.button[0].click().run()
        assert test.error[0].value == "wrong password" and not test.title
        test.text_input[0].input("viewer password")
        test.button[0].click().run()
        assert test.title[0].value == "Overview"
        test.switch_page("views/restore.py").run()
        test.selectbox(key="wiz_repo_select").select(backed_up["repository"].id).run()
        test.selectbox(key="wiz_snapshot_select").select(backed_up["snapshots"][1]).run()
        assert button(test, "restore").disabled
    finally:
        st.cache_resource.clear()


def test_a_restore_cancelled_from_the_wizard_says_so_and_changes_nothing(stack, backed_up, workdir):
    """The repository is held busy, so the restore is still waiting for it when cancel is pressed."""
    test = app("restore")
    test.selectbox(key="wiz_repo_select").select(backed_up["repository"].id).run()
    test.selectbox(key="wiz_snapshot_select").select(backed_up["snapshots"][1]).run()
    target = workdir / "restored"
    test.text_input(key="wiz_target").input(str(target)).run()
    with repository_gate(stack.settings, backed_up["repository"].id, exclusive=True, waiting=lambda: None):
        button(test, "restore").click().run()
        button(test, "cancel the restore").click().run()
        deadline = time.monotonic() + 120
        while not any("cancelled" in w.value for w in test.warning) and time.monotonic() < deadline:
            time.sleep(0.5)
            test.run()
    assert any("was cancelled" in w.value for w in test.warning)
    assert not target.exists() or not any(p.is_file() for p in target.rglob("*"))
    with open_store(stack.settings) as conn:
        latest = runs.recent(conn, repository_id=backed_up["repository"].id, kind=RunKind.restore, limit=1)[0]
    assert latest.status.value == "cancelled"


def test_sync_page_shows_a_running_pair_live_and_pause_resume_run_now_reach_it(stack, workdir):
    from tests.e2e.test_sync_cli import wait_status

    src = workdir / "src"
    src.mkdir()
    (src / "slow.bin").write_bytes(b"\x01" * 768 * 1024)  # 24 s at 32K: still running when the page looks
    pair = f"dash-{workdir.name.lower()}"
    started = syncoxide(
        stack,
        "sync",
        "start",
        str(src),
        str(workdir / "dst"),
        "--pair",
        pair,
        "--every",
        "1h",
        "--bwlimit",
        "32K",
        "--json",
    )
    assert started.code == 0, started.stderr
    workflow_id = started.json["workflow_id"]
    wait_status(stack, workflow_id, lambda s: s["phase"] == "running")
    time.sleep(2)  # a heartbeat or two
    test = app("sync")
    test.selectbox(key="sync_pair").select(pair).run()
    assert "actions" in test.get("progress")[0].proto.text
    wait_status(stack, workflow_id, lambda s: s["runs"] == 1 and s["phase"] == "waiting")

    test = app("sync")
    pairs = test.dataframe[0].value
    row = pairs[pairs["pair"] == pair].iloc[0]
    assert (row["mode"], row["state"], row["passes"], row["last run"]) == ("copy", "waiting", 1, "succeeded")
    assert row["destination"] == str(workdir / "dst") and row["bytes"] == "768.0 KiB"
    assert row["schedule"] == "every 1h" and row["next pass"]  # in the viewer's local time
    test.selectbox(key="sync_pair").select(pair).run()
    button(test, "pause").click().run()
    button(test, "yes").click().run()
    assert test.success[0].value == "pause: done"
    wait_status(stack, workflow_id, lambda s: s["paused"])

    test = app("sync")
    test.selectbox(key="sync_pair").select(pair).run()
    button(test, "resume").click().run()
    button(test, "yes").click().run()
    wait_status(stack, workflow_id, lambda s: not s["paused"])
    (src / "new.txt").write_text("new")
    button(test, "run now").click().run()
    button(test, "yes").click().run()
    wait_status(stack, workflow_id, lambda s: s["runs"] == 2 and s["phase"] == "waiting")
    assert (workdir / "dst" / "new.txt").read_text() == "new"
    test = app("sync")
    test.selectbox(key="sync_pair").select(pair).run()
    assert len(test.dataframe[-1].value) == 2  # its recent runs

    viewer = AppTest.from_file(str(APP), default_timeout=60)
    viewer.session_state["role"] = "read-only"
    viewer.run().switch_page("views/sync.py").run()
    viewer.selectbox(key="sync_pair").select(pair).run()
    assert button(viewer, "pause").disabled and button(viewer, "run now").disabled
    assert syncoxide(stack, "sync", "stop", workflow_id).code == 0

    (src / "after-stop.txt").write_text("after")  # run now on a stopped pair: one more pass
    test = app("sync")
    test.selectbox(key="sync_pair").select(pair).run()
    assert button(test, "pause").disabled and not button(test, "run now").disabled
    button(test, "run now").click().run()
    button(test, "yes").click().run()
    assert test.success[0].value == "run-now: done"
    deadline = time.monotonic() + 120
    while not (workdir / "dst" / "after-stop.txt").exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert (workdir / "dst" / "after-stop.txt").read_text() == "after"
