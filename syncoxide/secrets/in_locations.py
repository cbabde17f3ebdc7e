"""A location names a place, never a secret: credentials inside a URL or an rclone connection string are
refused before anything is stored or started.

    refuse_credentials("sftp://ann@host/srv", kind="sftp")         # a user name alone is fine
    refuse_credentials("sftp://ann:hunter2@host/srv", kind="sftp") # InvalidValue: "location: ... password ..."

A location is kept in PostgreSQL, in Temporal's history (workflow inputs), in messages and on the
dashboard, so a password in it would be kept and shown everywhere. ``refuse_credentials`` is the one
check: provider specs (``ProviderSpec``: sync sides on the CLI, in policy files and in @spec.json
files), repository locations (policy files, ``repo init``/``register``, the store) and URL-valued
provider options all go through it. Its message names the field and says where the secret goes
instead (a secret reference: env:NAME, file:PATH or command:CMD); it never repeats the secret.
``redacted`` shows a location in a message with any secret masked.
"""

from __future__ import annotations

import re

from syncoxide.errors import InvalidValue

_URL_START = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:)+//")
"""``scheme://`` at the start, after any backend prefixes (restic's ``rest:https://``, ``s3:http://``)"""
REFERENCES = "env:NAME, file:PATH or command:CMD"
_SECRET_WORDS = ("pass", "secret", "token", "key", "credential")
_NOT_SECRET_ENDINGS = ("_file", "_id", "_agent", "_path", "_url", "_uri")
_SECRET_NAMES = frozenset({"sas_url", "key_pem", "service_account_credentials"})


def _hint(kind: str | None, what: str) -> str:
    """Where the secret goes instead: a provider's secret (policy files: ``secrets:``; the CLI: --src-secret,
    --dst-secret), named by a reference."""
    if kind == "sftp":
        return f"give the {what} as the secret 'password', a reference ({REFERENCES}), or use key_file"
    if kind == "webdav":
        return f"give the user as the option 'user' and the {what} as the secret 'password', a reference ({REFERENCES})"
    if kind == "s3":
        return f"give the keys as the secrets 'access_key_id' and 'secret_access_key', references ({REFERENCES})"
    if kind in ("borg", "restic"):
        return (
            f"use an SSH key for ssh:// and sftp: repositories; secrets are given as references ({REFERENCES}), "
            "never inside a location"
        )
    return f"give it as a secret reference ({REFERENCES}) where syncoxide takes one"


def _authority(location: str) -> tuple[int, str] | None:
    """Where a URL's authority (user@host:port) starts, and its text; None for a location that is no URL."""
    start = _URL_START.match(location)
    if start is None:
        return None
    rest = location[start.end() :]
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    return start.end(), rest[:end]


def _url_problem(location: str, kind: str | None) -> str | None:
    found = _authority(location)
    if found is None:
        return None
    _, authority = found
    if "@" in authority:
        userinfo = authority.rpartition("@")[0]
        if ":" in userinfo:
            return f"the URL holds a password (user:password@); {_hint(kind, 'password')}"
        if kind == "s3" or location.startswith("s3://"):
            return f"an s3:// location takes no access key before the bucket; {_hint('s3', 'key')}"
        if kind == "webdav":
            return f"a WebDAV URL takes no user: {_hint('webdav', 'password')}"
        return None
    host_port = authority.rpartition("]")[2]  # (an IPv6 address in brackets holds colons of its own)
    port = host_port.rpartition(":")[2] if ":" in host_port else ""
    if port and not port.isdigit():
        # user:pa/ss@host: the password's "/" ended the authority early; what follows ':' is no port
        return (
            f"what follows ':' in the URL's host part is no port number (a user:password@?); {_hint(kind, 'password')}"
        )
    return None


def _remote_part(location: str) -> tuple[str, int]:
    """An rclone location's remote part (``remote,name=value,...`` without a leading ':'), and where its ending
    ':' is (-1: none); values may be quoted with ' or ", and a quoted ':' or ',' is part of the value."""
    offset = 1 if location.startswith(":") else 0
    quote = ""
    for index in range(offset, len(location)):
        char = location[index]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == ":":
            return location[offset:index], index
    return location[offset:], -1


def _connection_params(location: str) -> list[str]:
    """The parameter names of an rclone connection string (``remote,pass=x:path``, ``:backend,key=v:path``)."""
    remote, _ = _remote_part(location)
    names, item, quote = [], "", ""
    for char in remote + ",":
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == ",":
            names.append(item.partition("=")[0].strip())
            item = ""
            continue
        item += char
    return names[1:]  # the first item is the remote's (or the backend's) name


def _secret_param(name: str) -> bool:
    normal = name.lower().replace("-", "_")
    if normal in _SECRET_NAMES:
        return True
    return any(word in normal for word in _SECRET_WORDS) and not normal.endswith(_NOT_SECRET_ENDINGS)


def _rclone_problem(location: str, *, secrets: bool = True) -> str | None:
    for name in _connection_params(location):
        if _secret_param(name):
            instead = (
                f"give it as the secret '{name}', a reference ({REFERENCES}), or keep it in rclone's config"
                if secrets
                else "keep it in rclone's config (restic reads the remote there)"
            )
            return f"the rclone connection string holds a secret ({name}=...); {instead}"
    return None


def credentials_problem(location: str, *, kind: str | None = None) -> str | None:
    """What secret ``location`` holds, in words (never the secret), or None.

    ``kind``: a provider kind (local, sftp, s3, webdav, rclone) or an engine (borg, restic); it picks the hint
    and whether an rclone connection string is read (kind rclone, or a restic ``rclone:`` location).
    """
    if not isinstance(location, str):
        return None
    problem = _url_problem(location, kind)
    if problem is None and kind == "rclone":
        problem = _rclone_problem(location)
    if problem is None and kind == "restic" and location.startswith("rclone:"):
        problem = _rclone_problem(location.removeprefix("rclone:"), secrets=False)
    return problem


def refuse_credentials(location: str, *, kind: str | None = None, field: str = "location") -> str:
    """``location`` as it is when it holds no password or secret; else InvalidValue (a ValueError, so
    pydantic validators collect it) naming ``field``, what is wrong and where the secret goes instead."""
    problem = credentials_problem(location, kind=kind)
    if problem is not None:
        raise InvalidValue(f"{field}: {problem}" if field else problem)
    return location


def redacted(location: str) -> str:
    """``location`` for a message: a URL's password, or a secret of an rclone connection string, masked."""
    if not isinstance(location, str):
        return location
    found = _authority(location)
    if found is not None:
        start, authority = found
        if "@" in authority:
            userinfo, _, host = authority.rpartition("@")
            if ":" in userinfo or location.startswith("s3://"):
                user = userinfo.partition(":")[0] if ":" in userinfo else ""
                masked = f"{user}:***@{host}" if user else f"***@{host}"
                return location[:start] + masked + location[start + len(authority) :]
        elif _url_problem(location, None) is not None:
            return location[:start] + "***"  # where the password ends is not known: nothing after the scheme
    body = location.removeprefix("rclone:")
    if _rclone_problem(body) is not None:
        remote, end = _remote_part(body)
        lead = location[: len(location) - len(body)] + (":" if body.startswith(":") else "")
        return f"{lead}{remote.split(',')[0]},***" + (body[end:] if end >= 0 else "")
    return location
