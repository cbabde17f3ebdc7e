"""syncoxide dashboard: overview of the stack, repositories and recent runs."""

from __future__ import annotations

import streamlit as st

from syncoxide import client as temporal
from syncoxide.config import load_settings
from syncoxide.overview import gather

st.set_page_config(page_title="syncoxide", layout="wide")
settings = load_settings()


@st.cache_data(ttl=5)
def _overview():
    return gather(settings)


overview = _overview()
st.title("syncoxide")

cols = st.columns(len(overview.services))
for col, service in zip(cols, overview.services, strict=True):
    col.metric(service.name, "running" if service.running else "stopped")
if settings.embedded_temporal:
    st.markdown(f"[Temporal Web UI]({settings.temporal_ui_url})")

if overview.error:
    st.error(overview.error)

st.header("Repositories")
st.dataframe(
    [{"name": r.name, "engine": r.engine.value, "location": r.location, "id": r.id} for r in overview.repositories],
    hide_index=True,
    width="stretch",
)

st.header("Recent runs")
st.dataframe(
    [
        {
            "run": temporal.workflow_url(settings, r.workflow_id or r.id),
            "kind": r.kind.value,
            "status": r.status.value,
            "started": r.started_at,
            "finished": r.finished_at,
            "files": r.files,
            "bytes": r.bytes,
            "snapshot": r.snapshot_id,
            "error": r.error,
        }
        for r in overview.runs
    ],
    column_config={"run": st.column_config.LinkColumn("run", display_text=r".*/workflows/(.*)$")},
    hide_index=True,
    width="stretch",
)
