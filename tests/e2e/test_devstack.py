"""`syncoxide dev up` + `demo` + `dev down`: the `make up` path on its own ports and data dir."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest

from syncoxide.config import Settings
from tests.conftest import free_port

pytestmark = pytest.mark.e2e


def base64_values(node) -> str:
    """The metadata values of every payload in a history, decoded (a decoded payload says json/plain)."""
    if isinstance(node, dict):
        found = (
            [base64.b64decode(v).decode("utf-8", "replace") for v in node["metadata"].values()]
            if (isinstance(node.get("metadata"), dict) and "data" in node)
            else []
        )
        return " ".join(found + [base64_values(v) for v in node.values()])
    if isinstance(node, list):
        return " ".join(base64_values(v) for v in node)
    return ""


def test_dev_up_demo_and_down():
    home = Path(tempfile.mkdtemp(prefix="sxd-", dir="/tmp"))
    ports = {
        "SYNCOXIDE_TEMPORAL_PORT": free_port(),
        "SYNCOXIDE_TEMPORAL_UI_PORT": free_port(),
        "SYNCOXIDE_DASHBOARD_PORT": free_port(),
        "SYNCOXIDE_CODEC_PORT": free_port(),
        "SYNCOXIDE_API_PORT": free_port(),
    }
    metrics = f"127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCOXIDE_")}
    env.update(
        {"SYNCOXIDE_HOME": str(home), "SYNCOXIDE_METRICS_ADDRESS": metrics, **{k: str(v) for k, v in ports.items()}}
    )

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "syncoxide.cli", *args], env=env, capture_output=True, text=True, timeout=300
        )

    try:
        up = cli("dev", "up", "--json")
        assert up.returncode == 0, up.stderr
        assert all(s["running"] for s in json.loads(up.stdout))
        api = f"http://127.0.0.1:{ports['SYNCOXIDE_API_PORT']}"
        assert {"name": "api", "url": api} in [{k: s[k] for k in ("name", "url")} for s in json.loads(up.stdout)]
        with urllib.request.urlopen(f"{api}/healthz") as r:
            assert json.loads(r.read()) == {"ok": True, "database": True}
        again = cli("dev", "up")
        assert again.returncode == 0, again.stderr

        demo = cli("demo", "--json")
        assert demo.returncode == 0, demo.stderr
        result = json.loads(demo.stdout)
        assert result["stats"]["files"] == 5
        assert result["temporal_ui"] == f"http://127.0.0.1:{ports['SYNCOXIDE_TEMPORAL_UI_PORT']}"

        temporal_bin = Settings(home=home).tools.temporal
        listed = subprocess.run(
            [
                temporal_bin,
                "workflow",
                "list",
                "--address",
                f"127.0.0.1:{ports['SYNCOXIDE_TEMPORAL_PORT']}",
                "--query",
                "RunKind='backup' AND Engine='borg'",
                "--output",
                "json",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert listed.returncode == 0, listed.stderr
        assert result["run_id"] in listed.stdout

        for secret in ("payload.keys", "codec.token"):  # made on first start, the owner's alone
            assert stat.S_IMODE((home / secret).stat().st_mode) == 0o600
        codec = f"http://127.0.0.1:{ports['SYNCOXIDE_CODEC_PORT']}"
        ui = f"http://127.0.0.1:{ports['SYNCOXIDE_TEMPORAL_UI_PORT']}"
        with urllib.request.urlopen(f"{ui}/api/v1/settings") as r:
            assert json.loads(r.read())["Codec"]["Endpoint"] == codec  # the Web UI decodes through it
        shown = subprocess.run(
            [
                temporal_bin,
                "workflow",
                "show",
                "--address",
                f"127.0.0.1:{ports['SYNCOXIDE_TEMPORAL_PORT']}",
                "--workflow-id",
                result["run_id"],
                "--output",
                "json",
                "--codec-endpoint",
                codec,
                "--codec-auth",
                f"Bearer {(home / 'codec.token').read_text().strip()}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert shown.returncode == 0 and "json/plain" in base64_values(json.loads(shown.stdout)), shown.stderr
        with urllib.request.urlopen(f"http://127.0.0.1:{ports['SYNCOXIDE_DASHBOARD_PORT']}/_stcore/health") as r:
            assert r.status == 200
        with urllib.request.urlopen(f"http://{metrics}/metrics") as r:
            exposed = r.read().decode()
        assert re.search(r'syncoxide_runs\{[^}]*kind="backup"[^}]*status="succeeded"[^}]*\} 1', exposed), exposed
        assert "syncoxide_run_duration_seconds" in exposed and "temporal_" in exposed
        status = cli("dev", "status")
        assert status.returncode == 0, status.stdout
    finally:
        down = cli("dev", "down")
    assert down.returncode == 0, down.stderr
    after = cli("dev", "status")
    assert after.returncode == 1
    assert (home / "temporal.db").exists()
