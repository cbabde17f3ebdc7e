"""What every page shares: settings, login, the catalog reader, running workflows, formatting.

Pages call the core (store, catalog, health) and syncoxide/orchestration/client.py through here; no SQL and
no business logic lives in the dashboard.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any, TypeVar

import streamlit as st

from syncoxide.catalog.query import CatalogReader
from syncoxide.config import Settings, load_settings
from syncoxide.dashboard_auth import host_allowed, login_required, role_for
from syncoxide.errors import SyncoxideError
from syncoxide.models import human_size  # noqa: F401 - pages import it from here
from syncoxide.orchestration import client as temporal

T = TypeVar("T")
READER_TTL_S = 30


@st.cache_resource
def settings() -> Settings:
    return load_settings()


def call(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine (Temporal client calls) from a page."""
    return asyncio.run(make())


async def temporal_client():
    return await temporal.connect(settings())


def refuse_foreign_host() -> None:
    """Stop the page when the browser reached it under another name (DNS rebinding): nothing is shown.

    A session with no request headers at all came from no browser (Streamlit's AppTest runs it bare);
    every browser request carries Host, and a program that skips the browser needs no rebinding.
    """
    headers = st.context.headers
    if not headers:
        return
    host = headers.get("Host")
    if not host_allowed(settings(), host):
        st.error(plain(f"This dashboard does not answer to the name {host!r}; open it at its own address."))
        st.stop()


def require_login() -> None:
    """On loopback everyone is admin; beyond it, ask for a password and stop the page until it matches."""
    if not login_required(settings()):
        st.session_state.setdefault("role", "admin")
        return
    if st.session_state.get("role"):
        return
    with st.form("login"):
        password = st.text_input("password", type="password")
        if st.form_submit_button("log in"):
            role = role_for(settings(), password)
            if role:
                st.session_state["role"] = role
                st.rerun()
            st.error("wrong password")
    st.stop()


def can_act() -> bool:
    """Read-only users see everything and change nothing."""
    return st.session_state.get("role", "admin") == "admin"


def reader() -> CatalogReader:
    """This session's catalog reader, reopened every READER_TTL_S so new parts show up."""
    opened = st.session_state.get("_reader")
    if opened is None or time.monotonic() - opened[1] > READER_TTL_S:
        if opened is not None:
            opened[0].close()
        opened = (CatalogReader.open(settings()), time.monotonic())
        st.session_state["_reader"] = opened
    return opened[0]


def show_error(error: SyncoxideError) -> None:
    st.error(str(error))


def pause_resume_run_now(
    key: str,
    what: str,
    *,
    paused: bool,
    allowed: bool,
    run_now: str,
    act: Callable[[str], Coroutine[Any, Any, None]],
    run_now_allowed: bool | None = None,
) -> None:
    """Pause or resume (whichever applies) and run now, each carried out by ``act(action)`` after a yes; run now
    is allowed as the others are unless ``run_now_allowed`` says otherwise."""
    cols = st.columns(3)
    action = None
    if paused:
        action = "resume" if cols[0].button("resume", disabled=not allowed) else None
    else:
        action = "pause" if cols[0].button("pause", disabled=not allowed) else None
    if cols[1].button("run now", disabled=not (allowed if run_now_allowed is None else run_now_allowed)):
        action = run_now
    if action:
        st.session_state[f"{key}_confirm"] = (what, action)
    pending = st.session_state.get(f"{key}_confirm")
    if not pending or pending[0] != what:
        return
    st.warning(f"{pending[1]} {what}?")
    yes, no = st.columns(2)
    if yes.button("yes", key=f"{key}_yes"):
        try:
            call(lambda: act(pending[1]))
            st.success(f"{pending[1]}: done")
        except SyncoxideError as error:
            show_error(error)
        st.session_state.pop(f"{key}_confirm")
    if no.button("no", key=f"{key}_no"):
        st.session_state.pop(f"{key}_confirm")
        st.rerun()


def when(ns: int | None) -> datetime | None:
    return datetime.fromtimestamp(ns / 1e9) if ns else None


def run_link(run_id: str) -> str:
    return temporal.workflow_url(settings(), run_id)


_MARKDOWN = str.maketrans({c: "\\" + c for c in "\\`*_{}[]()#+-.!|<>~$"})


def plain(text: str) -> str:
    """Text for a widget label, which Streamlit reads as markdown: every markdown character taken literally."""
    return text.translate(_MARKDOWN)
