"""Restore wizard: repository -> snapshot -> files and folders -> destination -> confirm -> progress -> result.

Every step can be left with 'start over'; a running restore can be cancelled. Nothing runs until
the summary (files, bytes, conflicts) is confirmed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import streamlit as st

from dashboard.common import call, can_act, human_size, reader, run_link, settings, show_error, temporal_client, when
from syncoxide.backups import operations
from syncoxide.backups.restore_destination import check_destination, check_original_place, summarize
from syncoxide.contract.payloads import RestoreRequest
from syncoxide.errors import SyncoxideError
from syncoxide.models import Overwrite, RunKind
from syncoxide.orchestration import client as temporal
from syncoxide.store import open_store, repositories

TAR_LIMIT = 2 << 30
KEYS = ("wiz_repo", "wiz_snapshot", "wiz_paths", "wiz_dir", "wiz_run", "wiz_summary", "wiz_request", "wiz_tar")
cfg = settings()
state = st.session_state


WIDGETS = ("wiz_repo_select", "wiz_snapshot_select", "wiz_latest_path", "wiz_typed", "wiz_target", "wiz_mode")


def start_over() -> None:
    for key in KEYS:
        state.pop(key, None)


def start_afresh() -> None:
    """The 'start over' button: forget the choices and what the widgets hold."""
    start_over()
    for key in WIDGETS:
        state.pop(key, None)


def step_header(number: int, title: str) -> None:
    st.subheader(f"{number}. {title}")


st.title("Restore")
choice = state.pop("restore_choice", None)
if choice:  # from search: "restore this"
    start_over()
    state["wiz_repo"] = state["wiz_repo_select"] = choice["repository_id"]
    state["wiz_snapshot"] = state["wiz_snapshot_select"] = choice["snapshot_id"]
    state["wiz_paths"] = list(choice["paths"])
st.button("start over", on_click=start_afresh, disabled="wiz_run" in state)

catalog = reader()
with open_store(cfg) as conn:
    known = {r.id: r for r in repositories.list_all(conn)}
indexed = sorted({r["repository_id"] for r in catalog.snapshot_rows} & set(known), key=lambda i: known[i].name)

# 1. repository -------------------------------------------------------------------------------
step_header(1, "Repository")
if not indexed:
    st.info("no repository has snapshots in the catalog yet")
    st.stop()
current = state.get("wiz_repo")
picked = st.selectbox(
    "repository",
    indexed,
    key="wiz_repo_select",
    index=indexed.index(current) if current in indexed else None,
    format_func=lambda i: f"{known[i].name} ({known[i].engine.value})",
    placeholder="choose",
)
if picked != current:
    start_over()
    state["wiz_repo"] = picked
if not picked:
    st.stop()
repository = known[picked]

# 2. snapshot ---------------------------------------------------------------------------------
step_header(2, "Snapshot")
snapshots = [r for r in catalog.snapshot_rows if r["repository_id"] == picked][::-1]
ids = [s["snapshot_id"] for s in snapshots]
by_path = st.text_input("or: the latest snapshot that has this path", key="wiz_latest_path")
if by_path:
    found = catalog.latest_snapshot_with(by_path, picked)
    if found is None:
        st.warning(f"no snapshot of {repository.name} holds {by_path}")
    elif state.get("wiz_snapshot") != found or state.get("wiz_snapshot_select") != found:
        state["wiz_snapshot"] = state["wiz_snapshot_select"] = found
        state["wiz_paths"] = [by_path.rstrip("/") or "/"]
current = state.get("wiz_snapshot")
labels = {
    s["snapshot_id"]: f"{s['time']:%Y-%m-%d %H:%M} · {s['snapshot_id']} · {s['files'] or '?'} files,"
    f" {human_size(s['bytes'])}"
    for s in snapshots
}
snapshot_id = st.selectbox(
    "snapshot",
    ids,
    key="wiz_snapshot_select",
    placeholder="choose",
    index=ids.index(current) if current in ids else None,
    format_func=labels.__getitem__,
)
if snapshot_id != current:
    state["wiz_snapshot"], state["wiz_paths"] = snapshot_id, []
if not snapshot_id:
    st.stop()

# 3. files and folders ------------------------------------------------------------------------
step_header(3, "Files and folders")
paths: list[str] = state.setdefault("wiz_paths", [])
directory = state.setdefault("wiz_dir", "/")
cols = st.columns([3, 1])
cols[0].markdown(f"browsing `{directory}`")
if directory != "/" and cols[1].button("up one folder"):
    state["wiz_dir"] = os.path.dirname(directory.rstrip("/")) or "/"
    st.rerun()
children = catalog.children(picked, snapshot_id, directory)
for i, entry in enumerate(children):
    row = st.columns([5, 2, 2, 1])
    if entry["type"] == "dir" and row[0].button(entry["name"], key=f"open-{i}", icon=":material/folder:"):
        state["wiz_dir"] = entry["path"]
        st.rerun()
    elif entry["type"] != "dir":
        row[0].write(entry["name"])
    row[1].write(human_size(entry["size"]) if entry["type"] == "file" else entry["type"])
    row[2].write(str(when(entry["mtime_ns"]) or ""))
    selected = entry["path"] in paths
    if row[3].checkbox("pick", value=selected, key=f"pick-{snapshot_id}-{entry['path']}", label_visibility="collapsed"):
        if not selected:
            paths.append(entry["path"])
    elif selected:
        paths.remove(entry["path"])
typed = st.text_input("or add a path", key="wiz_typed")
if st.button("add path") and typed:
    if catalog.subtree_totals(picked, snapshot_id, [typed])["entries"] == 0:
        st.error(f"{typed} is not in snapshot {snapshot_id}")
    elif typed not in paths:
        paths.append(typed.rstrip("/") or "/")
st.markdown("**chosen:** " + (", ".join(f"`{p}`" for p in paths) if paths else "the whole snapshot"))

# 4. destination ------------------------------------------------------------------------------
step_header(4, "Destination")
mode = st.radio("restore to", ["a new folder", "the original place", "a tar download"], horizontal=True, key="wiz_mode")
overwrite = Overwrite.never
target_text = ""
if mode == "a new folder":
    target_text = st.text_input(
        "folder", value=os.path.join(cfg.restore_roots[0], f"restored-{snapshot_id[:12]}"), key="wiz_target"
    )
elif mode == "the original place":
    target_text = "/"
    overwrite = Overwrite(
        st.radio(
            "files that exist there",
            [o.value for o in Overwrite],
            horizontal=True,
            key="wiz_overwrite",
            format_func=lambda o: {
                "never": "keep them",
                "if-newer": "replace if the snapshot's copy is newer",
                "always": "replace them",
            }[o],
        )
    )
st.caption("allowed: " + ", ".join(cfg.restore_roots))

# 5. confirm ----------------------------------------------------------------------------------
step_header(5, "Confirm")
try:
    if mode == "the original place":
        target: Path | None = check_original_place(catalog, picked, snapshot_id, paths, cfg.restore_roots)
    elif mode == "a new folder":
        target = check_destination(target_text, cfg.restore_roots)
    else:
        target = None
    summary = (
        summarize(catalog, picked, snapshot_id, paths, target)
        if target
        else summarize(
            catalog, picked, snapshot_id, paths, check_destination(tempfile.gettempdir(), [tempfile.gettempdir()])
        )
    )
except SyncoxideError as error:
    show_error(error)
    st.stop()
figures = st.columns(3)
figures[0].metric("files", summary.files)
figures[1].metric("size", human_size(summary.bytes))
if target is not None:
    figures[2].metric("already there", summary.conflicts)
    if summary.conflicts:
        verdict = {
            "never": "will be kept as they are",
            "if-newer": "will be replaced where the snapshot's copy is newer",
            "always": "will be replaced",
        }[overwrite.value]
        st.warning(
            f"{summary.conflicts} files exist at their destination and {verdict}: "
            + ", ".join(summary.conflict_sample[:5])
        )

if target is None:
    if summary.bytes > TAR_LIMIT:
        st.error(f"{human_size(summary.bytes)} is too much for a browser download; use: syncoxide export")
    elif st.button("prepare the tar", disabled=not can_act()):
        engine = operations.open_repository(cfg, repository)
        with tempfile.TemporaryFile() as buffer:
            engine.export_tar(snapshot_id, buffer, paths)
            buffer.seek(0)
            state["wiz_tar"] = buffer.read()
    if state.get("wiz_tar") is not None:
        st.download_button(
            "download",
            state["wiz_tar"],
            file_name=f"{repository.name}-{snapshot_id[:12]}.tar",
            mime="application/x-tar",
        )
    st.stop()

request = RestoreRequest(
    repository_id=picked, snapshot_id=snapshot_id, target=str(target), paths=paths, overwrite=overwrite
)
if "wiz_run" not in state:
    if st.button("restore", type="primary", disabled=not can_act()):

        async def start() -> str:
            handle = await temporal.start(await temporal_client(), cfg, RunKind.restore, repository, request)
            return handle.id

        try:
            state["wiz_run"] = call(start)
        except SyncoxideError as error:
            show_error(error)
        st.rerun()
    st.stop()

# 6. progress and result ----------------------------------------------------------------------
step_header(6, "Progress")
run_id = state["wiz_run"]
st.markdown(f"run [{run_id}]({run_link(run_id)})")


@st.fragment(run_every=1)
def watch() -> None:
    async def poll() -> temporal.RunState:
        return await temporal.poll(await temporal_client(), run_id)

    now = call(poll)
    if now.status == "running":
        progress = now.progress
        if progress:
            total = progress.bytes_total or 0
            text = f"{progress.phase}: {progress.files_done} files, {human_size(progress.bytes_done)}"
            st.progress(min(progress.bytes_done / total, 1.0) if total else 0.0, text=text)
        if st.button("cancel the restore", disabled=not can_act()):
            call(lambda: _cancel(run_id))
        return
    if now.status == "succeeded":
        result = now.result or {}
        kept = f"; {result.get('kept')} existing files kept" if result.get("kept") else ""
        st.success(
            f"restored {result.get('files')} files ({human_size(result.get('bytes'))}) into"
            f" {result.get('target')}; {result.get('verified')} entries verified against the snapshot{kept}"
        )
    elif now.status == "cancelled":
        st.warning("the restore was cancelled; files already placed stay, nothing is half-written")
    else:
        st.error(f"the restore failed: {now.error}")
    st.button("restore something else", on_click=start_afresh)


async def _cancel(run: str) -> None:
    await temporal.cancel(await temporal_client(), run)


watch()
