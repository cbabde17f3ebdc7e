"""Overview: health of every policy and repository, running work with live progress, storage, last runs."""

from __future__ import annotations

from datetime import UTC, datetime

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.common import call, human_size, reader, run_link, settings, temporal_client
from dashboard.gather.overview import gather
from syncoxide.catalog import analytics
from syncoxide.errors import SyncoxideError
from syncoxide.orchestration import client as temporal
from syncoxide.orchestration import health

cfg = settings()
st.title("Overview")
overview = gather(cfg)
for col, service in zip(st.columns(len(overview.services)), overview.services, strict=True):
    col.metric(service.name, "running" if service.running else "stopped")
if cfg.embedded_temporal:
    st.markdown(f"[Temporal Web UI]({cfg.temporal_ui_url})")
if overview.error:
    st.error(overview.error)


async def _health():
    return await health.gather(cfg, await temporal_client(), datetime.now(UTC))


st.header("Health")
try:
    policies, repositories = call(_health)
except SyncoxideError as error:
    policies, repositories = [], []
    st.warning(f"health unavailable: {error}")

if policies:
    st.dataframe(
        [
            {
                "policy": p.name,
                "state": p.state,
                "detail": p.detail,
                "next run": p.next_run,
                "last success": p.last_success,
            }
            for p in policies
        ],
        hide_index=True,
        width="stretch",
    )
else:
    st.caption("no policies yet (syncoxide policy apply FILE)")
st.dataframe(
    [
        {"repository": r.name, "check": r.state, "last check": r.last_check.started_at if r.last_check else None}
        for r in repositories
    ],
    hide_index=True,
    width="stretch",
)


async def _running():
    return await temporal.running(await temporal_client())


@st.fragment(run_every=2)
def running_now() -> None:
    st.header("Running now")
    try:
        found = call(_running)
    except SyncoxideError as error:
        st.warning(f"Temporal unavailable: {error}")
        return
    if not found:
        st.caption("nothing is running")
    for run in found:
        progress = run.progress
        label = f"[{run.id}]({run_link(run.id)}) · {run.workflow}"
        if progress is None:
            st.markdown(f"{label} · starting")
            continue
        done = human_size(progress.bytes_done)
        total = f" of {human_size(progress.bytes_total)}" if progress.bytes_total else ""
        st.markdown(f"{label} · {progress.phase} · {progress.files_done} files, {done}{total}")
        fraction = progress.bytes_done / progress.bytes_total if progress.bytes_total else 0.0
        st.progress(min(fraction, 1.0), text=progress.current_path or "")


running_now()

st.header("Storage")
usage = analytics.repository_usage(reader())
if usage:
    cols = st.columns(3)
    cols[0].metric("protected (latest snapshots)", human_size(sum(u.latest_bytes for u in usage)))
    cols[1].metric("stored in repositories", human_size(sum(u.stored_bytes for u in usage)))
    cols[2].metric("snapshots", sum(u.snapshots for u in usage))
    points = pd.DataFrame(
        [{"time": r["time"], "repository": r["repository"], "size": r["bytes"] or 0} for r in reader().snapshot_rows]
    )
    chart = alt.Chart(points).mark_line(point=True)
    st.altair_chart(chart.encode(x="time:T", y=alt.Y("size:Q", title="bytes"), color="repository:N"), width="stretch")
else:
    st.caption("no snapshots in the catalog yet")

st.header("Recent runs")
st.dataframe(
    [
        {
            "run": run_link(r.workflow_id or r.id),
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
