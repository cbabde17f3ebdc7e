"""Search: the catalog's search with filters; results grouped by where they live, each with
'restore this' (into the restore wizard) and 'show versions'."""

from __future__ import annotations

import time
from datetime import datetime

import streamlit as st

from dashboard.common import human_size, reader, show_error, when
from syncoxide.catalog.query import SearchFilter
from syncoxide.errors import SyncoxideError
from syncoxide.fs import names
from syncoxide.models import parse_duration, parse_size


def _ago(duration: str) -> datetime | None:
    return datetime.fromtimestamp(time.time() - parse_duration(duration).total_seconds()) if duration else None


st.title("Search")
with st.form("search"):
    text = st.text_input("name contains (or a glob: * ? [)", key="search_text")
    cols = st.columns(4)
    glob = cols[0].text_input("glob", placeholder="*.pdf")
    regex = cols[1].text_input("regex", placeholder=r"IMG_\d+\.jpe?g$")
    prefix = cols[2].text_input("under path", placeholder="/home/me/Documents")
    where = cols[3].selectbox("in", ["all", "sources", "snapshots"])
    cols = st.columns(4)
    extensions = cols[0].text_input("extensions", placeholder="pdf, docx")
    kind = cols[1].selectbox("type", ["any", "file", "dir", "symlink"])
    min_size = cols[2].text_input("min size", placeholder="10M")
    newer = cols[3].text_input("modified within", placeholder="30d")
    submitted = st.form_submit_button("search")

if submitted or st.session_state.get("search_hits") is None:
    try:
        query = SearchFilter(
            name=text or None,
            glob=glob or None,
            regex=regex or None,
            path_prefix=prefix or None,
            where=where,
            extensions=[e.strip() for e in extensions.split(",") if e.strip()],
            type=None if kind == "any" else kind,
            min_size=parse_size(min_size) if min_size else None,
            modified_after=_ago(newer),
            limit=500,
        )
        st.session_state["search_hits"] = reader().search(query) if submitted else []
    except SyncoxideError as error:
        show_error(error)
        st.session_state["search_hits"] = []

hits = st.session_state.get("search_hits") or []
if submitted and not hits:
    st.info("nothing matches")
groups: dict[str, list] = {}
for hit in hits:
    groups.setdefault(f"{hit.location} {hit.location_name}", []).append(hit)
for label, members in groups.items():
    st.subheader(f"{label} · {len(members)}")
    for i, hit in enumerate(members):
        row = st.columns([6, 2, 2, 1, 1])
        row[0].text(names.shown(hit.path))  # plain text: a name is never read as markdown
        row[1].write(human_size(hit.size) if hit.type == "file" else hit.type)
        seen = f"{hit.snapshots} snapshots" if hit.snapshots else (str(when(hit.mtime_ns) or ""))
        row[2].write(seen)
        if hit.location == "repository":
            if row[3].button("restore this", key=f"restore-{label}-{i}"):
                choice = {"repository_id": hit.location_id, "snapshot_id": hit.latest_snapshot, "paths": [hit.path]}
                st.session_state["restore_choice"] = choice
                st.switch_page("views/restore.py")
            if row[4].button("versions", key=f"versions-{label}-{i}"):
                st.session_state["versions_of"] = (hit.path, hit.location_id)

chosen = st.session_state.get("versions_of")
if chosen:
    path, repository_id = chosen
    st.header(f"Versions of {names.shown(path)}", anchor=False)
    versions = reader().versions(path, [repository_id])
    st.dataframe(
        [
            {
                "snapshot": v.snapshot_id,
                "time": v.time,
                "state": v.state,
                "size": v.size,
                "modified": when(v.mtime_ns),
                "changes": ", ".join(v.changes),
            }
            for v in versions
        ],
        hide_index=True,
        width="stretch",
    )
