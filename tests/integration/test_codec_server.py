"""`syncoxide codec-server` as Temporal's Web UI and CLI meet it, and as an attacker would."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from syncoxide.orchestration.payload_keys import ensure_key_file
from tests.conftest import free_port

TOKEN = "codec-token-for-tests-0123456789abcdef"


class Codec:
    def __init__(self, port: int, ui_port: int):
        self.url = f"http://127.0.0.1:{port}"
        self.ui_origin = f"http://127.0.0.1:{ui_port}"

    def post(self, path: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
        request = urllib.request.Request(self.url + path, data=body, method="POST", headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as refused:
            return refused.code, dict(refused.headers), refused.read()

    def call(self, op: str, payloads: list[dict], **headers: str) -> tuple[int, dict]:
        status, _, body = self.post(
            f"/{op}", json.dumps({"payloads": payloads}).encode(), {"Content-Type": "application/json", **headers}
        )
        return status, json.loads(body)


@pytest.fixture(scope="module")
def codec(tmp_path_factory) -> Iterator[Codec]:
    home = tmp_path_factory.mktemp("codec-home")
    ensure_key_file(home / "payload.keys")
    (home / "codec.token").write_text(TOKEN + "\n")
    port, ui_port = free_port(), free_port()
    env = {
        **os.environ,
        "SYNCOXIDE_HOME": str(home),
        "SYNCOXIDE_CODEC_PORT": str(port),
        "SYNCOXIDE_TEMPORAL_UI_PORT": str(ui_port),
    }
    proc = subprocess.Popen([sys.executable, "-m", "syncoxide", "codec-server"], env=env, stderr=subprocess.PIPE)
    server = Codec(port, ui_port)
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(server.url + "/", timeout=1).read()
            break
        except OSError:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the codec server did not start"
            time.sleep(0.2)
    yield server
    proc.terminate()
    proc.wait(10)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


PLAIN = {"metadata": {"encoding": b64(b"json/plain")}, "data": b64(b'{"sources": ["/home/alice/taxes"]}')}
BEARER = f"Bearer {TOKEN}"


def test_encode_then_decode_round_trips_with_the_token(codec):
    status, sealed = codec.call("encode", [PLAIN], Authorization=BEARER, **{"X-Namespace": "default"})
    assert status == 200
    [payload] = sealed["payloads"]
    assert base64.b64decode(payload["metadata"]["encoding"]) == b"binary/encrypted"
    assert b"alice" not in base64.b64decode(payload["data"])
    status, opened = codec.call("decode", sealed["payloads"], Authorization=BEARER)
    assert status == 200 and opened["payloads"] == [PLAIN]
    # only the last path segment selects the operation (the protocol allows mounting at any depth)
    status, _, _ = codec.post("/default/decode", json.dumps(sealed).encode(), {"Authorization": BEARER})
    assert status == 200


@pytest.mark.parametrize("auth", [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN[:-1]}"])
def test_no_or_wrong_token_gets_401_and_nothing_decoded(codec, auth):
    _, sealed = codec.call("encode", [PLAIN], Authorization=BEARER)
    headers = {"Authorization": auth} if auth else {}
    status, answer = codec.call("decode", sealed["payloads"], **headers)
    assert status == 401 and answer["title"] == "unauthorized" and "alice" not in json.dumps(answer)
    status, _ = codec.call("encode", [PLAIN], **headers)  # an encoding oracle would forge sealed inputs
    assert status == 401


def test_a_forged_sealed_payload_is_refused(codec):
    _, sealed = codec.call("encode", [PLAIN], Authorization=BEARER)
    forged = dict(sealed["payloads"][0])
    data = bytearray(base64.b64decode(forged["data"]))
    data[-1] ^= 1
    forged["data"] = b64(bytes(data))
    status, answer = codec.call("decode", [forged], Authorization=BEARER)
    assert status == 400 and "payload not authenticated" in answer["detail"]


def test_cors_answers_the_web_ui_origin_only(codec):
    def preflight(origin: str) -> dict:
        request = urllib.request.Request(
            codec.url + "/decode",
            method="OPTIONS",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-namespace",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return {"status": answer.status, **{k.lower(): v for k, v in answer.headers.items()}}
        except urllib.error.HTTPError as refused:
            return {"status": refused.code, **{k.lower(): v for k, v in refused.headers.items()}}

    allowed = preflight(codec.ui_origin)
    assert allowed["status"] == 200 and allowed["access-control-allow-origin"] == codec.ui_origin
    assert allowed["access-control-allow-credentials"] == "true"
    evil = preflight("http://evil.example:8233")
    assert evil["status"] == 400 and "access-control-allow-origin" not in evil


def test_a_dns_rebinding_host_header_is_refused(codec):
    _, sealed = codec.call("encode", [PLAIN], Authorization=BEARER)
    status, _, _ = codec.post(
        "/decode",
        json.dumps(sealed).encode(),
        {"Host": f"evil.example:{codec.url.rsplit(':', 1)[1]}", "Authorization": BEARER},
    )
    assert status == 400


def test_a_browser_session_opens_with_the_token_once(codec):
    status, _, _ = codec.post("/session", b"token=not-it", {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 401
    status, headers, _ = codec.post(
        "/session", f"token={TOKEN}".encode(), {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 200
    cookie = headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and TOKEN not in cookie
    _, sealed = codec.call("encode", [PLAIN], Authorization=BEARER)
    status, opened = codec.call("decode", sealed["payloads"], Cookie=cookie.split(";", 1)[0], Origin=codec.ui_origin)
    assert status == 200 and opened["payloads"] == [PLAIN]
    status, _ = codec.call("decode", sealed["payloads"], Cookie="syncoxide_codec=made-up")
    assert status == 401


def test_repeated_failures_from_one_address_are_stopped(codec):
    """Runs last in this module: the failures of the tests above count too."""
    statuses = [codec.call("decode", [PLAIN], Authorization=f"Bearer guess-{i}")[0] for i in range(12)]
    assert statuses[-1] == 429 and set(statuses) <= {401, 429}
    assert codec.call("decode", [PLAIN], Authorization=BEARER)[0] == 429  # even the right token, for a minute


def test_beyond_loopback_without_tls_is_refused(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "syncoxide", "codec-server", "--host", "0.0.0.0"],
        env={**os.environ, "SYNCOXIDE_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    refusal = "error: --host 0.0.0.0 is beyond loopback: give --tls-cert and --tls-key"
    assert done.stderr.strip().splitlines() == [refusal]
