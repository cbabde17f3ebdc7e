"""syncoxide: Temporal-orchestrated backups, restores and syncs with a DuckDB-over-Parquet catalog."""

__version__ = "0.1.0"
