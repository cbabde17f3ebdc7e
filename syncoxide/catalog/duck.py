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


ENTRY_COLUMNS = {
    "kind": "VARCHAR",
    "repository_id": "VARCHAR",
    "snapshot_id": "VARCHAR",
    "source_id": "VARCHAR",
    "scan_id": "VARCHAR",
    "path": "VARCHAR",
    "parent": "VARCHAR",
    "name": "VARCHAR",
    "extension": "VARCHAR",
    "type": "VARCHAR",
    "size": "BIGINT",
    "mtime_ns": "BIGINT",
    "mode": "INTEGER",
    "uid": "BIGINT",
    "gid": "BIGINT",
    "mime": "VARCHAR",
    "link_target": "VARCHAR",
    "xxh3": "VARCHAR",
    "blake3": "VARCHAR",
    "md5": "VARCHAR",
    "sha1": "VARCHAR",
}
"""The catalog schema's columns as DuckDB reads them (dictionary columns come back as VARCHAR)."""


def attach_parts(con: duckdb.DuckDBPyConnection, name: str, storage: CatalogStorage, parts: list[str]) -> None:
    """Make view ``name`` read exactly these parts (an empty view with the schema when there are none)."""
    if not parts:
        columns = ", ".join(f"NULL::{kind} AS {column}" for column, kind in ENTRY_COLUMNS.items())
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT {columns} WHERE false")
    elif storage.local:
        files = ", ".join(sql_literal(storage.full(p)) for p in parts)
        reader = f"read_parquet([{files}], union_by_name = true, hive_partitioning = false)"
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM {reader}")
    else:
        con.register(f"{name}_arrow", storage.dataset(parts))
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM {name}_arrow")
