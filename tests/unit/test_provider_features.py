"""What each provider declares it can do (its capabilities and optional features), and the rule that the sync
layer decides from those alone: it never asks a provider's kind nor reaches into a provider's private names."""

from __future__ import annotations

import ast
import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from syncoxide.providers.base import Provider
from syncoxide.providers.features import MultipartWriter, ServerMd5, TempFileWriter
from syncoxide.providers.local import LocalProvider
from syncoxide.providers.rclone import RcloneProvider
from syncoxide.providers.s3.provider import S3Provider
from syncoxide.providers.sftp.provider import SftpProvider
from syncoxide.providers.webdav import WebdavProvider

SYNC = Path(__file__).resolve().parents[2] / "syncoxide" / "sync"


def unconnected(kind: str, tmp_path: Path) -> Provider:
    """A provider of ``kind`` as its module builds it, without a server behind it (nothing here is sent)."""
    if kind == "local":
        return LocalProvider(tmp_path)
    if kind == "sftp":
        return SftpProvider("sftp://host:22/root", connection=None, session=None, root="/root")  # type: ignore[arg-type]
    if kind == "s3":
        return S3Provider(
            "s3://bucket",
            client=None,
            bucket="bucket",
            prefix="",
            transfer=None,  # type: ignore[arg-type]
            secrets=[],
        )
    if kind == "webdav":
        return WebdavProvider(
            "https://host/dav",
            requests.Session(),
            "https://host",
            "/dav",
            etag_hash=None,
            oc_mtime=True,
            timeout=1,
            secrets=[],
        )
    return RcloneProvider("remote:", "rclone", "remote:", {}, [], [])


# kind: (temp-file writer, multipart writer, server MD5, connection per thread)
FEATURES = {
    "local": (True, False, False, False),
    "sftp": (True, False, True, True),
    "s3": (False, True, False, False),
    "webdav": (False, False, False, False),
    "rclone": (False, False, False, False),
}


@pytest.mark.parametrize("kind", sorted(FEATURES))
def test_each_provider_declares_its_features(kind: str, tmp_path: Path):
    provider = unconnected(kind, tmp_path)
    files, uploads, server = provider.temp_file_writer(), provider.multipart_writer(), provider.server_md5()
    declared = (files is not None, uploads is not None, server is not None, provider.capabilities.connection_per_thread)
    assert declared == FEATURES[kind]
    for feature, protocol in ((files, TempFileWriter), (uploads, MultipartWriter), (server, ServerMd5)):
        assert feature is None or isinstance(feature, protocol)


def test_what_the_transfers_read_of_the_capabilities(tmp_path: Path):
    local, sftp, s3 = (unconnected(kind, tmp_path) for kind in ("local", "sftp", "s3"))
    assert sftp.capabilities.mtime_precision == 1.0  # SFTP v3 keeps whole seconds: a landed time is truncated
    assert local.capabilities.listed_mtime and sftp.capabilities.listed_mtime
    assert not s3.capabilities.listed_mtime  # a listing has upload times: the stored mtime is read by stat
    assert Provider.capabilities.connection_per_thread is False  # the default: one provider serves every thread


