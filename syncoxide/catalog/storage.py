"""Where the catalog's Parquet parts live: a local dir or an S3 bucket, through pyarrow's filesystems.

Parts are written under a temporary name and renamed into place only when complete, so a
reader never sees half a part; which parts count is decided by the manifest (store/catalog.py).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from syncoxide.config import Settings
from syncoxide.errors import InvalidInput
from syncoxide.secrets import SecretRef

if TYPE_CHECKING:
    import pyarrow as pa

# pyarrow is imported where it is used: a reader of a local catalog never needs it (DuckDB reads the
# parts), and it is most of what a quick command like `syncoxide search` would otherwise load.

ROW_GROUP_ROWS = 128 * 1024
STATISTICS_COLUMNS = [
    "kind",
    "repository_id",
    "snapshot_id",
    "source_id",
    "scan_id",
    "path",
    "parent",
    "name",
    "extension",
    "type",
    "size",
    "mtime_ns",
]
"""Columns queries filter on, whose min/max let DuckDB skip row groups."""
TMP_DIR = "tmp"


def _row_groups(batches: Iterable[pa.RecordBatch]) -> Iterable[pa.Table]:
    """Batches gathered into tables of about ROW_GROUP_ROWS rows: small batches (a small snapshot's
    listing) still make row groups big enough to read fast."""
    import pyarrow as pa

    held: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        if not batch.num_rows:
            continue
        held.append(batch)
        count += batch.num_rows
        if count >= ROW_GROUP_ROWS:
            yield pa.Table.from_batches(held)
            held, count = [], 0
    if held:
        yield pa.Table.from_batches(held)


def _local_filesystem():
    import pyarrow.fs as pafs

    return pafs.LocalFileSystem()


@dataclass
class WrittenPart:
    path: str
    rows: int
    bytes: int


class CatalogStorage:
    """Parts addressed by paths relative to the catalog's root."""

    def __init__(self, filesystem: Callable[[], object], root: str, local: bool):
        self._make_filesystem = filesystem
        self.root = root.rstrip("/")
        self.local = local

    @cached_property
    def fs(self):
        """The pyarrow filesystem, made on first use."""
        return self._make_filesystem()

    @classmethod
    def open(cls, uri: str, *, s3_access_key: str | None = None, s3_secret_key: str | None = None) -> CatalogStorage:
        """A local path, or s3://bucket/prefix?endpoint_override=http://host:port (credentials apart)."""
        if "://" not in uri:
            return cls(_local_filesystem, uri, local=True)
        parts = urlsplit(uri)
        if parts.scheme != "s3":
            raise InvalidInput(f"catalog location {uri}: use a local path or s3://bucket/prefix")
        options = dict(pair.split("=", 1) for pair in parts.query.split("&") if "=" in pair)
        # S3-compatible servers other than AWS (rclone serve s3, older MinIO, Ceph) refuse the streaming
        # checksums newer AWS SDKs send by default; ask for checksums only where S3 requires them.
        os.environ.setdefault("AWS_REQUEST_CHECKSUM_CALCULATION", "WHEN_REQUIRED")
        os.environ.setdefault("AWS_RESPONSE_CHECKSUM_VALIDATION", "WHEN_REQUIRED")
        endpoint = options.pop("endpoint_override", None)
        scheme = None
        if endpoint and "://" in endpoint:
            scheme, endpoint = endpoint.split("://", 1)
        scheme = scheme or options.pop("scheme", "https")
        region = options.pop("region", "us-east-1")

        def filesystem():
            import pyarrow.fs as pafs

            return pafs.S3FileSystem(
                access_key=s3_access_key,
                secret_key=s3_secret_key,
                endpoint_override=endpoint,
                scheme=scheme,
                region=region,
                allow_bucket_creation=True,
            )

        return cls(filesystem, f"{parts.netloc}{parts.path}", local=False)

    def full(self, relative: str) -> str:
        return f"{self.root}/{relative}"

    def write_part(
        self, relative: str, batches: Iterable[pa.RecordBatch], *, dictionary: bool | list[str] = True
    ) -> WrittenPart:
        """Stream batches into a Parquet part; it appears at ``relative`` only once complete.

        ``dictionary``: the columns to dictionary-encode. All of them suits snapshot parts, where
        each path comes back in snapshot after snapshot (a name search then reads each name once);
        a scan's paths are all distinct and would only pay for trying."""
        final = self.full(relative)
        temporary = self.full(f"{TMP_DIR}/{uuid.uuid4().hex}.parquet")
        self.fs.create_dir(self.full(TMP_DIR), recursive=True)
        import pyarrow.parquet as pq

        from syncoxide.catalog.schema import SCHEMA

        rows = 0
        try:
            with self.fs.open_output_stream(temporary) as sink:
                with pq.ParquetWriter(
                    sink, SCHEMA, compression="zstd", use_dictionary=dictionary, write_statistics=STATISTICS_COLUMNS
                ) as writer:
                    for group in _row_groups(batches):
                        writer.write_table(group, row_group_size=ROW_GROUP_ROWS)
                        rows += group.num_rows
            self.fs.create_dir(final.rsplit("/", 1)[0], recursive=True)
            self.fs.move(temporary, final)
        except BaseException:
            self._remove_quietly(temporary)
            raise
        return WrittenPart(path=relative, rows=rows, bytes=self.fs.get_file_info(final).size)

    def delete(self, relative: str) -> None:
        self._remove_quietly(self.full(relative))

    def _remove_quietly(self, full: str) -> None:
        try:
            self.fs.delete_file(full)
        except (FileNotFoundError, OSError):
            pass

    def exists(self, relative: str) -> bool:
        import pyarrow.fs as pafs

        return self.fs.get_file_info(self.full(relative)).type != pafs.FileType.NotFound

    def dataset(self, relatives: list[str]):
        import pyarrow.dataset as ds

        from syncoxide.catalog.schema import SCHEMA

        return ds.dataset([self.full(r) for r in relatives], schema=SCHEMA, format="parquet", filesystem=self.fs)

    def clear_temporaries(self, *, older_than_s: float) -> int:
        import pyarrow.fs as pafs

        """Remove what interrupted writers left in tmp/ longer than ``older_than_s`` ago; returns how many."""
        selector = pafs.FileSelector(self.full(TMP_DIR), allow_not_found=True)
        cutoff = time.time() - older_than_s
        found = [
            info.path
            for info in self.fs.get_file_info(selector)
            if info.type == pafs.FileType.File and info.mtime is not None and info.mtime.timestamp() < cutoff
        ]
        for path in found:
            self._remove_quietly(path)
        return len(found)


def open_storage(settings: Settings) -> CatalogStorage:
    """The catalog's storage as the settings say; S3 credentials are secret references."""
    access = SecretRef.parse(settings.catalog_s3_access_key).resolve() if settings.catalog_s3_access_key else None
    secret = SecretRef.parse(settings.catalog_s3_secret_key).resolve() if settings.catalog_s3_secret_key else None
    return CatalogStorage.open(settings.catalog_uri, s3_access_key=access, s3_secret_key=secret)
