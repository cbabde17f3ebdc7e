"""Walking a directory tree fast into Arrow columns: GNU find does the walk, NumPy and Arrow read its output.

find makes one lstat per entry in C and prints one record per entry: the numbers in fixed-width
fields, then the path and the link target, each ended by a NUL (the one byte no name can hold).
This process reads the stream in blocks while find goes on walking, and turns each block into
columns without a Python object per entry: one Arrow cast parses all the digits of a block, and
the strings are views into it (path, parent, name and link target are slices of the same bytes).
A field wider than its width would shift the record; every block is checked for that. Unreadable
entries are what find reports on stderr; they are counted and the walk goes on.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import queue
import subprocess
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import TYPE_CHECKING

from syncoxide.errors import InvalidInput
from syncoxide.fs import names

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

TRASH_DIR_NAME = ".syncoxide-trash"
"""Where cleanups put what they move, below a source's root; scans never enter it."""
ERROR_SAMPLE = 20
READ_BYTES = 8 << 20
PIPE_BYTES = 1 << 20
QUEUED_BLOCKS = 4
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
_RESERVED_UTF8_LEADS = (b"\xf4\x8f\xba", b"\xf4\x8f\xbb")  # U+10FE80..U+10FEFF in UTF-8 (syncoxide/fs/names.py)

TYPES = ("file", "dir", "symlink", "other")
_FIND_TYPES = {"f": "file", "d": "dir", "l": "symlink"}  # %y's letters; the rest are "other"

_NUMBERS = (("mode", "m", 4), ("uid", "U", 10), ("gid", "G", 10), ("size", "s", 20))
"""Fixed-width number fields after %y's one letter: (column, find directive, width)."""
_SECONDS_WIDTH, _FRACTION_WIDTH = 12, 10  # then %T@: seconds, a dot and ten digits of fraction
_WIDTHS = (1, *(width for *_, width in _NUMBERS), _SECONDS_WIDTH, 1, _FRACTION_WIDTH)
_FIELD_STARTS = tuple(sum(_WIDTHS[:i]) for i in range(len(_WIDTHS) + 1))
RECORD_WIDTH = _FIELD_STARTS[-1]
PRINTF = (
    "%y"
    + "".join(f"%{width}{directive}" for _, directive, width in _NUMBERS)
    + f"%{_SECONDS_WIDTH + 1 + _FRACTION_WIDTH}T@"
    + "%p\\0%l\\0"
)


@dataclass
class WalkStats:
    files: int = 0
    dirs: int = 0
    bytes: int = 0
    errors: int = 0
    error_sample: list[str] = field(default_factory=list)

    def error(self, message: str) -> None:
        self.errors += 1
        if len(self.error_sample) < ERROR_SAMPLE:
            self.error_sample.append(message)


def find_arguments(root: str, excludes: list[str], one_file_system: bool) -> list[str]:
    """find's command line: the project's exclude syntax (engines/excludes.py) as prunes.

    A pattern with no ``/`` matches a name at any depth, one starting with ``/`` the whole path,
    any other the end of the path; an excluded folder is not entered. The root itself is never
    tested (-mindepth 1), so no pattern can exclude the tree being scanned.
    """
    tests: list[str] = []
    for pattern in excludes:
        if pattern.startswith("/"):
            test = ["-path", pattern]
        elif "/" in pattern:
            test = ["-path", f"*/{pattern}"]
        else:
            test = ["-name", pattern]
        tests += [*(["-o"] if tests else []), *test]
    argv = ["find", root, "-mindepth", "1"]
    if one_file_system:
        argv.append("-xdev")
    if tests:
        argv += ["(", *tests, ")", "-prune", "-o"]
    return [*argv, "-printf", PRINTF]