class Client:
    """A boto3 S3 client that notes each call and answers as a server would."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        def call(**kwargs: Any) -> dict[str, Any]:
            self.calls.append((name, kwargs))
            return {"UploadId": "u1", "ETag": '"ABC"', "Parts": [{"PartNumber": 1, "ETag": '"abc"'}]}

        return call


def test_the_s3_multipart_writer_keeps_the_mtime_as_metadata_and_sends_each_parts_md5():
    client = Client()
    provider = S3Provider("s3://bucket/pre", client=client, bucket="bucket", prefix="pre", transfer=None, secrets=[])  # type: ignore[arg-type]
    uploads = provider.multipart_writer()
    when = datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)
    assert uploads.start("a/b.bin", when) == "u1"
    assert uploads.listed_parts("a/b.bin", "u1") == {1: "abc"}
    assert uploads.upload_part("a/b.bin", "u1", 1, b"data", hashlib.md5(b"data").digest()) == "abc"
    assert uploads.complete("a/b.bin", "u1", [(1, "abc")]) == "abc"
    uploads.abort("a/b.bin", "u1")
    names = [name for name, _ in client.calls]
    assert names == [
        "create_multipart_upload",
        "list_parts",
        "upload_part",
        "complete_multipart_upload",
        "abort_multipart_upload",
    ]
    assert all(kwargs["Key"] == "pre/a/b.bin" and kwargs["Bucket"] == "bucket" for _, kwargs in client.calls)
    assert client.calls[0][1]["Metadata"] == {"mtime": f"{int(when.timestamp())}.500000000"}
    assert client.calls[2][1]["ContentMD5"] == "jXd/OF09/siBXSD3SWAm3A=="
    assert client.calls[3][1]["MultipartUpload"] == {"Parts": [{"PartNumber": 1, "ETag": '"abc"'}]}


# -- the rule, read from the sync layer's source ----------------------------------------------------------------


def kind_questions(tree: ast.AST) -> list[str]:
    """Every comparison of a ``.kind`` attribute with string constants (``x.kind == "s3"``, ``in ("local", ...)``)."""

    def strings(node: ast.expr) -> bool:
        items = node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else [node]
        return bool(items) and all(isinstance(i, ast.Constant) and isinstance(i.value, str) for i in items)

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(isinstance(s, ast.Attribute) and s.attr == "kind" for s in sides) and any(map(strings, sides)):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def private_reaches(tree: ast.AST) -> list[str]:
    """A private name imported from syncoxide.providers, or read off anything but ``self``, ``cls`` or a module
    (directly or through getattr/hasattr)."""
    modules = {
        alias.asname or alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }

    def private(name: str) -> bool:
        return name.startswith("_") and not name.startswith("__")

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("syncoxide.providers"):
            found += [f"line {node.lineno}: imports {a.name}" for a in node.names if private(a.name)]
        elif isinstance(node, ast.Attribute) and private(node.attr):
            if not (isinstance(node.value, ast.Name) and node.value.id in {"self", "cls", *modules}):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr"):
            name = node.args[1] if len(node.args) > 1 else None
            if isinstance(name, ast.Constant) and isinstance(name.value, str) and private(name.value):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def sync_modules() -> list[Any]:
    return [pytest.param(path, id=path.name) for path in sorted(SYNC.glob("*.py"))]


@pytest.mark.parametrize("path", sync_modules())
def test_the_sync_layer_never_asks_a_providers_kind(path: Path):
    assert kind_questions(ast.parse(path.read_text())) == []


@pytest.mark.parametrize("path", sorted(SYNC.glob("*.py")), ids=lambda p: p.name)
def test_the_sync_layer_never_reaches_into_a_providers_private_names(path: Path):
    assert private_reaches(ast.parse(path.read_text())) == []


def test_the_rule_sees_what_it_is_about():
    asked = ast.parse('if dst.kind in ("local", "sftp") or src.kind != "s3": pass\nif a.kind is ActionKind.copy: pass')
    assert sorted(f.split(": ", 1)[1] for f in kind_questions(asked)) == [
        "dst.kind in ('local', 'sftp')",
        "src.kind != 's3'",
    ]
    reached = ast.parse(
        "import hashlib\nfrom syncoxide.providers.s3.provider import _mtime_text\n"
        "x: hashlib._Hash\nfail = getattr(dst, '_fail', None)\nkey = dst._key(path)\nself._lock"
    )
    assert sorted(f.split(": ", 1)[1] for f in private_reaches(reached)) == [
        "dst._key",
        "getattr(dst, '_fail', None)",
        "imports _mtime_text",
    ]
