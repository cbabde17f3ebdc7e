"""An SSH connection through OpenSSH's own client: ``ssh -s sftp`` carries the SFTP session, and commands
(``md5sum``) run over the same connection (it is the ControlMaster of a socket in a private directory).

The client reads no ssh_config (``-F none``): what it does is what the provider's spec says. The host key
must be in the spec's ``known_hosts`` (strict checking). A password or a key's passphrase reaches ssh
through ``SSH_ASKPASS``: a script in the private directory prints it from ssh's own environment, so it is
never on a command line.
"""

from __future__ import annotations

import base64
import fcntl
import os
import shlex
import shutil
import subprocess
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from syncoxide.errors import InvalidInput
from syncoxide.providers.errors import ProviderAuthFailed, ProviderError, ProviderTransient

PREFERRED_CIPHERS = "^aes128-gcm@openssh.com,aes256-gcm@openssh.com"
"""AES-GCM first (hardware AES, no separate MAC); the rest of OpenSSH's defaults follow"""
PREFERRED_KEX = "^curve25519-sha256,curve25519-sha256@libssh.org"
"""X25519 first, as rclone's and paramiko's clients use: OpenSSH 9's default, sntrup761x25519 (post-quantum),
costs ~100 ms more per connection and stays offered after it"""
PIPE_SIZE = 1024 * 1024
"""bytes the pipe from ssh holds (Linux's default is 64 KiB): reads 10-20% faster. The pipe to it keeps the
default, which measured faster for writes (the data stays in the CPU's caches)."""
ASKPASS = """#!/bin/sh
case "$1" in
  *assphrase*) printf '%s\\n' "$SYNCOXIDE_SSH_KEY_PASSPHRASE" ;;
  *) printf '%s\\n' "$SYNCOXIDE_SSH_PASSWORD" ;;
esac
"""


@dataclass(frozen=True)
class SshTarget:
    host: str
    port: int
    user: str | None
    display: str
    known_hosts: Path
    key_file: Path | None = None
    password: str | None = None
    key_passphrase: str | None = None
    timeout: float = 30


def _ssh() -> str:
    found = shutil.which("ssh")
    if not found:
        raise ProviderError("sftp needs OpenSSH's client (ssh) on PATH: install openssh-client")
    return found


def check_key(key_file: Path, passphrase: str | None) -> None:
    """Refuse, in one line, a key that is missing or encrypted with no passphrase given."""
    try:
        text = key_file.read_text(errors="replace")
    except FileNotFoundError:
        raise InvalidInput(f"sftp key_file {key_file} does not exist") from None
    except OSError as exc:
        raise InvalidInput(f"sftp key_file {key_file} cannot be read: {exc.strerror}") from None
    if passphrase is None and _encrypted(text):
        raise ProviderAuthFailed(f"sftp key {key_file} is encrypted: give a key_passphrase secret")


def _encrypted(text: str) -> bool:
    if "ENCRYPTED" in text:  # PEM: "Proc-Type: 4,ENCRYPTED" or "BEGIN ENCRYPTED PRIVATE KEY"
        return True
    lines = [line for line in text.splitlines() if line and not line.startswith("-----")]
    try:
        blob = base64.b64decode("".join(lines))
    except ValueError:
        return False
    magic = b"openssh-key-v1\0"
    if not blob.startswith(magic):
        return False
    size = int.from_bytes(blob[len(magic) : len(magic) + 4], "big")
    return blob[len(magic) + 4 : len(magic) + 4 + size] != b"none"