class _Chunk:
    """Whole records of find's output, read column by column without a Python object per entry."""

    def __init__(self, records: bytes, nuls: np.ndarray):
        import numpy as np
        import pyarrow as pa

        self.records = records
        self.buffer = pa.py_buffer(records + bytes(16))  # views may read 12 bytes past a string's start
        self.data = np.frombuffer(self.buffer, np.uint8)
        self.path_end, self.link_end = nuls[0::2], nuls[1::2]
        self.start = np.empty_like(self.path_end)
        self.start[0] = 0
        self.start[1:] = self.link_end[:-1] + 1
        self.rows = len(self.start)
        self.path_start = self.start + RECORD_WIDTH

    @cached_property
    def fixed(self) -> np.ndarray:
        """Each record's fixed-width part (type letter and numbers), one row per record."""
        from numpy.lib.stride_tricks import sliding_window_view

        return sliding_window_view(self.data, RECORD_WIDTH)[self.start]

    def valid(self) -> bool:
        """Every record has its fixed part and an absolute path right after it."""
        long_enough = (self.path_end - self.start > RECORD_WIDTH).all()
        return bool(long_enough and (self.data[self.path_start] == ord("/")).all())

    def fixed_columns(self) -> dict[str, np.ndarray]:
        """The type code and the numbers of every record: its fixed-width fields as digit strings, laid end
        to end, are one Arrow string array over the same bytes, and one cast to integers parses them all."""
        import numpy as np
        import pyarrow as pa

        fixed = self.fixed
        columns = {"type": _type_codes()[fixed[:, 0]]}
        seconds, dot, fraction = len(_NUMBERS) + 1, len(_NUMBERS) + 2, len(_NUMBERS) + 3
        negative = (fixed[:, _FIELD_STARTS[seconds] : _FIELD_STARTS[dot]] == ord("-")).any(axis=1)
        fixed[:, 0] = ord("0")  # the type letter, read above
        np.maximum(fixed, ord("0"), out=fixed)  # padding, sign and dot (all below "0") become zeros
        starts = np.asarray(_FIELD_STARTS[:-1], np.int32)
        offsets = np.empty(self.rows * len(starts) + 1, np.int32)
        offsets[:-1] = (np.arange(self.rows, dtype=np.int32)[:, None] * RECORD_WIDTH + starts).ravel()
        offsets[-1] = self.rows * RECORD_WIDTH
        buffers = [None, pa.py_buffer(offsets), pa.py_buffer(fixed)]
        digits = pa.Array.from_buffers(pa.string(), len(offsets) - 1, buffers)
        values = digits.cast(pa.int64()).to_numpy().reshape(self.rows, len(starts))
        for index, (name, _, _) in enumerate(_NUMBERS, start=1):
            columns[name] = values[:, index]
        octal = columns["mode"]
        columns["mode"] = (octal // 1000) * 512 + (octal // 100 % 10) * 64 + (octal // 10 % 10) * 8 + octal % 10
        whole, tenths_of_ns = values[:, seconds], values[:, fraction]
        columns["mtime_ns"] = np.where(negative, -whole, whole) * 1_000_000_000 + tenths_of_ns // 10  # -2.5 is -1.5 s
        return columns

    def strings(self, start: np.ndarray, end: np.ndarray) -> pa.Array:
        """Strings ``data[start:end]`` as an Arrow string array, built from views into the chunk.

        An Arrow view is 16 bytes: the length, then the bytes themselves when they fit in 12, else
        their first 4 bytes, the buffer's index and the offset. The strings are in the stored form of
        syncoxide/fs/names.py: a block whose names are all valid UTF-8 (nearly every one) is cast as it is,
        any other is stored name by name.
        """
        import numpy as np
        import pyarrow as pa
        from numpy.lib.stride_tricks import sliding_window_view

        length = (end - start).astype(np.int32)
        first = sliding_window_view(self.data, 12)[start]
        first[np.arange(12)[None, :] >= length[:, None]] = 0
        views = np.empty((len(start), 4), np.int32)
        views[:, 0] = length
        views[:, 1:] = first.view(np.int32)
        long = length > 12
        views[long, 2] = 0
        views[long, 3] = start[long]
        binary = pa.Array.from_buffers(pa.binary_view(), len(start), [None, pa.py_buffer(views), self.buffer])
        if not self.holds_stored_bytes:
            with contextlib.suppress(pa.ArrowInvalid):
                return binary.cast(pa.string())
        return pa.array([names.stored(b) for b in binary.to_pylist()], pa.string())

    @cached_property
    def holds_stored_bytes(self) -> bool:
        """Whether some name holds a character the stored form reserves for bytes (its UTF-8 starts so)."""
        return any(self.records.find(lead) >= 0 for lead in _RESERVED_UTF8_LEADS)


def _drained(stream) -> Generator[bytes, None, None]:
    """The stream in blocks of about READ_BYTES, read by a thread so that find does not wait for this one
    (up to QUEUED_BLOCKS ahead; then find waits, so memory stays bounded)."""
    blocks: queue.Queue[bytes | None] = queue.Queue(QUEUED_BLOCKS)

    def drain() -> None:
        held = bytearray()
        try:
            while block := stream.read(PIPE_BYTES):
                held += block
                if len(held) >= READ_BYTES:
                    blocks.put(bytes(held))
                    held.clear()
        except (OSError, ValueError):  # closed: the walk was abandoned
            pass
        finally:
            if held:
                blocks.put(bytes(held))
            blocks.put(None)

    reader = threading.Thread(target=drain, name="syncoxide-find-output", daemon=True)
    reader.start()
    try:
        while (block := blocks.get()) is not None:
            yield block
    finally:
        while reader.is_alive():  # abandoned: take what it still hands over until find's end reaches it
            with contextlib.suppress(queue.Empty):
                blocks.get(timeout=0.05)


@cache
def _type_codes() -> np.ndarray:
    """find's %y letter -> index in TYPES."""
    import numpy as np

    codes = np.full(256, TYPES.index("other"), np.int8)
    for letter, kind in _FIND_TYPES.items():
        codes[ord(letter)] = TYPES.index(kind)
    return codes


class FindWalk:
    """One find over ``root``; ``batches()`` yields dicts of Arrow columns (catalog/schema.RAW_COLUMNS)."""

    def __init__(self, root: str, excludes: list[str], *, one_file_system: bool, stats: WalkStats):
        self.root = root.rstrip("/") or "/"
        self.argv = find_arguments(self.root, excludes, one_file_system)
        self.stats = stats

    def batches(self) -> Iterator[dict[str, pa.Array]]:
        """The root, then find's entries; closing the generator early stops find."""
        import numpy as np

        yield self._root_entry()
        env = {**os.environ, "LC_ALL": "C"}
        try:
            find = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, bufsize=0)
        except FileNotFoundError as exc:
            raise InvalidInput("scan: GNU find is not installed (Debian: apt install findutils)") from exc
        assert find.stdout is not None  # piped above
        with contextlib.suppress(OSError):  # a bigger pipe: find seldom waits for this process to read
            fcntl.fcntl(find.stdout.fileno(), F_SETPIPE_SZ, PIPE_BYTES)
        complaints: list[str] = []
        reader = threading.Thread(target=self._read_errors, args=(find.stderr, complaints), daemon=True)
        reader.start()
        rest = b""
        finished = False
        chunks = _drained(find.stdout)
        try:
            for chunk in chunks:
                data = rest + chunk
                nuls = np.flatnonzero(np.frombuffer(data, np.uint8) == 0)
                complete = len(nuls) // 2 * 2
                if not complete:
                    rest = data
                    continue
                cut = int(nuls[complete - 1]) + 1
                rest = data[cut:]
                yield self._columns(data[:cut], nuls[:complete])
            if rest:
                raise RuntimeError(f"scan: find's output for {self.root} ended inside a record")
            finished = True
        finally:
            if not finished:  # abandoned or failed: find must not go on walking
                find.kill()
            chunks.close()
            find.stdout.close()
            returncode = find.wait()
            reader.join()
        if returncode != 0 and not self.stats.errors:
            raise RuntimeError(f"scan: find failed on {self.root} ({returncode}): {' '.join(complaints)[-500:]}")

    def _read_errors(self, stream, complaints: list[str]) -> None:
        for raw in stream:
            line = names.stored(raw).rstrip("\n")
            message = line.removeprefix("find: ")
            if message.startswith("'") and "': " in message:
                path, reason = message[1:].split("': ", 1)
                self.stats.error(f"{path}: {reason}")
            else:
                complaints.append(line)

    def _root_entry(self) -> dict[str, pa.Array]:
        import pyarrow as pa

        st = os.lstat(self.root)
        self.stats.dirs += 1
        root = names.from_os(self.root)
        parent, name = os.path.split(root) if root != "/" else ("", "/")
        return {
            "path": pa.array([root]),
            "parent": pa.array([parent]),
            "name": pa.array([name]),
            "type": pa.array(["dir"]),
            "size": pa.array([0], pa.int64()),
            "mtime_ns": pa.array([st.st_mtime_ns], pa.int64()),
            "mode": pa.array([st.st_mode & 0o7777], pa.int32()),
            "uid": pa.array([st.st_uid], pa.int64()),
            "gid": pa.array([st.st_gid], pa.int64()),
            "link_target": pa.nulls(1, pa.string()),
        }

    def _columns(self, records: bytes, nuls: np.ndarray) -> dict[str, pa.Array]:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        chunk = _Chunk(records, nuls)
        if not chunk.valid():
            raise RuntimeError(f"scan: find printed a record this scan cannot read, below {self.root}")
        numbers = chunk.fixed_columns()
        type_code = numbers["type"]
        is_file = type_code == TYPES.index("file")
        size = np.where(is_file, numbers["size"], 0)
        self.stats.files += int(is_file.sum())
        self.stats.dirs += int((type_code == TYPES.index("dir")).sum())
        self.stats.bytes += int(size.sum())

        slashes = np.flatnonzero(chunk.data == ord("/"))
        last_slash = slashes[np.searchsorted(slashes, chunk.path_end) - 1]
        parent_end = np.where(last_slash == chunk.path_start, last_slash + 1, last_slash)  # the parent of /x is /
        is_link = type_code == TYPES.index("symlink")
        if is_link.any():
            link = pc.if_else(pa.array(is_link), chunk.strings(chunk.path_end + 1, chunk.link_end), None)
        else:
            link = pa.nulls(chunk.rows, pa.string())
        return {
            "path": chunk.strings(chunk.path_start, chunk.path_end),
            "parent": chunk.strings(chunk.path_start, parent_end),
            "name": chunk.strings(last_slash + 1, chunk.path_end),
            "type": pa.DictionaryArray.from_arrays(pa.array(type_code.astype(np.int32)), pa.array(TYPES)),
            "size": pa.array(size),
            "mtime_ns": pa.array(numbers["mtime_ns"]),
            "mode": pa.array(numbers["mode"].astype(np.int32)),
            "uid": pa.array(numbers["uid"]),
            "gid": pa.array(numbers["gid"]),
            "link_target": link,
        }
