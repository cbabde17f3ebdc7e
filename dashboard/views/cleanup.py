"""Cleanup: make a plan, review it (reclaimable bytes per category, every item and why), approve it,
watch it run, undo it. Nothing outside an approved plan is ever touched."""

from __future__ import annotations

import streamlit as st

from dashboard.common import call, can_act, human_size, reader, run_link, settings, show_error, temporal_client
from syncoxide.catalog import cleanup
from syncoxide.catalog.cleanup_plan import make_plan
from syncoxide.contract.payloads import CleanupRequest
from syncoxide.errors import SyncoxideError
from syncoxide.models import RunKind
from syncoxide.orchestration import client as temporal
from syncoxide.store import catalog as manifest
from syncoxide.store import cleanup as plans
from syncoxide.store import open_store

cfg = settings()
st.title("Cleanup")
with open_store(cfg) as conn:
    sources = {s.id: s for s in manifest.list_sources(conn)}
    recent = plans.list_plans(conn)

with st.expander("new plan", expanded=not recent):
    scanned = [r["source_id"] for r in reader().scan_rows if r["source_id"] in sources]
    if not scanned:
        st.caption("scan a source first")
    else:
        with st.form("new_plan"):
            source_id = st.selectbox("source", scanned, format_func=lambda i: sources[i].name)
            cols = st.columns(4)
            duplicates = cols[0].checkbox("duplicates", value=True)
            junk = cols[1].checkbox("junk", value=True)
            large_old = cols[2].checkbox("large and old")
            empty = cols[3].checkbox("empty folders")
            keep_days = st.number_input("keep the trash for (days)", min_value=0, value=30)
            if st.form_submit_button("make the plan", disabled=not can_act()):
                spec = cleanup.CleanupSpec(
                    source_id=source_id,
                    duplicates=duplicates,
                    junk=junk,
                    large_old=large_old,
                    empty_dirs=empty,
                    keep_days=int(keep_days),
                )
                try:
                    made, _ = make_plan(cfg, sources[source_id], spec, reader())
                    st.session_state["cleanup_select"] = made.id  # show the new plan
                    st.rerun()
                except SyncoxideError as error:
                    show_error(error)

if not recent:
    st.stop()
ids = [p.id for p in recent]
statuses = {p.id: p.status for p in recent}
plan_id = st.selectbox("plan", ids, key="cleanup_select", format_func=lambda i: f"{i} ({statuses[i]})")
with open_store(cfg) as conn:
    plan = plans.get(conn, plan_id)
    items = plans.items(conn, plan_id)
total = sum(v["bytes"] for v in plan.summary.values())
figures = st.columns(len(plan.summary) + 1)
figures[0].metric("reclaimable", human_size(total))
for col, (reason, entry) in zip(figures[1:], plan.summary.items(), strict=True):
    col.metric(reason, human_size(entry["bytes"]), f"{entry['items']} items", delta_color="off")
st.caption(
    f"status: {plan.status} · trash: {plan.trash_dir} · kept {plan.spec.keep_days} days after apply"
    + (f" (until {plan.keep_until:%Y-%m-%d})" if plan.keep_until else "")
)
st.dataframe(
    [
        {
            "path": i.path,
            "why": f"{i.reason} of {i.keep_path}" if i.keep_path else i.reason,
            "size": i.size,
            "state": i.state,
            "note": i.note,
        }
        for i in items
    ],
    hide_index=True,
    width="stretch",
)


def start(action: str) -> None:
    async def go() -> str:
        handle = await temporal.start(
            await temporal_client(),
            cfg,
            RunKind.cleanup,
            None,
            CleanupRequest(plan_id=plan_id, action=action),
            source_id=plan.spec.source_id,
        )
        return handle.id

    st.session_state["cleanup_run"] = call(go)


if plan.status == "planned":
    approved = st.checkbox(f"I reviewed these {len(items)} items; move them to the trash", key="cleanup_approved")
    if st.button("apply", type="primary", disabled=not (approved and can_act())):
        start("apply")
elif plan.status in ("applied", "applying") and st.button("undo", disabled=not can_act()):
    start("undo")

run_id: str | None = st.session_state.get("cleanup_run")
if run_id:
    watched: str = run_id  # (what watch() reads: the narrowing above does not reach into it)

    @st.fragment(run_every=1)
    def watch() -> None:
        async def poll() -> temporal.RunState:
            return await temporal.poll(await temporal_client(), watched)

        now = call(poll)
        st.markdown(f"run [{watched}]({run_link(watched)}): {now.status}")
        if now.status == "running" and now.progress:
            p = now.progress
            st.progress(p.files_done / p.files_total if p.files_total else 0.0, text=f"{p.files_done} items")
        elif now.status == "succeeded":
            result = now.result or {}
            st.success(f"{result.get('moved')} items ({human_size(result.get('bytes'))}) done")
            for line in result.get("skipped") or []:
                st.warning(f"skipped {line}")
        elif now.status != "running":
            st.error(now.error or now.status)

    watch()
