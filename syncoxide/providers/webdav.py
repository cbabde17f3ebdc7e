"""WebDAV (RFC 4918) over requests: PROPFIND, GET with Range, PUT, MKCOL, MOVE, COPY, DELETE.

Location: ``http(s)://host:port/path/to/collection``. Writes PUT to a hidden temporary name and
MOVE it into place. With ``oc_mtime`` (default on) modification times are sent the way ownCloud,
Nextcloud and ``rclone serve webdav`` understand (``X-OC-Mtime`` on PUT, PROPPATCH of
``lastmodified``). With ``etag_hash: md5`` (or sha1) the server's ETag is taken as that hash of the
content, as with ``rclone serve webdav --etag-hash md5``; otherwise no hash is claimed.
"""

from __future__ import annotations

import io
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import requests

from syncoxide.config import Settings
from syncoxide.errors import InvalidInput
from syncoxide.providers import options, paths
from syncoxide.providers.base import (
    Capabilities,
    Entry,
    Provider,
    RangeReader,
    Readable,
    ReadStream,
    TrackedSource,
    check_range,
    temp_name,
)
from syncoxide.providers.errors import (
    ObjectNotFound,
    ProviderAuthFailed,
    ProviderError,
    ProviderNotFound,
    ProviderTransient,
)
from syncoxide.providers.spec import ProviderSpec
from syncoxide.secrets.in_locations import redacted

DAV = "{DAV:}"
CHUNK = 1024 * 1024
CLEANUP_TRIES = 30
PROPFIND_BODY = (
    '<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/>'
    "<d:getcontentlength/><d:getlastmodified/><d:getetag/></d:prop></d:propfind>"
)
HEX = {"md5": re.compile(r"^[0-9a-f]{32}$"), "sha1": re.compile(r"^[0-9a-f]{40}$")}


class _Sized(io.RawIOBase):
    """A body with a known length, so requests sends Content-Length instead of chunks."""

    def __init__(self, source: TrackedSource, size: int):
        self._source = source
        self._size = size

    def __len__(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1, /) -> bytes:
        return self._source.read(CHUNK if size is None or size < 0 else size)


