"""One contract, every provider, each against its real server on loopback.

local: a temp dir; sftp: OpenSSH's sshd; s3: `rclone serve s3`; webdav: `rclone serve webdav`;
rclone-local and rclone-s3: the rclone provider over a generated rclone.conf (a local remote, and
an S3 remote pointing at the same S3 server with its secret passed as a reference).
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from syncoxide.config import Settings
from syncoxide.errors import InvalidInput, SecretUnavailable
from syncoxide.providers import (
    NotSupported,
    ObjectNotFound,
    Provider,
    ProviderAuthFailed,
    ProviderNotFound,
    ProviderSpec,
    open_provider,
)
from syncoxide.providers.base import is_temp
from tests.servers import S3_ACCESS_KEY, S3_BUCKET, S3_SECRET_KEY, WEBDAV_PASSWORD, WEBDAV_USER, HttpServer

KINDS = ["local", "sftp", "s3", "webdav", "rclone-local", "rclone-s3"]
MIB = 1024 * 1024
S3_SECRET_ENV = "SYNCOXIDE_TEST_S3_SECRET"
WEBDAV_PASSWORD_ENV = "SYNCOXIDE_TEST_WEBDAV_PASSWORD"
WRONG_SECRET = "definitely-the-wrong-secret-value"


@dataclass
class Case:
    """How to reach one kind of provider: a spec for a fresh, empty root, or for bad credentials."""

    kind: str
    make: Callable[[str], ProviderSpec]
    """root name -> spec for a provider rooted there (the root exists and is empty)."""
    bad_credentials: Callable[[], ProviderSpec] | None
    missing_root: Callable[[], ProviderSpec]


def _rclone_conf(path: Path, local_root: Path, s3: HttpServer | None) -> Path:
    text = f"[loc]\ntype = local\n\n[locroot]\ntype = alias\nremote = {local_root}\n"
    if s3 is not None:
        text += (
            f"\n[s3r]\ntype = s3\nprovider = Other\naccess_key_id = {S3_ACCESS_KEY}\n"
            f"endpoint = {s3.url}\nforce_path_style = true\nregion = us-east-1\n"
        )
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def case_builder(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Case]:
    os.environ[S3_SECRET_ENV] = S3_SECRET_KEY
    os.environ[WEBDAV_PASSWORD_ENV] = WEBDAV_PASSWORD
    base = tmp_path_factory.mktemp("providers")

    def build(kind: str) -> Case:
        if kind == "local":

            def make(name: str) -> ProviderSpec:
                (base / "local" / name).mkdir(parents=True)
                return ProviderSpec(kind="local", location=str(base / "local" / name))

            return Case(kind, make, None, lambda: ProviderSpec(kind="local", location=str(base / "nowhere")))
        if kind == "sftp":
            server = request.getfixturevalue("sftp_server")
            options = {"key_file": str(server.key_file), "known_hosts": str(server.known_hosts)}
            url = f"sftp://{server.ssh.user}@127.0.0.1:{server.ssh.port}"

            def make(name: str) -> ProviderSpec:
                (base / "sftp" / name).mkdir(parents=True)
                return ProviderSpec(kind="sftp", location=f"{url}{base / 'sftp' / name}", options=options)

            def bad() -> ProviderSpec:
                stranger = base / "stranger_key"
                if not stranger.exists():
                    os.system(f"ssh-keygen -q -t ed25519 -N '' -f {stranger}")
                return ProviderSpec(
                    kind="sftp", location=f"{url}{base}", options={**options, "key_file": str(stranger)}
                )

            return Case(
                kind, make, bad, lambda: ProviderSpec(kind="sftp", location=f"{url}{base}/nowhere", options=options)
            )
        if kind == "s3":
            server = request.getfixturevalue("s3_server")
            options = {
                "endpoint_url": server.url,
                "region": "us-east-1",
                "addressing_style": "path",
                "multipart_threshold": 5 * MIB,
                "multipart_chunksize": 5 * MIB,
            }

            def spec(location: str, secret_env: str = S3_SECRET_ENV) -> ProviderSpec:
                return ProviderSpec(
                    kind="s3",
                    location=location,
                    options=options,
                    secrets={
                        "access_key_id": f"command:echo {S3_ACCESS_KEY}",
                        "secret_access_key": f"env:{secret_env}",
                    },
                )

            def bad() -> ProviderSpec:
                os.environ["SYNCOXIDE_TEST_WRONG"] = WRONG_SECRET
                return spec(f"s3://{S3_BUCKET}/x", "SYNCOXIDE_TEST_WRONG")

            return Case(kind, lambda name: spec(f"s3://{S3_BUCKET}/{name}"), bad, lambda: spec("s3://no-such-bucket"))
        if kind == "webdav":
            server = request.getfixturevalue("webdav_server")
            options = {"user": WEBDAV_USER, "etag_hash": "md5"}

            def spec(location: str, env: str = WEBDAV_PASSWORD_ENV) -> ProviderSpec:
                return ProviderSpec(
                    kind="webdav", location=location, options=options, secrets={"password": f"env:{env}"}
                )

            def make(name: str) -> ProviderSpec:
                # through the server: it caches directory listings, so one made on disk may not show
                made = requests.request("MKCOL", f"{server.url}/{name}/", auth=(WEBDAV_USER, WEBDAV_PASSWORD))
                assert made.status_code == 201, made.status_code
                return spec(f"{server.url}/{name}")

            def bad() -> ProviderSpec:
                os.environ["SYNCOXIDE_TEST_WRONG"] = WRONG_SECRET
                return spec(server.url, "SYNCOXIDE_TEST_WRONG")

            return Case(kind, make, bad, lambda: spec(f"{server.url}/nowhere"))
        if kind == "rclone-local":
            conf = _rclone_conf(base / "rclone-local.conf", base / "rclone", None)

            def make(name: str) -> ProviderSpec:
                (base / "rclone" / name).mkdir(parents=True)
                return ProviderSpec(kind="rclone", location=f"locroot:{name}", options={"config": str(conf)})

            return Case(
                kind,
                make,
                None,
                lambda: ProviderSpec(kind="rclone", location="locroot:nowhere", options={"config": str(conf)}),
            )
        if kind == "rclone-s3":
            server = request.getfixturevalue("s3_server")
            conf = _rclone_conf(base / "rclone-s3.conf", base / "rclone", server)

            def spec(location: str, env: str = S3_SECRET_ENV) -> ProviderSpec:
                return ProviderSpec(
                    kind="rclone",
                    location=location,
                    options={"config": str(conf)},
                    secrets={"secret_access_key": f"env:{env}"},
                )

            def bad() -> ProviderSpec:
                os.environ["SYNCOXIDE_TEST_WRONG"] = WRONG_SECRET
                return spec(f"s3r:{S3_BUCKET}/x", "SYNCOXIDE_TEST_WRONG")

            return Case(kind, lambda name: spec(f"s3r:{S3_BUCKET}/{name}"), bad, lambda: spec("s3r:no-such-bucket"))
        raise AssertionError(kind)

    return build


@pytest.fixture(params=KINDS)
def case(request: pytest.FixtureRequest, case_builder: Callable[[str], Case]) -> Case:
    return case_builder(request.param)


@pytest.fixture
def provider(case: Case, provider_settings: Settings) -> Iterator[Provider]:
    spec = case.make(f"t-{secrets.token_hex(4)}")
    with open_provider(spec, provider_settings) as opened:
        yield opened


def payload(size: int, seed: int = 1) -> bytes:
    block = hashlib.sha256(str(seed).encode()).digest() * 2048  # 64 KiB, not all zeros
    return (block * (size // len(block) + 1))[:size]


class FailingSource(io.RawIOBase):
    """Yields ``good`` bytes, then fails like a dropped source connection."""

    def __init__(self, good: int):
        self._left = good

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1, /) -> bytes:
        if self._left <= 0:
            raise ConnectionResetError("source went away")
        n = min(self._left, 256 * 1024 if size is None or size < 0 else size)
        self._left -= n
        return payload(n)


def files(provider: Provider, path: str = "") -> dict[str, int]:
    return {e.path: e.size for e in provider.list(path) if not e.is_dir}


def dirs(provider: Provider, path: str = "") -> set[str]:
    return {e.path for e in provider.list(path) if e.is_dir}


def one_line(error: BaseException) -> str:
    text = str(error)
    assert text and "\n" not in text, repr(text)
    return text


# -- listing -----------------------------------------------------------------------------------


def test_list_empty(provider: Provider) -> None:
    assert list(provider.list()) == []


def test_list_nested(provider: Provider) -> None:
    provider.write_bytes("a/b/c.txt", b"ccc")
    provider.write_bytes("a/d.txt", b"dd")
    provider.write_bytes("e.txt", b"e")
    assert files(provider) == {"a/b/c.txt": 3, "a/d.txt": 2, "e.txt": 1}
    assert dirs(provider) == {"a", "a/b"}
    assert files(provider, "a") == {"a/b/c.txt": 3, "a/d.txt": 2}
    assert files(provider, "a/b") == {"a/b/c.txt": 3}
    entries = {e.path: e for e in provider.list()}
    assert not any(is_temp(p) for p in entries)
    assert abs((entries["e.txt"].mtime - datetime.now(UTC)).total_seconds()) < 120


# -- write and read ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "size"),
    [
        ("plain.bin", 1000),
        ("empty", 0),
        ("dir with space/ünïcødé – name ✓.txt", 4321),
        ("big/multi-mib.bin", 12 * MIB + 123),
    ],
    ids=["plain", "zero-byte", "unicode-space", "multi-mib"],
)
def test_write_read_back(provider: Provider, name: str, size: int) -> None:
    data = payload(size)
    entry = provider.write(name, io.BytesIO(data), size=size)
    assert (entry.path, entry.size, entry.is_dir) == (name, size, False)
    assert provider.read_bytes(name) == data
    assert files(provider) == {name: size}


def test_write_unknown_size_and_overwrite(provider: Provider) -> None:
    provider.write("f", io.BytesIO(payload(7 * MIB)))  # no size given: streamed
    provider.write("f", io.BytesIO(b"second version"))
    assert provider.read_bytes("f") == b"second version"
    assert provider.stat("f").size == len(b"second version")


def test_ranged_read(provider: Provider) -> None:
    data = payload(3 * MIB + 17)
    provider.write_bytes("r.bin", data)
    assert provider.read_bytes("r.bin", 0, 10) == data[:10]
    assert provider.read_bytes("r.bin", MIB + 5, 1000) == data[MIB + 5 : MIB + 1005]
    assert provider.read_bytes("r.bin", 3 * MIB) == data[3 * MIB :]
    assert provider.read_bytes("r.bin", len(data) - 4, 100) == data[-4:]
    with provider.open_read("r.bin", 2 * MIB) as stream:
        first = stream.read(5)
        assert first == data[2 * MIB : 2 * MIB + 5]


def test_stat(provider: Provider) -> None:
    provider.write_bytes("s/t.txt", b"twelve bytes")
    entry = provider.stat("s/t.txt")
    assert (entry.path, entry.size, entry.is_dir) == ("s/t.txt", 12, False)
    assert abs((entry.mtime - datetime.now(UTC)).total_seconds()) < 120
    folder = provider.stat("s")
    assert folder.is_dir and folder.path == "s"


def test_mtime_set_and_read_back(provider: Provider) -> None:
    if not provider.capabilities.set_mtime:
        pytest.skip(f"{provider.kind} cannot set modification times")
    precision = provider.capabilities.mtime_precision
    when = datetime(2021, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
    provider.write_bytes("m.txt", b"m", mtime=when)
    assert abs((provider.stat("m.txt").mtime - when).total_seconds()) <= precision
    if provider.capabilities.listed_mtime:
        listed = {e.path: e for e in provider.list()}["m.txt"]
        assert abs((listed.mtime - when).total_seconds()) <= precision
    later = datetime(2024, 11, 12, 13, 14, 15, 654321, tzinfo=UTC)
    provider.set_mtime("m.txt", later)
    assert abs((provider.stat("m.txt").mtime - later).total_seconds()) <= precision
    assert provider.read_bytes("m.txt") == b"m"


# -- move, copy, delete, mkdir -----------------------------------------------------------------


def test_move(provider: Provider) -> None:
    provider.write_bytes("from.txt", b"moving")
    provider.move("from.txt", "to/there.txt")
    assert not provider.exists("from.txt")
    assert provider.read_bytes("to/there.txt") == b"moving"
    provider.write_bytes("other.txt", b"replaces")
    provider.move("other.txt", "to/there.txt")
    assert provider.read_bytes("to/there.txt") == b"replaces"
    assert files(provider) == {"to/there.txt": 8}
    with pytest.raises(ObjectNotFound):
        provider.move("not-there", "x")


def test_copy(provider: Provider) -> None:
    provider.write_bytes("orig.txt", b"copy me")
    if not provider.capabilities.server_side_copy:
        with pytest.raises(NotSupported):
            provider.copy("orig.txt", "dup.txt")
        return
    provider.copy("orig.txt", "sub/dup.txt")
    assert provider.read_bytes("orig.txt") == b"copy me"
    assert provider.read_bytes("sub/dup.txt") == b"copy me"
    with pytest.raises(ObjectNotFound):
        provider.copy("not-there", "y")


def test_delete(provider: Provider) -> None:
    provider.write_bytes("d/gone.txt", b"x")
    provider.write_bytes("d/stays.txt", b"y")
    provider.delete("d/gone.txt")
    assert not provider.exists("d/gone.txt")
    assert files(provider) == {"d/stays.txt": 1}
    with pytest.raises(ObjectNotFound) as info:
        provider.delete("d/gone.txt")
    assert "d/gone.txt" in one_line(info.value)


def test_mkdir_rmdir(provider: Provider) -> None:
    provider.mkdir("x/y")
    provider.mkdir("x/y")  # exists: no error
    if not provider.capabilities.directories:
        assert list(provider.list()) == []  # directories are prefixes of files
        return
    assert provider.stat("x/y").is_dir
    assert dirs(provider) == {"x", "x/y"}
    provider.rmdir("x/y")
    assert dirs(provider) == {"x"}


# -- atomic writes -----------------------------------------------------------------------------


@pytest.mark.parametrize("good", [0, 3 * MIB], ids=["fails-at-once", "fails-halfway"])
def test_failed_write_leaves_nothing(provider: Provider, good: int) -> None:
    provider.write_bytes("keep.txt", b"old version")
    for target in ("new.bin", "keep.txt"):
        with pytest.raises(ConnectionResetError):
            provider.write(target, FailingSource(good), size=10 * MIB)
    assert not provider.exists("new.bin")
    assert provider.read_bytes("keep.txt") == b"old version"
    assert files(provider) == {"keep.txt": 11}


# -- hashes ------------------------------------------------------------------------------------


def test_hashes_advertised_are_correct(provider: Provider) -> None:
    data = payload(100_000, seed=7)
    provider.write_bytes("h.bin", data)
    provider.write_bytes("empty", b"")
    for name, content in (("h.bin", data), ("empty", b"")):
        stated = provider.stat(name).hashes
        listed = {e.path: e for e in provider.list()}[name].hashes
        for kind in provider.hashes:
            expected = hashlib.new(kind, content).hexdigest()
            assert stated.get(kind) == expected, (name, kind)
            assert listed.get(kind) in (None, expected), (name, kind)
        for kind, value in {**stated, **listed}.items():
            assert value == hashlib.new(kind, content).hexdigest(), (name, kind)


def test_hashes_of_multipart_uploads_are_right_or_absent(provider: Provider) -> None:
    """An S3 multipart ETag is not an MD5: a provider may give no hash, never a wrong one."""
    data = payload(12 * MIB, seed=3)
    provider.write("big.bin", io.BytesIO(data))
    listed = {e.path: e for e in provider.list()}["big.bin"].hashes
    for kind, value in {**provider.stat("big.bin").hashes, **listed}.items():
        assert value == hashlib.new(kind, data).hexdigest(), kind


# -- errors ------------------------------------------------------------------------------------


def test_missing_paths(provider: Provider) -> None:
    for call in (
        lambda: provider.stat("no/such/file"),
        lambda: provider.read_bytes("no/such/file"),
        lambda: provider.delete("no/such/file"),
        lambda: list(provider.list("no/such/dir")),
    ):
        with pytest.raises(ObjectNotFound) as info:
            call()
        assert "no/such/" in one_line(info.value)


def test_bad_paths_refused(provider: Provider) -> None:
    with pytest.raises(InvalidInput):
        provider.stat("../outside")


def test_bad_credentials(case: Case, provider_settings: Settings) -> None:
    if case.bad_credentials is None:
        pytest.skip(f"{case.kind} has no credentials")
    with pytest.raises(ProviderAuthFailed) as info:
        with open_provider(case.bad_credentials(), provider_settings) as opened:
            list(opened.list())
    message = one_line(info.value)
    assert WRONG_SECRET not in message and S3_SECRET_KEY not in message and WEBDAV_PASSWORD not in message


def test_missing_root(case: Case, provider_settings: Settings) -> None:
    with pytest.raises(ProviderNotFound) as info:
        with open_provider(case.missing_root(), provider_settings) as opened:
            list(opened.list())
    one_line(info.value)


def test_unset_secret_is_named(case: Case, provider_settings: Settings) -> None:
    spec = case.make(f"u-{secrets.token_hex(4)}")
    if not spec.secrets:
        pytest.skip(f"{case.kind} has no secrets")
    name = next(iter(spec.secrets))
    refs = {k: str(v) for k, v in spec.secrets.items()} | {name: "env:SYNCOXIDE_TEST_UNSET"}
    unset = ProviderSpec(kind=spec.kind, location=spec.location, options=spec.options, secrets=refs)
    with pytest.raises(SecretUnavailable, match="SYNCOXIDE_TEST_UNSET"):
        open_provider(unset, provider_settings).close()


# -- specs (no server needed) ------------------------------------------------------------------


def test_spec_refuses_unknown_options_and_inline_secrets() -> None:
    with pytest.raises(ValueError, match="unknown option 'endpoint' for a s3 provider"):
        ProviderSpec(kind="s3", location="s3://b", options={"endpoint": "http://x"})
    with pytest.raises(ValueError, match="unknown secret 'token'"):
        ProviderSpec(kind="webdav", location="http://h/", secrets={"token": "env:X"})
    with pytest.raises(InvalidInput, match="must be env:NAME"):
        ProviderSpec(kind="s3", location="s3://b", secrets={"secret_access_key": "hunter2-inline"})


def test_spec_carries_references_only() -> None:
    os.environ["SYNCOXIDE_TEST_REF"] = "the-secret-value"
    spec = ProviderSpec(kind="sftp", location="sftp://u@h/x", secrets={"password": "env:SYNCOXIDE_TEST_REF"})
    dumped = spec.model_dump_json()
    assert "SYNCOXIDE_TEST_REF" in dumped and "the-secret-value" not in dumped
    assert ProviderSpec.model_validate_json(dumped) == spec


def test_bad_locations_are_one_line(provider_settings: Settings) -> None:
    for spec in (
        ProviderSpec(kind="sftp", location="ssh://host/x"),
        ProviderSpec(kind="s3", location="bucket/x"),
        ProviderSpec(kind="webdav", location="ftp://host/x"),
        ProviderSpec(kind="rclone", location="no-colon"),
    ):
        with pytest.raises(InvalidInput) as info:
            open_provider(spec, provider_settings)
        assert "pw" not in one_line(info.value)
