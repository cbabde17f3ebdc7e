"""DuckDB over catalog parts: local parts through its own Parquet reader, remote ones as Arrow datasets.

DuckDB extensions that download at run time (httpfs) are not available, so parts in S3 are
scanned through pyarrow's S3 filesystem and handed to DuckDB as a dataset.
"""

from __future__ import annotations

import duckdb

from syncoxide.catalog.storage import CatalogStorage

THREADS = 4


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute(f"SET threads = {THREADS}")
    return con


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def attach_parts(con: duckdb.DuckDBPyConnection, name: str, storage: CatalogStorage, parts: list[str]) -> None:
    """Make view ``name`` read exactly these parts (an empty view with the schema when there are none)."""
    if storage.local and parts:
        files = ", ".join(sql_literal(storage.full(p)) for p in parts)
        reader = f"read_parquet([{files}], union_by_name = true, hive_partitioning = false)"
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM {reader}")
    else:
        con.register(f"{name}_arrow", storage.dataset(parts))
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM {name}_arrow")
