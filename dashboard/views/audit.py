"""Audit: the REST API's mutating calls (and the CLI's token changes), newest first: when, who, with which
scope, what, the status it got, from where. Filter by who, or show only refusals; page back to older ones.
Admins only, as in the API (GET /api/v1/audit): the log names tokens and client addresses."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard.common import can_act, settings
from syncoxide.fs import names
from syncoxide.store import audit, open_store
from syncoxide.store.audit import AuditEntry

PAGE_SIZES = (10, 25, 50, 100, 200)
_HIDDEN = ("token", "secret", "password", "passphrase")
"""detail keys whose values are never shown (none holds one today: the detail names runs and repositories)"""

cfg = settings()
st.title("Audit")
if not can_act():
    st.info("the audit log is for admins: it names tokens and the addresses they came from")
    st.stop()


def _older(position: int) -> None:
    st.session_state.setdefault("audit_pages", []).append(position)


def _newer() -> None:
    pages = st.session_state.get("audit_pages") or []
    if pages:
        pages.pop()


def _newest() -> None:
    st.session_state["audit_pages"] = []


def _page(size: int, before: int | None, actor: str | None, refused: bool) -> tuple[list[AuditEntry], int | None]:
    """Up to ``size`` entries older than ``before`` (all, or the refused ones), and where the next page starts
    (None: there are no older ones to show)."""
    with open_store(cfg) as conn:
        entries = audit.recent(conn, limit=size + 1, before=before, actor=actor, refused=refused)
    return entries[:size], entries[size - 1].id if len(entries) > size else None


def _detail(detail: dict[str, Any]) -> str:
    return ", ".join(
        f"{names.shown(str(key))}={'(hidden)' if any(h in str(key).lower() for h in _HIDDEN) else _value(value)}"
        for key, value in detail.items()
    )


def _value(value: object) -> str:
    return names.shown(value if isinstance(value, str) else str(value))


def _text(value: str | None) -> str | None:
    return None if value is None else names.shown(value)  # a hostile path's control characters shown, not obeyed


def _row(entry: AuditEntry) -> dict[str, object]:
    return {
        "time": f"{entry.at.astimezone():%Y-%m-%d %H:%M:%S %Z}",
        "who": _text(entry.actor),
        "scope": _text(entry.scope),
        "method": _text(entry.method),
        "path": _text(entry.path),
        "target": _text(entry.target),
        "status": entry.status,
        "address": _text(entry.address),
        "detail": _detail(entry.detail or {}),
    }


def _highlight(status: int) -> str:
    if status >= 500:
        return "background-color: rgba(255, 165, 0, 0.35); font-weight: bold"
    if status >= 400:
        return "background-color: rgba(255, 75, 75, 0.30); font-weight: bold"
    return ""


cols = st.columns([3, 2, 1])
actor = (
    cols[0]
    .text_input(
        "who",
        key="audit_actor",
        placeholder="everyone",
        help="exactly this name: a token's, `anonymous` (no token accepted) or `cli` (token changes from the CLI)",
        on_change=_newest,
    )
    .strip()
)
size = cols[1].selectbox("entries per page", PAGE_SIZES, index=2, key="audit_size", on_change=_newest)
cols[2].write("")  # line the checkbox up with the inputs
refused = cols[2].checkbox("refused only", key="audit_refused", help="status 400 and over", on_change=_newest)

pages: list[int] = st.session_state.setdefault("audit_pages", [])
before = pages[-1] if pages else None
entries, next_page = _page(int(size), before, actor or None, refused)

if not entries and before is None and not actor and not refused:
    st.info(
        "no audit entries yet: the REST API (`syncoxide serve`) records every POST, PUT, PATCH and DELETE it "
        "answers, refused ones too, and `syncoxide token create` and `token revoke` record theirs (who: `cli`); "
        "see docs/api.md"
    )
    st.stop()
if entries:
    frame = pd.DataFrame([_row(e) for e in entries])
    st.dataframe(frame.style.map(_highlight, subset=["status"]), hide_index=True, width="stretch")
else:
    st.caption("no entries match" if before is None else "no older entries match")

where = f"page {len(pages) + 1}, newest first" + (f" · older than entry {before}" if before is not None else "")
nav = st.columns([1, 1, 1, 4])
nav[0].button("newest", on_click=_newest, disabled=not pages)
nav[1].button("newer", on_click=_newer, disabled=not pages)
nav[2].button("older", on_click=_older, args=(next_page,), disabled=next_page is None)
nav[3].caption(where)
