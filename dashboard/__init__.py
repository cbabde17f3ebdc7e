"""The Streamlit dashboard: pages call syncoxide's core and client, and hold no business logic."""
