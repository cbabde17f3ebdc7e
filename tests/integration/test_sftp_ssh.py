"""The SFTP provider's SSH side, on a real sshd: keys with passphrases, host keys, lost connections, md5sum over
the same connection, and no ssh process left behind."""

from __future__ import annotations

import gc
import hashlib
import io
import os
import signal
import subprocess
from pathlib import Path

import psutil
import pytest

from syncoxide.config import Settings
from syncoxide.errors import InvalidInput
from syncoxide.providers import ProviderAuthFailed, ProviderSpec, open_provider
from syncoxide.providers.errors import ProviderTransient
from syncoxide.providers.sftp.ssh_command import ASKPASS
from syncoxide.sync.hashing import remote_md5
from tests.servers import free_port

PASSPHRASE_ENV = "SYNCOXIDE_TEST_KEY_PASSPHRASE"


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "root"
    folder.mkdir()
    return folder


def _spec(sftp_server, root: Path, **options: object) -> ProviderSpec:
    secrets = options.pop("secrets", {})
    merged = {"key_file": str(sftp_server.key_file), "known_hosts": str(sftp_server.known_hosts), **options}
    return ProviderSpec(
        kind="sftp",
        location=f"sftp://{sftp_server.ssh.user}@127.0.0.1:{sftp_server.ssh.port}{root}",
        options=merged,
        secrets=secrets,
    )  # type: ignore[arg-type]


def _ssh_children(besides: set[int] | None = None) -> list[psutil.Process]:
    """ssh processes started by this process (the session's worker may run some of its own: pass their pids)."""
    return [
        child
        for child in psutil.Process().children(recursive=True)
        if child.name() == "ssh" and child.pid not in (besides or set())
    ]


def _ssh_pids() -> set[int]:
    return {child.pid for child in _ssh_children()}


def _protected_key(sftp_server, tmp_path: Path, passphrase: str) -> Path:
    key = tmp_path / "protected_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-f", str(key)], check=True)
    authorized = sftp_server.key_file.parent / "authorized_keys"
    authorized.write_text(authorized.read_text() + (tmp_path / "protected_key.pub").read_text())
    return key


def test_a_key_with_a_passphrase_connects_through_askpass(
    provider_settings: Settings, sftp_server, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _ssh_pids()
    key = _protected_key(sftp_server, tmp_path, "correct horse battery")
    monkeypatch.setenv(PASSPHRASE_ENV, "correct horse battery")
    spec = _spec(sftp_server, root, key_file=str(key), secrets={"key_passphrase": f"env:{PASSPHRASE_ENV}"})
    provider = open_provider(spec, provider_settings)
    try:
        provider.write("a.txt", io.BytesIO(b"through a protected key"))
        assert (root / "a.txt").read_bytes() == b"through a protected key"
    finally:
        provider.close()

    monkeypatch.setenv(PASSPHRASE_ENV, "wrong horse")
    with pytest.raises(ProviderAuthFailed, match="the server refused the credentials"):
        open_provider(spec, provider_settings)
    no_passphrase = _spec(sftp_server, root, key_file=str(key))
    with pytest.raises(ProviderAuthFailed, match=r"protected_key is encrypted: give a key_passphrase secret"):
        open_provider(no_passphrase, provider_settings)
    with pytest.raises(InvalidInput, match=r"sftp key_file .*no-such-key does not exist"):
        open_provider(_spec(sftp_server, root, key_file=str(tmp_path / "no-such-key")), provider_settings)
    assert not _ssh_children(besides=before)


def test_the_askpass_script_answers_a_password_prompt_and_a_passphrase_prompt(tmp_path: Path) -> None:
    script = tmp_path / "askpass"
    script.write_text(ASKPASS)
    script.chmod(0o700)
    env = {**os.environ, "SYNCOXIDE_SSH_PASSWORD": "pw 1", "SYNCOXIDE_SSH_KEY_PASSPHRASE": "pp 2"}
    said = [
        subprocess.run([str(script), prompt], env=env, capture_output=True, text=True, check=True).stdout
        for prompt in ("me@host's password: ", "Enter passphrase for key '/k': ", "Password: ")
    ]
    assert said == ["pw 1\n", "pp 2\n", "pw 1\n"]


def test_an_unknown_or_changed_host_key_is_refused(
    provider_settings: Settings, sftp_server, root: Path, tmp_path: Path
) -> None:
    before = _ssh_pids()
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    with pytest.raises(ProviderAuthFailed, match=f"host key unknown; add it to {empty}"):
        open_provider(_spec(sftp_server, root, known_hosts=str(empty)), provider_settings)

    other = tmp_path / "other_host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    kind, key = (tmp_path / "other_host_key.pub").read_text().split()[:2]
    changed = tmp_path / "changed_known_hosts"
    changed.write_text(f"[127.0.0.1]:{sftp_server.ssh.port} {kind} {key}\n")
    with pytest.raises(ProviderAuthFailed, match=f"host key does not match {changed}"):
        open_provider(_spec(sftp_server, root, known_hosts=str(changed)), provider_settings)
    assert not _ssh_children(besides=before)


def test_no_server_is_a_transient_one_line_error(provider_settings: Settings, sftp_server, root: Path) -> None:
    spec = _spec(sftp_server, root)
    closed = ProviderSpec(kind="sftp", location=f"sftp://someone@127.0.0.1:{free_port()}{root}", options=spec.options)
    with pytest.raises(ProviderTransient, match=r"cannot connect: .*Connection refused") as info:
        open_provider(closed, provider_settings)
    assert "\n" not in str(info.value)


def test_a_killed_ssh_process_is_a_transient_error_and_close_leaves_nothing(
    provider_settings: Settings, sftp_server, root: Path
) -> None:
    before = _ssh_pids()
    provider = open_provider(_spec(sftp_server, root), provider_settings)
    (ssh,) = _ssh_children(besides=before)
    provider.write("kept.txt", io.BytesIO(b"x"))
    os.kill(ssh.pid, signal.SIGKILL)
    with pytest.raises(ProviderTransient, match="connection lost during kept.txt"):
        provider.stat("kept.txt")
    provider.close()
    assert not _ssh_children(besides=before)


def test_md5sum_runs_on_the_server_over_the_same_connection(
    provider_settings: Settings, sftp_server, root: Path
) -> None:
    before = _ssh_pids()
    data = os.urandom(3 * 1024 * 1024)
    (root / "big.bin").write_bytes(data)
    provider = open_provider(_spec(sftp_server, root), provider_settings)
    try:
        assert provider.session.request_size > 32 * 1024  # the server's limits@openssh.com, not the protocol's floor
        assert remote_md5(provider, "big.bin") == hashlib.md5(data).hexdigest()
        assert remote_md5(provider, "missing.bin") is None
    finally:
        provider.close()
    assert not _ssh_children(besides=before)


def test_a_provider_nobody_closes_ends_its_ssh_when_collected(
    provider_settings: Settings, sftp_server, root: Path
) -> None:
    before = _ssh_pids()
    provider = open_provider(_spec(sftp_server, root), provider_settings)
    provider.write("a.txt", io.BytesIO(b"a"))
    assert _ssh_children(besides=before)
    del provider
    gc.collect()
    assert not _ssh_children(besides=before)
