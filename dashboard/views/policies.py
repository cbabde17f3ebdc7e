"""Policies: each policy's schedule, next and last runs, its run history, and pause / resume / run now."""

from __future__ import annotations

from datetime import UTC, datetime

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.common import call, can_act, pause_resume_run_now, run_link, settings, show_error, temporal_client
from syncoxide.errors import SyncoxideError
from syncoxide.orchestration import health, schedules
from syncoxide.store import open_store, runs

cfg = settings()
st.title("Policies")


async def _health():
    return await health.gather(cfg, await temporal_client(), datetime.now(UTC))


try:
    found, _ = call(_health)
except SyncoxideError as error:
    show_error(error)
    st.stop()
if not found:
    st.info("no policies yet: write a policy file and run `syncoxide policy apply FILE --yes`")
    st.stop()
st.dataframe(
    [
        {
            "policy": p.name,
            "state": p.state,
            "detail": p.detail,
            "next run": p.next_run,
            "last run": p.last_run.started_at if p.last_run else None,
            "last success": p.last_success,
        }
        for p in found
    ],
    hide_index=True,
    width="stretch",
)

name = st.selectbox("policy", [p.name for p in found], key="policies_name")
schedule_id = schedules.policy_schedule_id(name)
chosen = next(p for p in found if p.name == name)


async def _act(action: str) -> None:
    client = await temporal_client()
    if action == "pause":
        await schedules.pause(client, schedule_id, "paused from the dashboard")
    elif action == "resume":
        await schedules.resume(client, schedule_id, "resumed from the dashboard")
    else:
        await schedules.trigger(client, schedule_id)


pause_resume_run_now(
    "policies", f"policy {name}", paused=chosen.state == "paused", allowed=can_act(), run_now="trigger", act=_act
)

with open_store(cfg) as conn:
    history = runs.recent(conn, policy_id=name, limit=200)
if history:
    frame = pd.DataFrame(
        [
            {
                "started": r.started_at,
                "status": r.status.value,
                "kind": r.kind.value,
                "files": r.files,
                "bytes": r.bytes,
                "seconds": (r.finished_at - r.started_at).total_seconds() if r.finished_at else None,
            }
            for r in history
        ]
    )
    backups = frame[frame["kind"] == "backup"]
    for measure in ("seconds", "bytes", "files"):
        chart = alt.Chart(backups).mark_line(point=True)
        st.altair_chart(chart.encode(x="started:T", y=f"{measure}:Q", color="status:N"), width="stretch")
    st.dataframe(
        [
            {
                "run": run_link(r.workflow_id or r.id),
                "kind": r.kind.value,
                "status": r.status.value,
                "started": r.started_at,
                "error": r.error,
            }
            for r in history
        ],
        column_config={"run": st.column_config.LinkColumn("run", display_text=r".*/workflows/(.*)$")},
        hide_index=True,
        width="stretch",
    )
