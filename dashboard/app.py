"""syncoxide dashboard: a Streamlit multipage app over the core and the Temporal client."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.common import refuse_foreign_host, require_login
from syncoxide.fs.modes import go_private

go_private()  # what the dashboard writes (a restore's staging, cleanup's trash) is private, as in the CLI

VIEWS = Path(__file__).resolve().parent / "views"
PAGES = [
    ("overview.py", "Overview", ":material/dashboard:"),
    ("policies.py", "Policies", ":material/schedule:"),
    ("snapshots.py", "Snapshots", ":material/history:"),
    ("restore.py", "Restore", ":material/settings_backup_restore:"),
    ("sync.py", "Sync", ":material/sync:"),
    ("search.py", "Search", ":material/search:"),
    ("analytics.py", "Analytics", ":material/insights:"),
    ("cleanup.py", "Cleanup", ":material/cleaning_services:"),
    ("audit.py", "Audit", ":material/fact_check:"),
]

st.set_page_config(page_title="syncoxide", layout="wide")
refuse_foreign_host()
require_login()
navigation = st.navigation(
    [st.Page(VIEWS / file, title=title, icon=icon, default=i == 0) for i, (file, title, icon) in enumerate(PAGES)]
)
navigation.run()
