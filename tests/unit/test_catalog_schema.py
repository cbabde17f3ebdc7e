"""The catalog's schema as pyarrow writes it and as DuckDB reads it agree."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from syncoxide.catalog.duck import ENTRY_COLUMNS
from syncoxide.catalog.schema import SCHEMA, build_batch


def test_duckdb_reads_a_part_with_the_columns_an_empty_view_declares(tmp_path):
    raw = {
        "path": ["/a/b.TXT"],
        "parent": ["/a"],
        "name": ["b.TXT"],
        "type": ["file"],
        "size": [3],
        "mtime_ns": [1],
        "mode": [0o644],
        "uid": [0],
        "gid": [0],
        "link_target": [None],
    }
    table = pa.Table.from_batches([build_batch(raw, {"kind": "scan", "source_id": "s"})])
    pq.write_table(table, tmp_path / "p.parquet")
    described = duckdb.connect().execute(f"DESCRIBE SELECT * FROM read_parquet('{tmp_path / 'p.parquet'}')").fetchall()
    assert {row[0]: row[1] for row in described} == ENTRY_COLUMNS
    assert list(ENTRY_COLUMNS) == SCHEMA.names
