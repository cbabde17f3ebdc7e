"""What the dashboard's pages gather from the store, the catalog and Temporal before they draw (no Streamlit)."""
