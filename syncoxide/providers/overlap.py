"""Do two provider specs name places one of which holds the other? A sync between them would feed on itself.

``bisync p1 p1/inner`` nests a level deeper every run and ``sync p/sub p`` deletes its own source, so
such a pair is refused before anything is listed. Two specs overlap when they are on the same server
(the same kind, host and port; bucket and endpoint; remote) and one path is the other or lies inside
it. Local paths are compared resolved (symlinks, ``..``) when ``resolve``; remote ones as written,
normalised.
"""

from __future__ import annotations

import os
import posixpath
from urllib.parse import unquote, urlsplit

from syncoxide.providers.spec import ProviderSpec


def _place(spec: ProviderSpec, resolve: bool) -> tuple[str, str]:
    """(the server, the path on it) of a spec."""
    location = spec.location
    if spec.kind == "local":
        path = location.removeprefix("file://")
        if resolve:
            path = os.path.realpath(os.path.expanduser(path))
        return "local", posixpath.normpath(path)
    if spec.kind == "rclone":
        remote, _, path = location.partition(":")
        return f"rclone:{remote}", posixpath.normpath("/" + path)
    url = urlsplit(location)
    if spec.kind == "s3":
        endpoint = str(spec.options.get("endpoint_url", "")).rstrip("/")
        return f"s3:{endpoint}:{url.netloc}", posixpath.normpath("/" + unquote(url.path))
    default_port = {"sftp": 22, "https": 443}.get(url.scheme, 80)
    host = (url.hostname or "").lower()
    return f"{spec.kind}:{host}:{url.port or default_port}", posixpath.normpath("/" + unquote(url.path).lstrip("/"))


def _inside(path: str, folder: str) -> bool:
    return path == folder or folder == "/" or path.startswith(folder.rstrip("/") + "/")


def overlap(a: ProviderSpec, b: ProviderSpec, *, resolve: bool = True) -> bool:
    """True when one of the two places is the other or lies inside it."""
    (server_a, path_a), (server_b, path_b) = _place(a, resolve), _place(b, resolve)
    return server_a == server_b and (_inside(path_a, path_b) or _inside(path_b, path_a))
