"""`syncoxide dev up|down|status`: the embedded stack as background processes under the data dir.

Temporal's dev server (SQLite file, Web UI on, decoding through the codec server), the embedded
PostgreSQL, the codec server, a worker, the REST API (`syncoxide serve`) and the dashboard. The first
start makes the payload key file and the codec token (0600) unless settings name their own. With
SYNCOXIDE_TEMPORAL_ADDRESS or SYNCOXIDE_DATABASE_URL set, that service is used as it is and nothing
is started for it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from syncoxide.api.serve import api_url
from syncoxide.config import Settings
from syncoxide.dashboard_auth import check_exposure
from syncoxide.errors import ServiceUnavailable, SyncoxideError
from syncoxide.orchestration.payload_keys import default_reference, ensure_key_file
from syncoxide.server.codec_process import codec_url, ensure_token_file
from syncoxide.store import embedded, open_store
from syncoxide.store.db import connect, describe_url

DASHBOARD_APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0


@dataclass
class Service:
    name: str
    url: str | None
    running: bool
    pid: int | None = None


def search_attribute_flags() -> list[str]:
    from syncoxide.orchestration.client import SEARCH_ATTRIBUTES

    flags: list[str] = []
    for key in SEARCH_ATTRIBUTES:
        flags += ["--search-attribute", f"{key.name}=Keyword"]
    return flags


def _pid_file(settings: Settings, name: str) -> Path:
    return settings.run_dir / f"{name}.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return True


def running_pid(settings: Settings, name: str) -> int | None:
    try:
        pid = int(_pid_file(settings, name).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _wait(what: str, ready: Callable[[], bool], pid: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if ready():
            return
        if not _alive(pid):
            raise ServiceUnavailable(f"{what} exited during start-up; see {log}")
        time.sleep(0.3)
    raise ServiceUnavailable(f"{what} did not become ready within {START_TIMEOUT_S:.0f}s; see {log}")


def _spawn(settings: Settings, name: str, argv: list[str], env: dict[str, str] | None = None) -> tuple[int, Path]:
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    log = settings.log_dir / f"{name}.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
    _pid_file(settings, name).write_text(str(proc.pid))
    return proc.pid, log


def _start_temporal(settings: Settings) -> None:
    if running_pid(settings, "temporal"):
        return
    if _port_open(settings.temporal_port):
        raise ServiceUnavailable(
            f"port {settings.temporal_port} is taken by another program (set SYNCOXIDE_TEMPORAL_PORT"
            " or SYNCOXIDE_TEMPORAL_ADDRESS)"
        )
    binary = settings.tools.temporal
    if binary is None:
        raise SyncoxideError("the temporal program was not found (run: make setup)")
    settings.home.mkdir(parents=True, exist_ok=True)
    argv = [
        binary,
        "server",
        "start-dev",
        "--db-filename",
        str(settings.home / "temporal.db"),
        "--ip",
        "127.0.0.1",
        "--port",
        str(settings.temporal_port),
        "--ui-port",
        str(settings.temporal_ui_port),
        "--namespace",
        settings.namespace,
        "--ui-codec-endpoint",
        codec_url(settings),
        "--log-level",
        "warn",
        *search_attribute_flags(),
    ]
    pid, log = _spawn(settings, "temporal", argv)
    _wait("the Temporal dev server", lambda: _http_ok(settings.temporal_ui_url), pid, log)


def _start_worker(settings: Settings) -> None:
    if running_pid(settings, "worker"):
        return
    ready = settings.run_dir / "worker.ready"
    ready.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "syncoxide.cli", "worker", "--ready-file", str(ready)]
    pid, log = _spawn(settings, "worker", argv)
    _wait("the worker", ready.exists, pid, log)


def _start_codec_server(settings: Settings) -> None:
    if running_pid(settings, "codec"):
        return
    if _port_open(settings.codec_port):
        raise ServiceUnavailable(f"port {settings.codec_port} is taken by another program (set SYNCOXIDE_CODEC_PORT)")
    pid, log = _spawn(settings, "codec", [sys.executable, "-m", "syncoxide.cli", "codec-server"])
    _wait("the codec server", lambda: _port_open(settings.codec_port), pid, log)


def ensure_secrets(settings: Settings, say: Callable[[str], None]) -> None:
    """The payload key file and the codec token of the embedded stack, made once."""
    if settings.payload_keys is None and ensure_key_file(Path(default_reference(settings.home).value)):
        say(f"made a payload key in {default_reference(settings.home).value} (keep a copy: old histories need it)")
    if settings.codec_token is None:
        ensure_token_file(settings)


def dashboard_url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.dashboard_port}"


def dashboard_argv(settings: Settings) -> list[str]:
    """Streamlit serving the dashboard where the settings say; never beyond loopback without a password."""
    check_exposure(settings)
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(DASHBOARD_APP),
        "--server.address",
        settings.dashboard_address,
        "--server.port",
        str(settings.dashboard_port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",  # no "Deploy" button: this is an app, not a notebook
    ]


def _start_api(settings: Settings) -> None:
    if running_pid(settings, "api"):
        return
    if _port_open(settings.api_port):
        raise ServiceUnavailable(f"port {settings.api_port} is taken by another program (set SYNCOXIDE_API_PORT)")
    pid, log = _spawn(settings, "api", [sys.executable, "-m", "syncoxide.cli", "serve"])
    _wait("the API", lambda: _port_open(settings.api_port), pid, log)


def _start_dashboard(settings: Settings) -> None:
    if running_pid(settings, "dashboard"):
        return
    pid, log = _spawn(settings, "dashboard", dashboard_argv(settings))
    _wait("the dashboard", lambda: _http_ok(dashboard_url(settings) + "/_stcore/health"), pid, log)


def up(settings: Settings, *, dashboard: bool = True, say: Callable[[str], None] = print) -> list[Service]:
    if settings.embedded_database:
        say("starting PostgreSQL (embedded)")
        embedded.start(settings.pgdata)
    with open_store(settings):
        pass
    ensure_secrets(settings, say)
    say("starting the codec server")
    _start_codec_server(settings)
    if settings.embedded_temporal:
        say("starting the Temporal dev server")
        _start_temporal(settings)
    say("starting the worker")
    _start_worker(settings)
    say("starting the API")
    _start_api(settings)
    if dashboard:
        say("starting the dashboard")
        _start_dashboard(settings)
    return status(settings)


def _stop_process(settings: Settings, name: str) -> bool:
    pid = running_pid(settings, name)
    if pid is None:
        _pid_file(settings, name).unlink(missing_ok=True)
        return False
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _alive(pid):
        os.killpg(pid, signal.SIGKILL)
    _pid_file(settings, name).unlink(missing_ok=True)
    return True


def down(settings: Settings, say: Callable[[str], None] = print) -> None:
    for name in ("dashboard", "api", "worker", "temporal", "codec"):
        if _stop_process(settings, name):
            say(f"stopped {name}")
    if settings.embedded_database and embedded.stop(settings.pgdata):
        say("stopped postgres")


def status(settings: Settings) -> list[Service]:
    services = []
    if settings.embedded_temporal:
        pid = running_pid(settings, "temporal")
        services.append(Service("temporal", settings.temporal_target, pid is not None, pid))
        services.append(Service("temporal-ui", settings.temporal_ui_url, pid is not None, pid))
    else:
        services.append(Service("temporal", settings.temporal_target, _reachable(settings.temporal_target)))
    if settings.embedded_database:
        url = embedded.running_url(settings.pgdata)
        services.append(Service("postgres", str(settings.pgdata), url is not None))
    else:
        assert settings.database_url is not None  # embedded_database is its absence
        services.append(Service("postgres", describe_url(settings.database_url), _database_reachable(settings)))
    shown = (
        ("codec", codec_url(settings)),
        ("worker", None),
        ("api", api_url(settings)),
        ("dashboard", dashboard_url(settings)),
    )
    for name, url in shown:
        pid = running_pid(settings, name)
        services.append(Service(name, url, pid is not None, pid))
    return services


def _database_reachable(settings: Settings) -> bool:
    try:
        connect(settings).close()
        return True
    except ServiceUnavailable:
        return False


def _reachable(target: str) -> bool:
    host, _, port = target.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except (OSError, ValueError):
        return False
