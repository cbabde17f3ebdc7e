"""Snapshots: a repository's snapshots on a timeline with their stats, a folder browser over one
snapshot (from the catalog), and the difference between two snapshots."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.common import human_size, plain, reader, when
from syncoxide.fs import names

st.title("Snapshots")
catalog = reader()
repositories = sorted({r["repository"] for r in catalog.snapshot_rows})
if not repositories:
    st.info("no snapshots in the catalog yet")
    st.stop()
name = st.selectbox("repository", repositories, key="snapshots_repository")
rows = [r for r in catalog.snapshot_rows if r["repository"] == name]
repository_id = rows[0]["repository_id"]

timeline = pd.DataFrame(
    [
        {
            "time": r["time"],
            "snapshot": r["snapshot_id"],
            "size": r["bytes"] or 0,
            "added": r["added_bytes"] or 0,
            "files": r["files"] or 0,
        }
        for r in rows
    ]
)
points = (
    alt.Chart(timeline)
    .mark_circle(size=120)
    .encode(
        x="time:T",
        y=alt.Y("size:Q", title="bytes"),
        size="added:Q",
        tooltip=["snapshot", "time", "files", "size", "added"],
    )
)
st.altair_chart(points, width="stretch")
st.dataframe(
    [
        {
            "snapshot": r["snapshot_id"],
            "time": r["time"],
            "host": r["hostname"],
            "tags": ", ".join(r["tags"] or []),
            "files": r["files"],
            "size": human_size(r["bytes"]),
            "added": human_size(r["added_bytes"]),
            "compressed": human_size(r["compressed_bytes"]) if r["compressed_bytes"] is not None else "",
        }
        for r in reversed(rows)
    ],
    hide_index=True,
    width="stretch",
)

ids = [r["snapshot_id"] for r in reversed(rows)]
browse, compare = st.tabs(["browse", "difference"])
with browse:
    snapshot_id = st.selectbox("snapshot", ids, key="snapshots_browse")
    folder = st.session_state.get("snapshots_folder", "/")
    if st.session_state.get("snapshots_folder_of") != snapshot_id:
        folder = "/"
    st.session_state["snapshots_folder_of"] = snapshot_id
    st.text(names.shown(folder))
    if folder != "/" and st.button("up one folder", key="snapshots_up"):
        st.session_state["snapshots_folder"] = folder.rsplit("/", 1)[0] or "/"
        st.rerun()
    for i, entry in enumerate(catalog.children(repository_id, snapshot_id, folder)):
        cols = st.columns([5, 2, 2])
        if entry["type"] == "dir":
            if cols[0].button(plain(names.shown(entry["name"])), key=f"snapshots_open_{i}", icon=":material/folder:"):
                st.session_state["snapshots_folder"] = entry["path"]
                st.rerun()
        else:
            cols[0].text(names.shown(entry["name"]))
        cols[1].write(human_size(entry["size"]) if entry["type"] == "file" else entry["type"])
        cols[2].write(str(when(entry["mtime_ns"]) or ""))
with compare:
    if len(ids) < 2:
        st.caption("one snapshot only")
    else:
        newer = st.selectbox("newer", ids, index=0, key="snapshots_newer")
        older = st.selectbox("older", ids, index=1, key="snapshots_older")
        changes = catalog.diff(repository_id, older, newer)
        counts = pd.Series([c["change"] for c in changes]).value_counts().to_dict() if changes else {}
        st.markdown(", ".join(f"{n} {kind}" for kind, n in counts.items()) or "no differences")
        shown = [{**c, "path": names.shown(c["path"])} if "path" in c else c for c in changes]
        st.dataframe(shown, hide_index=True, width="stretch")