class WebdavProvider(Provider):
    kind = "webdav"

    def __init__(
        self,
        display: str,
        session: requests.Session,
        base_url: str,
        base_path: str,
        *,
        etag_hash: str | None,
        oc_mtime: bool,
        timeout: float,
        secrets: list[str],
    ):
        super().__init__(display)
        self._session = session
        self._base_url = base_url  # scheme://host:port
        self._base_path = base_path.rstrip("/")  # /path/to/collection (unquoted)
        self._etag_hash = etag_hash
        self._oc_mtime = oc_mtime
        self._timeout = timeout
        self._secrets = secrets
        self.capabilities = Capabilities(
            hashes=frozenset({etag_hash} if etag_hash else ()),
            server_side_copy=True,
            set_mtime=oc_mtime,
            mtime_precision=1.0,
        )

    # -- HTTP ----------------------------------------------------------------------------------

    def _url(self, path: str, collection: bool = False) -> str:
        full = paths.join(self._base_path, paths.clean(path))
        url = self._base_url + "/" + "/".join(quote(part, safe="") for part in full.split("/") if part)
        return url + "/" if collection else url

    def _request(
        self, method: str, path: str, *, ok: tuple[int, ...], collection: bool = False, **kwargs: Any
    ) -> requests.Response:
        try:
            response = self._session.request(method, self._url(path, collection), timeout=self._timeout, **kwargs)
        except requests.RequestException as exc:
            raise ProviderTransient(
                f"{self.display}: {method} {path or '/'} failed: {options.redact(str(exc), self._secrets)}"
            ) from None
        if response.status_code not in ok:
            response.close()
            raise self._fail(response.status_code, method, path)
        return response

    def _fail(self, status: int, method: str, path: str) -> Exception:
        where = f"{self.display}: {path or '/'}"
        if status == 404 or (status == 409 and method in ("PUT", "MOVE", "COPY", "MKCOL")):
            return ObjectNotFound(f"{where} not found")
        if status in (401, 403):
            return ProviderAuthFailed(f"{where}: the server refused the credentials (HTTP {status})")
        if status in (423, 429) or status >= 500:
            return ProviderTransient(f"{where}: {method} answered HTTP {status}")
        return ProviderError(f"{where}: {method} answered HTTP {status}")

    # -- PROPFIND ------------------------------------------------------------------------------

    def _propfind(self, path: str, depth: str) -> list[Entry]:
        response = self._request(
            "PROPFIND",
            path,
            ok=(207,),
            collection=True,
            data=PROPFIND_BODY.encode(),
            headers={"Depth": depth, "Content-Type": "application/xml; charset=utf-8"},
        )
        try:
            tree = ET.fromstring(response.content)
        except ET.ParseError:
            raise ProviderError(f"{self.display}: {path or '/'}: the server sent a malformed PROPFIND reply") from None
        return [entry for node in tree.iter(f"{DAV}response") if (entry := self._entry(node)) is not None]

    def _entry(self, node: ET.Element) -> Entry | None:
        href = unquote(urlsplit(node.findtext(f"{DAV}href") or "").path).rstrip("/")
        if href != self._base_path and not href.startswith(self._base_path + "/"):
            return None
        rel = href[len(self._base_path) :].strip("/")
        prop = None
        for propstat in node.iter(f"{DAV}propstat"):
            if "200" in (propstat.findtext(f"{DAV}status") or "200"):
                prop = propstat.find(f"{DAV}prop")
        if prop is None:
            return None
        is_dir = prop.find(f"{DAV}resourcetype/{DAV}collection") is not None
        modified = prop.findtext(f"{DAV}getlastmodified")
        try:
            mtime = parsedate_to_datetime(modified).astimezone(UTC) if modified else datetime.fromtimestamp(0, UTC)
        except (TypeError, ValueError):
            mtime = datetime.fromtimestamp(0, UTC)
        hashes: dict[str, str] = {}
        etag = (prop.findtext(f"{DAV}getetag") or "").removeprefix("W/").strip('"').lower()
        if self._etag_hash and not is_dir and HEX[self._etag_hash].match(etag):
            hashes[self._etag_hash] = etag
        size = 0 if is_dir else int(prop.findtext(f"{DAV}getcontentlength") or 0)
        return Entry(path=rel, size=size, mtime=mtime, is_dir=is_dir, hashes=hashes)

    # -- the contract --------------------------------------------------------------------------

    def list(self, path: str = "", *, specials: list[Entry] | None = None) -> Iterator[Entry]:
        start = paths.clean(path)
        if start and not self.stat(start).is_dir:
            return
        stack = [start]
        while stack:
            current = stack.pop()
            try:
                children = self._propfind(current, "1")
            except ObjectNotFound:
                continue  # vanished while listing
            for entry in children:
                if entry.path == current:
                    continue
                yield entry
                if entry.is_dir:
                    stack.append(entry.path)

    def stat(self, path: str) -> Entry:
        clean = paths.clean(path)
        for entry in self._propfind(clean, "0"):
            if entry.path == clean:
                return entry
        raise ObjectNotFound(f"{self.display}: {clean or '/'} not found")

    def open_read(self, path: str, offset: int = 0, length: int | None = None) -> ReadStream:
        check_range(offset, length)
        clean = paths.clean(path)
        if length == 0:
            self.stat(clean)
            return io.BytesIO(b"")
        headers = {"Accept-Encoding": "identity"}
        if offset or length is not None:
            headers["Range"] = f"bytes={offset}-{'' if length is None else offset + length - 1}"
        response = self._request("GET", clean, ok=(200, 206, 416), headers=headers, stream=True)
        if response.status_code == 416:
            response.close()
            return io.BytesIO(b"")
        raw = response.raw
        if response.status_code == 200 and offset:
            skip = offset  # the server ignored the range: skip to the offset
            while skip > 0 and (chunk := raw.read(min(skip, CHUNK))):
                skip -= len(chunk)
        return RangeReader(raw, length, on_close=response.close)

    def _mkcols(self, directory: str) -> None:
        if not directory:
            return
        for part in [*paths.ancestors(directory), directory]:
            response = self._request("MKCOL", part, ok=(201, 405, 301), collection=True)
            response.close()

    def _mtime_headers(self, mtime: datetime | None) -> dict[str, str]:
        return {"X-OC-Mtime": str(int(mtime.timestamp()))} if mtime is not None and self._oc_mtime else {}

    def write(
        self,
        path: str,
        source: Readable,
        *,
        size: int | None = None,
        mtime: datetime | None = None,
        in_place: bool = False,
    ) -> Entry:
        clean = paths.clean(path)
        temp = clean if in_place else temp_name(clean)
        tracked = TrackedSource(source)

        def chunks() -> Iterator[bytes]:
            while chunk := tracked.read(CHUNK):
                yield chunk

        body: object = _Sized(tracked, size) if size is not None else chunks()
        try:
            self._mkcols(paths.parent(clean))
            self._request("PUT", temp, ok=(200, 201, 204), data=body, headers=self._mtime_headers(mtime)).close()
            if size is not None and tracked.count != size:
                raise ProviderError(f"{self.display}: {clean}: source gave {tracked.count} bytes, expected {size}")
            if temp != clean:
                self._move(temp, clean, mtime)
        except BaseException as exc:
            self._delete_quietly(temp)
            if tracked.error is not None:
                raise tracked.error from None
            if isinstance(exc, ObjectNotFound):
                raise ProviderError(f"{self.display}: {clean}: the server refused the upload") from None
            raise
        return self.stat(clean)

    def _delete_quietly(self, path: str) -> None:
        """Remove a temporary upload. A server may still be closing an aborted PUT, and create the file
        after a first delete: try until it is gone and stays gone a moment later."""
        for _ in range(CLEANUP_TRIES):
            try:
                self._session.delete(self._url(path), timeout=self._timeout).close()
                if self._absent(path):
                    time.sleep(0.2)
                    if self._absent(path):
                        return
            except requests.RequestException:
                pass
            time.sleep(0.1)

    def _absent(self, path: str) -> bool:
        found = self._session.request("PROPFIND", self._url(path), headers={"Depth": "0"}, timeout=self._timeout)
        found.close()
        return found.status_code == 404

    def _move(self, src: str, dst: str, mtime: datetime | None = None) -> None:
        headers = {"Destination": self._url(dst), "Overwrite": "T", **self._mtime_headers(mtime)}
        self._request("MOVE", src, ok=(201, 204), headers=headers).close()

    def mkdir(self, path: str) -> None:
        self._mkcols(paths.clean(path))

    def delete(self, path: str) -> None:
        clean = paths.clean(path)
        if self.stat(clean).is_dir:  # DELETE on a collection would remove everything in it
            raise ProviderError(f"{self.display}: {clean} is a directory (use rmdir)")
        self._request("DELETE", clean, ok=(200, 204)).close()

    def rmdir(self, path: str) -> None:
        clean = paths.clean(path)
        if any(entry.path != clean for entry in self._propfind(clean, "1")):
            raise ProviderError(f"{self.display}: directory {clean} is not empty")
        self._request("DELETE", clean, ok=(200, 204), collection=True).close()

    def move(self, src: str, dst: str) -> None:
        s, d = paths.clean(src), paths.clean(dst)
        self.stat(s)
        self._mkcols(paths.parent(d))
        self._move(s, d)

    def copy(self, src: str, dst: str) -> None:
        s, d = paths.clean(src), paths.clean(dst)
        self.stat(s)
        self._mkcols(paths.parent(d))
        temp = temp_name(d)  # COPY is not atomic on every server: copy beside, then rename
        try:
            headers = {"Destination": self._url(temp), "Overwrite": "T", "Depth": "0"}
            self._request("COPY", s, ok=(201, 204), headers=headers).close()
            self._move(temp, d)
        except BaseException:
            self._delete_quietly(temp)
            raise

    def set_mtime(self, path: str, mtime: datetime) -> None:
        if not self._oc_mtime:
            super().set_mtime(path, mtime)
        clean = paths.clean(path)
        body = (
            '<?xml version="1.0" encoding="utf-8"?><d:propertyupdate xmlns:d="DAV:"><d:set><d:prop>'
            f"<d:lastmodified>{int(mtime.timestamp())}</d:lastmodified></d:prop></d:set></d:propertyupdate>"
        )
        headers = {"Content-Type": "application/xml; charset=utf-8"}
        self._request("PROPPATCH", clean, ok=(207,), data=body.encode(), headers=headers).close()

    def close(self) -> None:
        self._session.close()