class SshConnection:
    """One ``ssh`` process: its stdin and stdout are the SFTP session's pipes."""

    def __init__(self, target: SshTarget):
        self.target = target
        self._dir = Path(tempfile.mkdtemp(prefix="sxssh-"))
        self.control = self._dir / "control"
        env = {**os.environ}
        if target.password is not None or target.key_passphrase is not None:
            askpass = self._dir / "askpass"
            askpass.write_text(ASKPASS)
            askpass.chmod(0o700)
            env.update(
                SSH_ASKPASS=str(askpass),
                SSH_ASKPASS_REQUIRE="force",
                SYNCOXIDE_SSH_PASSWORD=target.password or "",
                SYNCOXIDE_SSH_KEY_PASSPHRASE=target.key_passphrase or "",
            )
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the connection
        argv = [_ssh(), *self._options(master=True), "-s", target.host, "sftp"]
        self.process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=env, start_new_session=True
        )
        self._finalizer = weakref.finalize(self, _shut, self.process, self._stderr, self._dir)
        _widen(self.process.stdout)

    def _options(self, master: bool) -> list[str]:
        target = self.target
        options = [
            "-F",
            "none",
            "-p",
            str(target.port),
            "-o",
            f"UserKnownHostsFile={target.known_hosts}",
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "CheckHostIP=no",
            "-o",
            f"ConnectTimeout={max(1, round(target.timeout))}",
            "-o",
            "ServerAliveInterval=15",
            "-o",
            "ServerAliveCountMax=4",
            "-o",
            f"Ciphers={PREFERRED_CIPHERS}",
            "-o",
            f"KexAlgorithms={PREFERRED_KEX}",
            "-o",
            "Compression=no",
            "-o",
            "ForwardAgent=no",
            "-o",
            "ForwardX11=no",
            "-o",
            "ClearAllForwardings=yes",
            "-o",
            "NumberOfPasswordPrompts=1",
            "-o",
            "LogLevel=ERROR",
            "-o",
            f"ControlPath={self.control}",
            "-o",
            f"ControlMaster={'yes' if master else 'no'}",
        ]
        if target.user:
            options += ["-l", target.user]
        secret_given = target.password is not None or target.key_passphrase is not None
        options += ["-o", f"BatchMode={'no' if secret_given and master else 'yes'}"]
        if target.key_file is not None:
            options += [
                "-i",
                str(target.key_file),
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "IdentityAgent=none",
                "-o",
                "PreferredAuthentications=publickey",
            ]
        elif target.password is not None:
            options += [
                "-o",
                "PubkeyAuthentication=no",
                "-o",
                "IdentityAgent=none",
                "-o",
                "PreferredAuthentications=password,keyboard-interactive",
            ]
        return options

    @property
    def incoming(self) -> IO[bytes]:
        assert self.process.stdout is not None
        return self.process.stdout

    @property
    def outgoing(self) -> IO[bytes]:
        assert self.process.stdin is not None
        return self.process.stdin

    def printed(self) -> str:
        """Everything ssh printed on standard error."""
        try:
            self._stderr.seek(0)
            return self._stderr.read().decode(errors="replace")
        except (OSError, ValueError):
            return ""

    def said(self) -> str:
        """The last lines ssh printed on standard error, as one."""
        lines = [line.strip() for line in self.printed().splitlines() if line.strip()]
        return " ".join(lines[-3:])

    def _exit_code(self) -> int | None:
        """ssh's exit code once it has ended (waiting up to 2 s for it to finish printing why); None if it runs on."""
        try:
            return self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return None

    def why_lost(self) -> str:
        code = self._exit_code()
        said = self.said()
        if said:
            return f"ssh: {said}"
        return f"ssh exited with code {code}" if code is not None else "the ssh process stopped answering"

    def failure(self) -> ProviderError:
        """Why the connection could not be made, as the provider error that says it in one line."""
        self._exit_code()
        said, printed, display = self.said(), self.printed(), self.target.display
        if "Permission denied" in printed or "Too many authentication failures" in printed:
            return ProviderAuthFailed(f"{display}: the server refused the credentials")
        if "IDENTIFICATION HAS CHANGED" in printed:
            return ProviderAuthFailed(f"{display}: the server's host key does not match {self.target.known_hosts}")
        if "Host key verification failed" in printed:
            return ProviderAuthFailed(f"{display}: host key unknown; add it to {self.target.known_hosts}")
        if "subsystem request failed" in printed:
            return ProviderError(f"{display}: the server has no SFTP subsystem")
        return ProviderTransient(f"{display}: cannot connect: {said or 'ssh ended without saying why'}")

    def run(self, command: list[str], timeout: float) -> tuple[int, str]:
        """Run a command on the server over this connection: (exit code, standard output)."""
        argv = [_ssh(), *self._options(master=False), self.target.host, shlex.join(command)]
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False)
        return done.returncode, done.stdout.decode(errors="replace")

    def close(self) -> None:
        self._finalizer()


def _widen(pipe: IO[bytes] | None) -> None:
    if pipe is None or not hasattr(fcntl, "F_SETPIPE_SZ"):
        return
    try:
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    except OSError:
        pass  # above /proc/sys/fs/pipe-max-size for this user: the default size works, only slower


def _shut(process: subprocess.Popen[bytes], stderr: IO[bytes], directory: Path) -> None:
    """End the session (end of input), then the process; its output is closed last, once nothing reads it."""
    try:
        if process.stdin is not None:
            process.stdin.close()
    except OSError:
        pass
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()
    stderr.close()
    shutil.rmtree(directory, ignore_errors=True)
