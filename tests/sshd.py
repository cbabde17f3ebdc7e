"""A real OpenSSH sshd on a loopback port, with throwaway host and user keys."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class SshServer:
    port: int
    user: str
    ssh_options: str
    process: subprocess.Popen

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


def start_sshd(workdir: Path, port: int) -> SshServer:
    sshd = shutil.which("sshd") or "/usr/sbin/sshd"
    workdir.mkdir(parents=True, exist_ok=True)
    os.chmod(workdir, 0o700)
    _keygen(workdir / "host_key")
    _keygen(workdir / "user_key")
    (workdir / "authorized_keys").write_text((workdir / "user_key.pub").read_text())
    host_public = (workdir / "host_key.pub").read_text().split()
    (workdir / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_public[0]} {host_public[1]}\n")
    config = workdir / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {workdir / 'host_key'}\nPidFile {workdir / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {workdir / 'authorized_keys'}\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin prohibit-password\n"
        "StrictModes no\nUsePAM no\nSubsystem sftp internal-sftp\n"
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation dir
    process = subprocess.Popen([sshd, "-D", "-e", "-f", str(config)], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 15
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"sshd did not start: {process.stderr.read() if process.stderr else ''}")
        time.sleep(0.05)
    options = (
        f"-i {workdir / 'user_key'} -o UserKnownHostsFile={workdir / 'known_hosts'} "
        "-o StrictHostKeyChecking=yes -o BatchMode=yes -o IdentitiesOnly=yes"
    )
    return SshServer(port=port, user=getpass.getuser(), ssh_options=options, process=process)