def connect(spec: ProviderSpec, settings: Settings) -> WebdavProvider:
    url = urlsplit(spec.location)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise InvalidInput(f"webdav location {redacted(spec.location)!r} must look like https://host/path")
    if url.username or url.password:
        raise InvalidInput("webdav location must not carry credentials: use the user option and a password secret")
    etag_hash = options.text(spec, "etag_hash") or None
    if etag_hash not in (None, "md5", "sha1"):
        raise InvalidInput(f"webdav option etag_hash must be md5 or sha1, not {etag_hash!r}")
    display = f"{url.scheme}://{url.netloc}{url.path}".rstrip("/")
    session = requests.Session()
    session.verify = options.flag(spec, "verify_tls", True)
    user, password, token = (
        options.text(spec, "user"),
        options.secret(spec, "password"),
        options.secret(spec, "bearer_token"),
    )
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    elif user is not None or password is not None:
        session.auth = (user or "", password or "")
    provider = WebdavProvider(
        display,
        session,
        f"{url.scheme}://{url.netloc}",
        unquote(url.path),
        etag_hash=etag_hash,
        oc_mtime=options.flag(spec, "oc_mtime", True),
        timeout=options.number(spec, "timeout", 60),
        secrets=[s for s in (password, token) if s],
    )
    try:
        root = provider.stat("")
    except ObjectNotFound:
        provider.close()
        raise ProviderNotFound(f"{display}: the root collection does not exist") from None
    except BaseException:
        provider.close()
        raise
    if not root.is_dir:
        provider.close()
        raise ProviderNotFound(f"{display}: the root is not a collection")
    return provider
