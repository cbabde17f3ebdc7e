"""Analytics: what fills the storage, as disk-usage tools show it; growth; deduplication per repository."""

from __future__ import annotations

import altair as alt
import pandas as pd
import plotly.express as px
import streamlit as st

from dashboard.common import human_size, reader, settings, show_error
from syncoxide.catalog import analytics
from syncoxide.errors import SyncoxideError
from syncoxide.store import catalog as manifest
from syncoxide.store import open_store

st.title("Analytics")
catalog = reader()
scopes = [f"source {r['source']}" for r in catalog.scan_rows]
scopes += [f"repository {name}" for name in sorted({r["repository"] for r in catalog.snapshot_rows})]
if not scopes:
    st.info("nothing in the catalog yet: scan a source or make a backup")
    st.stop()
scope_label = st.selectbox("what", scopes, key="analytics_scope")
kind, _, name = scope_label.partition(" ")
depth = st.slider("folder depth", 1, 4, 2, key="analytics_depth")
try:
    scope = analytics.source_scope(catalog, name) if kind == "source" else analytics.snapshot_scope(catalog, name)
    totals = analytics.totals(catalog, scope, depth=depth)
except SyncoxideError as error:
    show_error(error)
    st.stop()

cols = st.columns(3)
cols[0].metric("files", f"{totals.files:,}")
cols[1].metric("folders", f"{totals.dirs:,}")
cols[2].metric("size", human_size(totals.bytes))


def bars(rows: list[analytics.Bucket], title: str, order: list[str] | None = None) -> None:
    frame = pd.DataFrame([{"label": b.label, "bytes": b.bytes, "files": b.files} for b in rows])
    if frame.empty:
        return
    sort = order if order is not None else "-x"
    chart = (
        alt.Chart(frame, title=title)
        .mark_bar()
        .encode(
            x=alt.X("bytes:Q", title="bytes"),
            y=alt.Y("label:N", sort=sort, title=None),
            tooltip=["label", "files", "bytes"],
        )
    )
    st.altair_chart(chart, width="stretch")


left, right = st.columns(2)
with left:
    bars(totals.by_extension, "by extension")
    bars(totals.by_size, "by size", order=[b.label for b in totals.by_size])
with right:
    bars(totals.by_type, "by type")
    bars(totals.by_age, "by age (last modified)", order=[b.label for b in totals.by_age])

st.subheader("Top folders")
folders = pd.DataFrame([{"folder": f.path, "bytes": f.bytes, "files": f.files} for f in totals.top_folders])
if not folders.empty:
    folders["parent"] = folders["folder"].map(lambda p: p.rsplit("/", 1)[0] or "/")
    treemap = px.treemap(
        folders, path=[px.Constant(scope.label), "parent", "folder"], values="bytes", hover_data=["files"]
    )
    st.plotly_chart(treemap, width="stretch")

st.subheader("Growth")
with open_store(settings()) as conn:
    scan_history = manifest.scan_rows(conn)
history = pd.DataFrame([p.model_dump() for p in analytics.growth(catalog, scan_history)])
if not history.empty:
    history["series"] = history["kind"] + " " + history["name"]
    line = alt.Chart(history).mark_line(point=True)
    st.altair_chart(line.encode(x="time:T", y=alt.Y("bytes:Q", title="bytes"), color="series:N"), width="stretch")

st.subheader("Deduplication and compression")
usage = analytics.repository_usage(catalog)
st.dataframe(
    [
        {
            "repository": u.repository,
            "snapshots": u.snapshots,
            "all snapshots": human_size(u.total_bytes),
            "stored": human_size(u.stored_bytes),
            "dedup ratio": round(u.dedup_ratio, 1) if u.dedup_ratio else None,
            "compressed": human_size(u.compressed_bytes) if u.compressed_bytes is not None else "not reported",
        }
        for u in usage
    ],
    hide_index=True,
    width="stretch",
)
