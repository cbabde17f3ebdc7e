"""A provider whose root directory may not exist yet: created like ``mkdir -p``, or seen as empty.

``open_provider`` refuses a root that does not exist (a typo, an unmounted disk). A sync destination is
different: like rclone, a sync into a folder that is not there yet creates it. The nearest ancestor
that exists is opened and the rest of the path is created through it, so every provider kind works
the same way; a dry run sees the missing root as an empty directory and creates nothing.

An S3 bucket has no parent to make it in (and a prefix needs no making): a kind like that makes its own
root (``make_root`` of its module: CreateBucket), as ``rclone copy`` does into a bucket that is not there.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import NoReturn
from urllib.parse import unquote, urlsplit, urlunsplit

from syncoxide.config import Settings
from syncoxide.providers import paths
from syncoxide.providers.base import Capabilities, Entry, Provider, Readable, ReadStream
from syncoxide.providers.errors import ObjectNotFound, ProviderNotFound
from syncoxide.providers.spec import ProviderSpec, open_provider, provider_module


def _parent_path(path: str) -> str | None:
    trimmed = path.rstrip("/")
    return None if trimmed in ("", "/~") else posixpath.dirname(trimmed)


def parent(spec: ProviderSpec) -> tuple[ProviderSpec, str] | None:
    """The spec of the directory one level up and the name of this one in it; None at the top (and for S3,
    where a prefix needs no creating and a bucket is made by ``_own_root``)."""
    location = spec.location
    if spec.kind == "local":
        path = Path(location.removeprefix("file://")).expanduser()
        up, name = str(path.parent), path.name
        if path.parent == path:
            return None
    elif spec.kind in ("sftp", "webdav"):
        url = urlsplit(location)
        above = _parent_path(url.path)
        if above is None:
            return None
        up, name = urlunsplit(url._replace(path=above)), unquote(posixpath.basename(url.path.rstrip("/")))
    elif spec.kind == "rclone":
        remote, _, remote_path = location.partition(":")
        above = _parent_path(remote_path)
        if above is None:
            return None
        up, name = f"{remote}:{above}", posixpath.basename(remote_path.rstrip("/"))
    else:
        return None
    return spec.model_copy(update={"location": up}), name


def _nearest(spec: ProviderSpec, settings: Settings) -> tuple[Provider, str] | None:
    """The nearest ancestor that exists, opened, and the path below it down to ``spec``'s root."""
    below: list[str] = []
    current = spec
    while (step := parent(current)) is not None:
        current, name = step
        below.insert(0, name)
        try:
            return open_provider(current, settings), "/".join(below)
        except ProviderNotFound:
            continue
    return None


def open_root(spec: ProviderSpec, settings: Settings, *, create: bool) -> Provider:
    """Open ``spec``; a root that does not exist is created (``create``) or seen as empty."""
    try:
        return open_provider(spec, settings)
    except ProviderNotFound as missing:
        found = _nearest(spec, settings)
        if found is None:
            return _own_root(spec, settings, missing, create=create)
        ancestor, below = found
        if ancestor.exists(below):
            ancestor.close()
            raise missing from None  # it is there, but not a directory
    if not create:
        return Absent(f"{ancestor.display.rstrip('/')}/{below}", ancestor.kind, ancestor.capabilities, ancestor)
    with ancestor:
        ancestor.mkdir(below)
    return open_provider(spec, settings)


def _own_root(spec: ProviderSpec, settings: Settings, missing: ProviderNotFound, *, create: bool) -> Provider:
    """A root that no parent holds: made by its provider kind where it can (an S3 bucket), else ``missing``."""
    module = provider_module(spec.kind)
    if not hasattr(module, "make_root"):
        raise missing
    if not create:
        return Absent(spec.location, spec.kind, module.CAPABILITIES, None)
    module.make_root(spec, settings)
    return open_provider(spec, settings)


class Absent(Provider):
    """A root that does not exist yet: it lists nothing; a dry run plans against it and never writes."""

    def __init__(self, where: str, kind: str, capabilities: Capabilities, ancestor: Provider | None):
        super().__init__(f"{where} (does not exist yet)")
        self.kind = kind
        self.capabilities = capabilities
        self._ancestor = ancestor

    def list(self, path: str = "", *, specials: list[Entry] | None = None) -> Iterator[Entry]:
        return iter(())

    def stat(self, path: str) -> Entry:
        raise ObjectNotFound(f"{self.display}: {paths.clean(path) or '/'} not found")

    def _absent(self) -> NoReturn:
        raise ObjectNotFound(f"{self.display}: nothing can be read or written there")

    def open_read(self, path: str, offset: int = 0, length: int | None = None) -> ReadStream:
        self._absent()

    def write(
        self,
        path: str,
        source: Readable,
        *,
        size: int | None = None,
        mtime: datetime | None = None,
        in_place: bool = False,
    ) -> Entry:
        self._absent()

    def mkdir(self, path: str) -> None:
        self._absent()

    def delete(self, path: str) -> None:
        self._absent()

    def rmdir(self, path: str) -> None:
        self._absent()

    def move(self, src: str, dst: str) -> None:
        self._absent()

    def close(self) -> None:
        if self._ancestor is not None:
            self._ancestor.close()
