"""A local directory. Writes go to a hidden temporary sibling, fsync, then rename into place."""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from syncoxide.config import Settings
from syncoxide.providers import paths
from syncoxide.providers.base import (
    COPY_CHUNK,
    Capabilities,
    Entry,
    Provider,
    RangeReader,
    Readable,
    TrackedSource,
    check_range,
    temp_name,
    utc,
)
from syncoxide.providers.errors import ObjectNotFound, ProviderError, ProviderNotFound, ProviderTransient
from syncoxide.providers.spec import ProviderSpec


class LocalProvider(Provider):
    kind = "local"
    capabilities = Capabilities(hashes=frozenset(), server_side_copy=True, set_mtime=True, mtime_precision=1e-6)

    def __init__(self, root: Path):
        super().__init__(str(root))
        self.root = root

    def _abs(self, path: str) -> Path:
        clean = paths.clean(path)
        return self.root / clean if clean else self.root

    def _fail(self, exc: OSError, path: str) -> Exception:
        if exc.errno == errno.ENOENT:
            return ObjectNotFound(f"{self.display}: {path or '/'} not found")
        if exc.errno in (errno.EIO, errno.EAGAIN, errno.EBUSY, errno.ETIMEDOUT):
            return ProviderTransient(f"{self.display}: {path}: {exc.strerror}")
        return ProviderError(f"{self.display}: {path}: {exc.strerror}")

    def _entry(self, path: str, st: os.stat_result, is_dir: bool) -> Entry:
        return Entry(path=path, size=0 if is_dir else st.st_size, mtime=utc(st.st_mtime_ns / 1e9), is_dir=is_dir)

    def list(self, path: str = "") -> Iterator[Entry]:
        start = paths.clean(path)
        top = self._abs(start)
        if not top.is_dir():
            self.stat(start)  # raises ObjectNotFound, else it is a file
            return
        stack = [start]
        while stack:
            current = stack.pop()
            try:
                with os.scandir(self._abs(current)) as it:
                    for item in it:
                        rel = paths.join(current, item.name)
                        try:
                            is_dir = item.is_dir(follow_symlinks=False)
                            st = item.stat(follow_symlinks=False)
                        except FileNotFoundError:
                            continue  # vanished while listing
                        if item.is_symlink():
                            continue  # symlinks are not followed or copied
                        yield self._entry(rel, st, is_dir)
                        if is_dir:
                            stack.append(rel)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise self._fail(exc, current) from None

    def stat(self, path: str) -> Entry:
        clean = paths.clean(path)
        try:
            st = self._abs(clean).stat()
        except OSError as exc:
            raise self._fail(exc, clean) from None
        return self._entry(clean, st, os.path.isdir(self._abs(clean)))

    def open_read(self, path: str, offset: int = 0, length: int | None = None) -> BinaryIO:
        check_range(offset, length)
        clean = paths.clean(path)
        try:
            handle = open(self._abs(clean), "rb")  # noqa: SIM115 - closed by the RangeReader
        except IsADirectoryError:
            raise ProviderError(f"{self.display}: {clean} is a directory") from None
        except OSError as exc:
            raise self._fail(exc, clean) from None
        handle.seek(offset)
        return RangeReader(handle, length)  # type: ignore[return-value]

    def write(self, path: str, source: Readable, *, size: int | None = None, mtime: datetime | None = None,
              in_place: bool = False) -> Entry:
        clean = paths.clean(path)
        final, temp = self._abs(clean), self._abs(temp_name(clean))
        tracked = TrackedSource(source)
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            with open(temp, "wb") as out:
                while chunk := tracked.read(COPY_CHUNK):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if mtime is not None:
                ns = int(mtime.timestamp() * 1e9)
                os.utime(temp, ns=(ns, ns))
            os.replace(temp, final)
        except OSError as exc:
            temp.unlink(missing_ok=True)
            if tracked.error is not None:
                raise
            raise self._fail(exc, clean) from None
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return self.stat(clean)

    def mkdir(self, path: str) -> None:
        clean = paths.clean(path)
        try:
            self._abs(clean).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._fail(exc, clean) from None

    def delete(self, path: str) -> None:
        clean = paths.clean(path)
        try:
            self._abs(clean).unlink()
        except IsADirectoryError:
            raise ProviderError(f"{self.display}: {clean} is a directory (use rmdir)") from None
        except OSError as exc:
            raise self._fail(exc, clean) from None

    def rmdir(self, path: str) -> None:
        clean = paths.clean(path)
        try:
            self._abs(clean).rmdir()
        except OSError as exc:
            raise self._fail(exc, clean) from None

    def move(self, src: str, dst: str) -> None:
        s, d = paths.clean(src), paths.clean(dst)
        if not self._abs(s).exists():
            raise ObjectNotFound(f"{self.display}: {s} not found")
        try:
            self._abs(d).parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._abs(s), self._abs(d))
        except OSError as exc:
            raise self._fail(exc, s) from None

    def copy(self, src: str, dst: str) -> None:
        s, d = paths.clean(src), paths.clean(dst)
        final, temp = self._abs(d), self._abs(temp_name(d))
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(self._abs(s), temp)  # copy_file_range / reflink where the kernel offers it
            os.replace(temp, final)
        except OSError as exc:
            temp.unlink(missing_ok=True)
            raise self._fail(exc, s) from None

    def set_mtime(self, path: str, mtime: datetime) -> None:
        clean = paths.clean(path)
        ns = int(mtime.timestamp() * 1e9)
        try:
            os.utime(self._abs(clean), ns=(ns, ns))
        except OSError as exc:
            raise self._fail(exc, clean) from None


def connect(spec: ProviderSpec, settings: Settings) -> LocalProvider:
    root = Path(spec.location.removeprefix("file://")).expanduser()
    if not root.is_dir():
        raise ProviderNotFound(f"local provider root {root} is not a directory")
    return LocalProvider(root.resolve())
