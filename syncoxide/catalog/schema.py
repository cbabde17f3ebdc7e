"""The catalog's Arrow schema (versioned) and the vectorized columns derived from path and name.

One row is one entry (file, dir, symlink, other) of a snapshot or of a source scan. Which
snapshot or scan it belongs to is in the row itself (repository_id + snapshot_id, or
source_id + scan_id), so parts of many snapshots can be compacted into one file.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping

import pyarrow as pa
import pyarrow.compute as pc

from syncoxide.catalog import HASH_ALGORITHMS, SCHEMA_VERSION

SCHEMA_VERSION_KEY = b"syncoxide.catalog.schema"

_ID = pa.dictionary(pa.int32(), pa.string())

SCHEMA = pa.schema(
    [
        pa.field("kind", _ID, nullable=False),  # snapshot | scan
        pa.field("repository_id", _ID),
        pa.field("snapshot_id", _ID),
        pa.field("source_id", _ID),
        pa.field("scan_id", _ID),
        pa.field("path", pa.string(), nullable=False),
        pa.field("parent", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("extension", pa.string(), nullable=False),  # lower case, without the dot; "" when none
        pa.field("type", _ID, nullable=False),  # file | dir | symlink | other
        pa.field("size", pa.int64(), nullable=False),
        pa.field("mtime_ns", pa.int64(), nullable=False),
        pa.field("mode", pa.int32()),
        pa.field("uid", pa.int64()),
        pa.field("gid", pa.int64()),
        pa.field("mime", pa.string()),
        pa.field("link_target", pa.string()),
        *(pa.field(name, pa.string()) for name in HASH_ALGORITHMS),
    ],
    metadata={SCHEMA_VERSION_KEY: str(SCHEMA_VERSION).encode()},
)
RAW_COLUMNS = ("path", "parent", "name", "type", "size", "mtime_ns", "mode", "uid", "gid", "link_target")
"""What a listing or a walk supplies; the rest is derived (extension, mime) or the same for the whole part."""

_EXTENSION = r"\.(?P<ext>[^.]{1,32})$"


def _mime_of(extensions: pa.Array) -> pa.Array:
    """Mime type per extension, looked up once per distinct extension."""
    unique = pc.unique(extensions).to_pylist()
    lookup = pa.array([mimetypes.types_map.get(f".{ext}") for ext in unique], pa.string())
    return pc.take(lookup, pc.index_in(extensions, value_set=pa.array(unique, pa.string())))


def extensions_of(names: pa.Array) -> pa.Array:
    """Lower-case extension without the dot ("" for none; ".bashrc" has none), column-wise."""
    matched = pc.extract_regex(names, _EXTENSION)
    extension = pc.utf8_lower(pc.fill_null(pc.struct_field(matched, [0]), ""))
    whole_name = pc.equal(pc.utf8_length(names), pc.add(pc.utf8_length(extension), 1))
    return pc.if_else(whole_name, "", extension)


def constant(value: str | None, length: int) -> pa.Array:
    """A dictionary column holding one value (or null) ``length`` times."""
    indices = pa.nulls(length, pa.int32())
    if value is not None:
        indices = indices.fill_null(0)
    return pa.DictionaryArray.from_arrays(indices, pa.array([value or ""], pa.string()))


def _array(values: list | pa.Array, type_: pa.DataType) -> pa.Array:
    if isinstance(values, pa.Array):
        return values if values.type == type_ else values.cast(type_)
    return pa.array(values, type_)


def build_batch(raw: dict[str, list | pa.Array], owner: Mapping[str, str | None]) -> pa.RecordBatch:
    """A batch in SCHEMA from raw columns (lists or Arrow arrays) and the part's owner ids; hash columns empty."""
    length = len(raw["path"])
    names = _array(raw["name"], pa.string())
    extension = extensions_of(names)
    derived = {"name": names, "extension": extension, "mime": _mime_of(extension)}
    columns: dict[str, pa.Array] = {}
    for field in SCHEMA:
        if field.name in ("kind", "repository_id", "snapshot_id", "source_id", "scan_id"):
            columns[field.name] = constant(owner.get(field.name), length)
        elif field.name == "type":
            kinds = raw["type"]
            columns["type"] = (
                kinds.cast(_ID)
                if isinstance(kinds, pa.DictionaryArray)
                else pc.dictionary_encode(pa.array(kinds, pa.string())).cast(_ID)
            )
        elif field.name in derived:
            columns[field.name] = derived[field.name]
        elif field.name in HASH_ALGORITHMS:
            columns[field.name] = pa.nulls(length, pa.string())
        elif field.name in raw:
            columns[field.name] = _array(raw[field.name], field.type)
        else:
            columns[field.name] = pa.nulls(length, field.type)
    return pa.RecordBatch.from_arrays([columns[f.name] for f in SCHEMA], schema=SCHEMA)


def conform(batch: pa.RecordBatch) -> pa.RecordBatch:
    """A batch from a query (DuckDB gives plain strings) in SCHEMA's column order and types."""
    columns = []
    for field in SCHEMA:
        column = batch.column(field.name)
        if pa.types.is_dictionary(field.type) and not pa.types.is_dictionary(column.type):
            column = pc.dictionary_encode(column.cast(pa.string())).cast(field.type)
        elif column.type != field.type:
            column = column.cast(field.type)
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=SCHEMA)
