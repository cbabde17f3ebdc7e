"""Sync: every sync pair with its mode, sides, state and last run; a pair's live pass, pause / resume /
run now (each confirmed), and its recent runs."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from dashboard.common import (
    call,
    can_act,
    human_size,
    pause_resume_run_now,
    run_link,
    settings,
    show_error,
    temporal_client,
)
from syncoxide.errors import SyncoxideError
from syncoxide.orchestration import sync_client, sync_status
from syncoxide.store import open_store
from syncoxide.store import sync as store

cfg = settings()
st.title("Sync")


async def _gather() -> list[sync_status.PairStatus]:
    return await sync_status.gather(cfg, await temporal_client())


def _outcome(run: dict | None) -> dict:
    """A run's status, planned actions by kind, bytes sent, failed actions and error, as table columns."""
    if run is None:
        return {"status": None, "actions": "", "bytes": "", "failed": None, "error": None}
    summary = run["summary"] or {}
    counts = {k: v for k, v in summary.items() if k not in ("bytes", "failed") and v}
    actions = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
    return {
        "status": run["status"],
        "actions": actions or ("nothing to do" if summary else ""),
        "bytes": human_size(summary["bytes"]) if "bytes" in summary else "",
        "failed": summary.get("failed"),
        "error": run["error"],
    }


def _when(moment: str | None) -> str:
    return f"{datetime.fromisoformat(moment).astimezone():%Y-%m-%d %H:%M %Z}" if moment else ""


def _state(pair: sync_status.PairStatus) -> str:
    return f"{pair.state} (paused)" if pair.paused and pair.state != "paused" else pair.state


try:
    pairs = call(_gather)
except SyncoxideError as error:
    show_error(error)
    st.stop()
if not pairs:
    st.info(
        "no sync pairs yet: `syncoxide sync start SRC DST --every 1h` (or `--cron '0 3 * * *'`), or a `sync:` "
        "section in a policy file"
    )
    st.stop()
rows = []
for p in pairs:
    last = _outcome(p.last_run)
    rows.append(
        {
            "pair": p.pair,
            "mode": p.mode,
            "source": p.source,
            "destination": p.destination,
            "state": _state(p),
            "schedule": p.schedule,
            "next pass": _when(p.next_pass),
            "passes": p.passes,
            "last run": last.pop("status"),
            "finished": (p.last_run or {}).get("finished_at"),
            **last,
            "error": last["error"] or p.error,
            "declared in": p.origin,
        }
    )
st.dataframe(rows, hide_index=True, width="stretch")

name = st.selectbox("pair", [p.pair for p in pairs], key="sync_pair")
chosen = next(p for p in pairs if p.pair == name)


@st.fragment(run_every=2)
def live() -> None:
    async def _refresh() -> sync_status.PairStatus:
        return await sync_status.refresh(await temporal_client(), chosen)

    try:
        current = call(_refresh)
    except SyncoxideError as error:
        st.warning(f"Temporal unavailable: {error}")
        return
    if not current.running:
        st.caption(f"{current.workflow_id} is not running (start it with `syncoxide sync start` or a policy file)")
        return
    due = f" · next pass {_when(current.next_pass)}" if current.next_pass else ""
    st.markdown(
        f"[{current.workflow_id}]({run_link(current.workflow_id)}) · {_state(current)} · "
        f"{current.schedule} · {current.passes} passes{due}"
    )
    if current.error:
        st.error(f"last pass: {current.error}")
    progress = current.progress
    if progress:
        total, done = progress.bytes_total or 0, progress.bytes_done
        st.progress(
            min(done / total, 1.0) if total else 0.0,
            text=f"{progress.phase} · {progress.files_done} of {progress.files_total or 0}"
            f" actions · {human_size(done)} of {human_size(total)}",
        )
        for path in progress.in_flight:
            st.caption(path)


live()


async def _act(action: str) -> None:
    """Pause and resume signal the running workflow; run now also starts one more pass of a pair whose workflow
    has ended (a one-pass pair, a stopped one), as ``syncoxide sync now`` does."""
    client = await temporal_client()
    if action == "run-now":
        await sync_client.run_now(client, cfg, chosen.workflow_id)
    else:
        await sync_client.signal(client, chosen.workflow_id, action)


pause_resume_run_now(
    "sync",
    f"sync pair {name}",
    paused=chosen.paused,
    allowed=can_act() and chosen.running,
    run_now="run-now",
    act=_act,
    run_now_allowed=can_act(),
)

st.subheader("Recent runs")
with open_store(cfg) as conn:
    history = store.recent_runs(conn, name, limit=50)
st.dataframe(
    [
        {
            "run": r["id"],
            "dry run": r["dry_run"],
            "started": r["started_at"],
            "seconds": (r["finished_at"] - r["started_at"]).total_seconds() if r["finished_at"] else None,
            **_outcome(r),
        }
        for r in history
    ],
    hide_index=True,
    width="stretch",
)
