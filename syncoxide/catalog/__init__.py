"""The catalog: every source and every snapshot as Parquet parts, answered by DuckDB.

What importers need without pulling in pyarrow: the schema's version and the hash names.
"""

SCHEMA_VERSION = 1
HASH_ALGORITHMS = ("xxh3", "blake3", "md5", "sha1")
