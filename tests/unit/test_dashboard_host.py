"""Which Host headers the dashboard answers: its own names, never a DNS-rebinding name."""

from __future__ import annotations

import pytest

from syncoxide.config import Settings
from syncoxide.dashboard_auth import host_allowed


@pytest.mark.parametrize(
    ("address", "public", "host", "allowed"),
    [
        ("127.0.0.1", [], "127.0.0.1:8501", True),
        ("127.0.0.1", [], "localhost:8501", True),
        ("127.0.0.1", [], "[::1]:8501", True),
        ("127.0.0.1", [], "LOCALHOST", True),
        ("127.0.0.1", [], "evil.example:8501", False),
        ("127.0.0.1", [], "127.0.0.1.evil.example:8501", False),
        ("127.0.0.1", [], "", False),
        ("127.0.0.1", [], None, False),
        ("0.0.0.0", [], "192.168.1.20:8501", True),
        ("0.0.0.0", [], "[fe80::1]:8501", True),
        ("0.0.0.0", [], "backups.example.org", False),
        ("0.0.0.0", ["backups.example.org"], "backups.example.org:443", True),
        ("192.168.1.20", [], "192.168.1.20:8501", True),
        ("192.168.1.20", [], "127.0.0.1:8501", False),
    ],
)
def test_host_allowed(address, public, host, allowed, tmp_path):
    settings = Settings(home=tmp_path, dashboard_address=address, dashboard_public_names=public)
    assert host_allowed(settings, host) is allowed
