"""The REST API on the real stack: `syncoxide serve` as a subprocess (uvicorn on loopback) in front of the
test stack's Temporal, worker, PostgreSQL and engines, reached over HTTP by a client that knows it only
through its OpenAPI schema (api_client.py)."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from syncoxide.models import Engine
from syncoxide.store import open_store, runs
from tests.conftest import free_port
from tests.e2e.api_client import ApiClient
from tests.e2e.cli import syncoxide
from tests.e2e.conftest import make_repository

pytestmark = pytest.mark.e2e
MiB = 1024 * 1024


@dataclass
class Api:
    url: str
    process: subprocess.Popen
    tokens: dict[str, str]
    client: ApiClient

    def as_(self, scope: str | None) -> ApiClient:
        return self.client.with_token(self.tokens[scope] if scope else None)


def start_server(stack, *args: str, env: dict[str, str] | None = None) -> tuple[str, subprocess.Popen]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "syncoxide", "serve", "--port", str(port), *args],
        env={**stack.env, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"syncoxide serve exited {process.returncode}: {process.stderr.read()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return url, process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise AssertionError("syncoxide serve did not answer /healthz within 60s")


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def make_token(stack, scope: str) -> str:
    made = syncoxide(
        stack, "token", "create", "--name", f"t-{scope}-{uuid.uuid4().hex[:6]}", "--scope", scope, "--json"
    )
    assert made.code == 0, made.stderr
    return made.json["token"]


@pytest.fixture(scope="module")
def api(stack) -> Iterator[Api]:
    url, process = start_server(stack)
    try:
        tokens = {scope: make_token(stack, scope) for scope in ("read", "operate", "admin")}
        yield Api(url, process, tokens, ApiClient(url, tokens["admin"]))
    finally:
        stop_server(process)


@pytest.fixture(scope="module")
def repository(stack, tmp_path_factory):
    base = tmp_path_factory.mktemp("api")
    return make_repository(stack, Engine.restic, base / "repo", f"api-{uuid.uuid4().hex[:6]}")


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("api-src")
    (root / "docs").mkdir()
    (root / "docs" / "api-report.txt").write_text("over HTTP\n" * 100)
    (root / "photo.jpg").write_bytes(os.urandom(50_000))
    return root


def problem_of(answer: httpx.Response, status: int) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["status"] == status and "\n" not in body["detail"]
    return body


# -- authentication and scopes ---------------------------------------------------------------------------------


def test_healthz_needs_no_token_and_everything_else_does(api):
    assert api.as_(None).call("GET", "/healthz").json() == {"ok": True, "database": True}
    refused = problem_of(api.as_(None).call("GET", "/api/v1/repositories"), 401)
    assert "token" in refused["detail"]
    wrong = api.client.with_token("sxo_000000000000_" + "A" * 43)
    assert problem_of(wrong.call("GET", "/api/v1/repositories"), 401)["title"] == "unauthorized"


ORDER = ["read", "operate", "admin"]


def every_operation(schema: dict) -> list[tuple[str, str, dict[str, str], str]]:
    """Each operation the schema declares with its scope: (method, template, path params, scope)."""
    found = []
    for template, operations in schema["paths"].items():
        for method, operation in operations.items():
            if "x-syncoxide-scope" not in operation:
                continue
            path = {}
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    enum = parameter["schema"].get("enum")
                    path[parameter["name"]] = enum[0] if enum else "none-such"
            found.append((method.upper(), template, path, operation["x-syncoxide-scope"]))
    return found


def test_every_operation_refuses_no_token_and_every_scope_below_its_own(api):
    operations = every_operation(api.client.schema)
    assert len(operations) >= 30
    for method, template, path, needed in operations:
        body = {} if method == "POST" else None
        assert problem_of(api.as_(None).call(method, template, path=path, body=body), 401), (method, template)
        for scope in ORDER:
            answer = api.as_(scope).call(method, template, path=path, body=body)
            if ORDER.index(scope) < ORDER.index(needed):
                assert "scope" in problem_of(answer, 403)["detail"], (method, template, scope)
            else:
                assert answer.status_code not in (401, 403), (method, template, scope, answer.text)


# -- bad input ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sources": ["/tmp"]}, "body.repository"),
        ({"repository": "x", "sources": ["relative/path"]}, "body.sources.0"),
        ({"repository": "x", "sources": []}, "body.sources"),
        ({"repository": "x", "sources": ["/tmp"], "stream": {"command": ["id"]}}, "body.stream"),
        ({"repository": "x", "sources": ["/tmp"], "options": {"compression": "zstd,99"}}, "body.options.compression"),
        ({"repository": "x", "sources": ["/tmp"], "options": {"policy": "mine"}}, "body.options.policy"),
    ],
)
def test_a_bad_backup_request_is_a_problem_naming_its_field(api, body, field):
    answer = api.as_("operate").call("POST", "/api/v1/backups", body=body)
    assert problem_of(answer, 422)["field"] == field


def test_a_body_that_is_not_json_and_a_bad_cursor_are_problems(api):
    answer = api.as_("operate").call(
        "POST", "/api/v1/backups", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert problem_of(answer, 422)["field"].startswith("body")
    assert (
        problem_of(api.client.call("GET", "/api/v1/runs", params={"cursor": "bm90IGEgY3Vyc29y"}), 422)["field"]
        == "query.cursor"
    )
    assert problem_of(api.client.call("GET", "/api/v1/runs", params={"limit": 0}), 422)["field"] == "query.limit"


def test_an_unknown_repository_is_a_404_naming_it(api):
    answer = api.as_("operate").call("POST", "/api/v1/backups", body={"repository": "nowhere", "sources": ["/tmp"]})
    assert "'nowhere'" in problem_of(answer, 404)["detail"]


def test_a_restore_outside_the_allowed_roots_is_refused_and_starts_nothing(api, stack, repository):
    with open_store(stack.settings) as conn:
        before = len(runs.recent(conn, repository_id=repository.id, limit=1000))
    body = {"repository": repository.name, "snapshot": "latest", "target": "/etc/syncoxide-api-test"}
    answer = api.as_("operate").call("POST", "/api/v1/restores", body=body)
    refused = problem_of(answer, 422)
    assert refused["field"] == "body.target" and "outside the folders restores may write to" in refused["detail"]
    assert not Path("/etc/syncoxide-api-test").exists()
    with open_store(stack.settings) as conn:
        assert len(runs.recent(conn, repository_id=repository.id, limit=1000)) == before


# -- long work: backup, events, idempotency, restore, cancel --------------------------------------------------------


def test_a_backup_started_over_http_streams_its_events_to_the_end(api, repository, source):
    answer = api.as_("operate").call(
        "POST", "/api/v1/backups", body={"repository": repository.name, "sources": [str(source)]}
    )
    assert answer.status_code == 202, answer.text
    started = answer.json()
    assert answer.headers["location"].endswith(f"/api/v1/runs/{started['run_id']}")
    events = list(api.as_("read").events("/api/v1/runs/{run_id}/events", {"run_id": started["run_id"]}))
    kinds = [event for event, _ in events]
    assert kinds[-1] == "end" and kinds.count("end") == 1, kinds
    end = events[-1][1]
    assert end["status"] == "succeeded", end
    assert end["result"]["stats"]["files"] == 2
    shown = api.as_("read").call("GET", "/api/v1/runs/{run_id}", path={"run_id": started["run_id"]}).json()
    assert shown["state"] == "succeeded" and shown["record"]["status"] == "succeeded"
    assert shown["record"]["snapshot_id"] == end["result"]["snapshot_id"]
    snapshots = api.client.call(
        "GET", "/api/v1/repositories/{repository}/snapshots", path={"repository": repository.name}
    )
    assert end["result"]["snapshot_id"] in [s["id"] for s in snapshots.json()]


def test_a_retried_post_with_the_same_idempotency_key_starts_nothing_twice(api, stack, repository, source):
    key = {"Idempotency-Key": f"nightly-{uuid.uuid4()}"}
    body = {"repository": repository.name, "sources": [str(source / "docs")]}
    operator = api.as_("operate")
    first = operator.call("POST", "/api/v1/backups", body=body, headers=key)
    again = operator.call("POST", "/api/v1/backups", body=body, headers=key)
    assert first.status_code == again.status_code == 202
    assert first.json()["run_id"] == again.json()["run_id"]
    assert (first.json()["replayed"], again.json()["replayed"]) == (False, True)
    events = list(operator.events("/api/v1/runs/{run_id}/events", {"run_id": first.json()["run_id"]}))
    assert events[-1][1]["status"] == "succeeded"
    after_end = operator.call("POST", "/api/v1/backups", body=body, headers=key)
    assert after_end.json()["run_id"] == first.json()["run_id"] and after_end.json()["replayed"]
    other = operator.call("POST", "/api/v1/backups", body={**body, "sources": [str(source)]}, headers=key)
    assert problem_of(other, 422)["field"] == "header.Idempotency-Key"
    with open_store(stack.settings) as conn:
        assert (
            sum(1 for r in runs.recent(conn, repository_id=repository.id, limit=1000) if r.id == first.json()["run_id"])
            == 1
        )


def test_a_restore_over_http_lands_inside_the_roots(api, repository, source, workdir):
    snapshot = backup_to_end(api, repository, source)
    target = workdir / "restored"
    answer = api.as_("operate").call(
        "POST", "/api/v1/restores", body={"repository": repository.name, "snapshot": snapshot, "target": str(target)}
    )
    assert answer.status_code == 202, answer.text
    events = list(api.client.events("/api/v1/runs/{run_id}/events", {"run_id": answer.json()["run_id"]}))
    assert events[-1][1]["status"] == "succeeded", events[-1]
    restored = list(target.rglob("api-report.txt"))
    assert restored and restored[0].read_text() == "over HTTP\n" * 100


def test_a_backup_cancelled_over_http_ends_cancelled(api, stack, repository, tmp_path_factory):
    big = tmp_path_factory.mktemp("api-big")
    with open(big / "large.random", "wb") as out:
        for _ in range(1536):
            out.write(os.urandom(MiB))
    operator = api.as_("operate")
    started = operator.call("POST", "/api/v1/backups", body={"repository": repository.name, "sources": [str(big)]})
    run_id = started.json()["run_id"]
    seen: list[tuple[str, dict]] = []
    asked = False
    for event, data in operator.events("/api/v1/runs/{run_id}/events", {"run_id": run_id}):
        seen.append((event, data))
        if event == "progress" and data["bytes_done"] > 0 and not asked:
            cancelled = operator.call("POST", "/api/v1/runs/{run_id}/cancel", path={"run_id": run_id})
            assert cancelled.status_code == 202, cancelled.text
            asked = True
    assert asked, seen
    assert seen[-1][0] == "end" and seen[-1][1]["status"] == "cancelled", seen[-1]
    assert any(event == "progress" for event, _ in seen)
    again = operator.call("POST", "/api/v1/runs/{run_id}/cancel", path={"run_id": run_id})
    assert problem_of(again, 409)["detail"].startswith(f"run {run_id} is not running")


# -- listings: runs paged, catalog search, audit ------------------------------------------------------------------


def test_runs_page_by_cursor_without_gaps_or_repeats(api, repository, source):
    for _ in range(3):
        backup_to_end(api, repository, source / "docs")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"repository": repository.name, "limit": 1, **({"cursor": cursor} if cursor else {})}
        page = api.as_("read").call("GET", "/api/v1/runs", params=params).json()
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    whole = api.as_("read").call("GET", "/api/v1/runs", params={"repository": repository.name, "limit": 1000})
    assert seen == [r["id"] for r in whole.json()["items"]] and len(seen) >= 3
    failed = api.as_("read").call("GET", "/api/v1/runs", params={"status": "cancelled", "repository": repository.name})
    assert {r["status"] for r in failed.json()["items"]} <= {"cancelled"}


def test_catalog_search_pages_by_cursor(api, repository, source):
    backup_to_end(api, repository, source)
    deadline = time.monotonic() + 60
    hits: list[dict] = []
    while time.monotonic() < deadline and not hits:
        found = api.as_("read").call("GET", "/api/v1/catalog/search", params={"name": "api-report"})
        hits = [h for h in found.json()["items"] if h["location_id"] == repository.id]
        time.sleep(0.5)
    assert hits and hits[0]["path"].endswith("/docs/api-report.txt")
    everything: list[tuple] = []
    cursor = None
    for _ in range(50):
        params = {"repository_ids": repository.id, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.as_("read").call("GET", "/api/v1/catalog/search", params=params).json()
        everything += [(h["path"], h["location"], h["location_name"]) for h in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(everything) == len(set(everything)) and everything == sorted(everything)
    whole = api.as_("read").call(
        "GET", "/api/v1/catalog/search", params={"repository_ids": repository.id, "limit": 1000}
    )
    assert everything == [(h["path"], h["location"], h["location_name"]) for h in whole.json()["items"]]


def test_every_mutating_call_is_in_the_audit_log_refusals_too(api, repository, source):
    body = {"repository": repository.name, "sources": [str(source / "docs")]}
    run_id = api.as_("operate").call("POST", "/api/v1/backups", body=body).json()["run_id"]
    api.as_(None).call("POST", "/api/v1/backups", body={"repository": "x", "sources": ["/tmp"]})
    api.as_("read").call("POST", "/api/v1/runs/{run_id}/cancel", path={"run_id": "audit-probe"})
    entries = api.client.call("GET", "/api/v1/audit", params={"limit": 50}).json()["items"]
    anonymous = [e for e in entries if e["actor"] == "anonymous" and e["path"] == "/api/v1/backups"]
    assert anonymous and anonymous[0]["status"] == 401 and anonymous[0]["address"] == "127.0.0.1"
    probe = [e for e in entries if e["path"] == "/api/v1/runs/audit-probe/cancel"]
    assert probe and probe[0]["status"] == 403 and probe[0]["scope"] == "read"
    started = [e for e in entries if e["path"] == "/api/v1/backups" and e["status"] == 202]
    assert started and started[0]["detail"] == {"run_id": run_id, "replayed": False}
    assert list(api.client.events("/api/v1/runs/{run_id}/events", {"run_id": run_id}))[-1][1]["status"] == "succeeded"
    reads = api.client.call("GET", "/api/v1/audit", params={"limit": 1000}).json()["items"]
    refusals = api.client.call("GET", "/api/v1/audit", params={"limit": 1000, "refused": True}).json()["items"]
    assert refusals and all(e["status"] >= 400 for e in refusals)
    from_http = [e for e in reads if e["actor"] != "cli"]  # the CLI records token changes as its own
    assert from_http and all(e["method"] in ("POST", "PUT", "PATCH", "DELETE") for e in from_http)


# -- the listen rules and the failure throttle, on servers of their own ---------------------------------------------


def test_serve_refuses_an_address_beyond_loopback_without_tls(stack):
    done = syncoxide(stack, "serve", "--host", "0.0.0.0", "--port", str(free_port()), timeout=60)
    assert done.code != 0 and done.error_lines == [
        "error: --host 0.0.0.0 is beyond loopback: give --tls-cert and --tls-key or --insecure-behind-proxy "
        "with SYNCOXIDE_API_TRUSTED_PROXY set"
    ]
    done = syncoxide(stack, "serve", "--host", "0.0.0.0", "--insecure-behind-proxy", timeout=60)
    assert done.code != 0 and "SYNCOXIDE_API_TRUSTED_PROXY" in done.error_lines[0] and len(done.error_lines) == 1


def test_repeated_failures_from_one_address_are_slowed_to_429(stack):
    url, process = start_server(stack)
    try:
        client = ApiClient(url, "sxo_000000000000_" + "B" * 43)
        statuses = [client.call("GET", "/api/v1/runs").status_code for _ in range(12)]
        assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]
        blocked = client.with_token(make_token(stack, "read")).call("GET", "/api/v1/runs")
        assert problem_of(blocked, 429) and int(blocked.headers["retry-after"]) > 0
    finally:
        stop_server(process)


def test_tls_on_the_api(stack, workdir):
    from tests.e2e.tls import self_signed

    cert, key = self_signed(workdir, "127.0.0.1")
    trusted = ssl.create_default_context(cafile=str(cert))
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "syncoxide",
            "serve",
            "--port",
            str(port),
            "--tls-cert",
            str(cert),
            "--tls-key",
            str(key),
        ],
        env=stack.env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline, answer = time.monotonic() + 60, None
        while time.monotonic() < deadline and answer is None:
            try:
                answer = httpx.get(f"https://127.0.0.1:{port}/healthz", verify=trusted, timeout=2)
            except httpx.HTTPError:
                time.sleep(0.2)
        assert answer is not None and answer.status_code == 200
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    finally:
        stop_server(process)


# -- snapshot contents, folders and differences, from the catalog ----------------------------------------------------


def backup_to_end(api: Api, repository, root: Path) -> str:
    started = api.as_("operate").call(
        "POST", "/api/v1/backups", body={"repository": repository.name, "sources": [str(root)]}
    )
    end = list(api.client.events("/api/v1/runs/{run_id}/events", {"run_id": started.json()["run_id"]}))[-1][1]
    assert end["status"] == "succeeded", end
    return end["result"]["snapshot_id"]


@pytest.fixture(scope="module")
def two_snapshots(api, repository, tmp_path_factory) -> tuple[Path, str, str]:
    root = tmp_path_factory.mktemp("api-two")
    for i in range(7):
        (root / f"f{i}.txt").write_text(f"file {i}\n")
    (root / "sub").mkdir()
    (root / "sub" / "inner.txt").write_text("inside\n")
    first = backup_to_end(api, repository, root)
    (root / "f0.txt").write_text("changed, and longer\n")
    (root / "f1.txt").unlink()
    (root / "new.txt").write_text("new\n")
    second = backup_to_end(api, repository, root)
    deadline = time.monotonic() + 60
    for snapshot in (first, second):
        path = {"repository": repository.name, "snapshot": snapshot}
        while (
            api.client.call(
                "GET", "/api/v1/repositories/{repository}/snapshots/{snapshot}/children", path=path
            ).status_code
            != 200
        ):
            assert time.monotonic() < deadline, f"snapshot {snapshot} never reached the catalog"
            time.sleep(0.5)
    return root, first, second


def test_a_snapshots_contents_page_by_path(api, repository, two_snapshots):
    root, first, _ = two_snapshots
    path = {"repository": repository.name, "snapshot": first}
    template = "/api/v1/repositories/{repository}/snapshots/{snapshot}/entries"
    paged, cursor = [], None
    for _ in range(50):
        params = {"path": str(root), "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.as_("read").call("GET", template, path=path, params=params).json()
        paged += [e["path"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    whole = [e["path"] for e in api.client.call("GET", template, path=path, params={"path": str(root)}).json()["items"]]
    assert paged == whole == sorted(whole)
    assert {p.removeprefix(str(root)) for p in whole} == {
        "",
        *(f"/f{i}.txt" for i in range(7)),
        "/sub",
        "/sub/inner.txt",
    }
    children = (
        api.as_("read")
        .call(
            "GET",
            "/api/v1/repositories/{repository}/snapshots/{snapshot}/children",
            path=path,
            params={"directory": str(root)},
        )
        .json()
    )
    assert [c["name"] for c in children][0] == "sub" and len(children) == 8  # folders first


def test_two_snapshots_diff_paged(api, repository, two_snapshots):
    root, first, second = two_snapshots
    template = "/api/v1/repositories/{repository}/diff"
    changes, cursor = [], None
    for _ in range(20):
        params = {"older": first, "newer": second, "limit": 1, **({"cursor": cursor} if cursor else {})}
        page = api.as_("read").call("GET", template, path={"repository": repository.name}, params=params).json()
        changes += [(c["path"].removeprefix(str(root)), c["change"]) for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert ("/f0.txt", "modified") in changes and ("/f1.txt", "removed") in changes
    assert ("/new.txt", "added") in changes and not any(p.startswith("/sub") for p, _ in changes if p != "")


def test_a_snapshot_not_in_the_catalog_is_a_404_saying_how_to_add_it(api, repository):
    answer = api.as_("read").call(
        "GET",
        "/api/v1/repositories/{repository}/snapshots/{snapshot}/entries",
        path={"repository": repository.name, "snapshot": "0000000000"},
    )
    assert "catalog ingest" in problem_of(answer, 404)["detail"]


def test_usage_and_totals(api, repository, two_snapshots):
    usage = api.as_("read").call("GET", "/api/v1/catalog/usage").json()
    mine = [u for u in usage if u["repository"] == repository.name]
    assert mine and mine[0]["snapshots"] >= 2
    totals = (
        api.as_("read")
        .call("GET", "/api/v1/catalog/totals", params={"repository": repository.name, "snapshot": two_snapshots[2]})
        .json()
    )
    assert totals["files"] >= 8 and totals["by_extension"]
    both = api.as_("read").call("GET", "/api/v1/catalog/totals", params={"repository": "x", "source": "y"})
    assert problem_of(both, 422)["field"] == "query.source"


# -- policy files: plan as data, apply exactly the reviewed plan -----------------------------------------------------


def policy_upload(workdir: Path) -> dict:
    (workdir / "src").mkdir(exist_ok=True)
    (workdir / "src" / "doc.txt").write_text("policy data\n")
    (workdir / "pass").write_text("api policy passphrase\n")
    name = workdir.name.lower()
    content = f"""\
repositories:
  apivault-{name}:
    engine: restic
    location: {workdir / "vault"}
    passphrase: file:{workdir / "pass"}
sources:
  apidocs-{name}:
    paths: [{workdir / "src"}]
policies:
  apidocs-{name}:
    source: apidocs-{name}
    repository: apivault-{name}
    schedule:
      every: 1000d
"""
    return {"files": [{"name": "api.yaml", "content": content}]}


def test_a_policy_plan_is_data_and_apply_takes_only_that_plan(api, workdir):
    body = policy_upload(workdir)
    name = workdir.name.lower()
    assert problem_of(api.as_("operate").call("POST", "/api/v1/policies/plan", body=body), 403)
    planned = api.client.call("POST", "/api/v1/policies/plan", body=body).json()
    mine = {(c["kind"], c["action"]) for c in planned["changes"] if name in c["name"]}
    assert mine == {("repository", "create"), ("policy", "create")}
    stale = api.client.call("POST", "/api/v1/policies/apply", body={**body, "plan": "0" * 64})
    assert problem_of(stale, 409)["field"] == "body.plan"
    applied = api.client.call("POST", "/api/v1/policies/apply", body={**body, "plan": planned["plan"]}).json()
    assert {(c["kind"], c["action"]) for c in applied["applied"] if name in c["name"]} == mine
    again = api.client.call("POST", "/api/v1/policies/plan", body=body).json()
    assert {c["action"] for c in again["changes"] if name in c["name"]} == {"unchanged"}
    assert problem_of(
        api.client.call("POST", "/api/v1/policies/apply", body={**body, "plan": planned["plan"]}), 409
    )  # the plan it was made from is done: a second apply of it is refused, not repeated


def test_a_bad_policy_file_lists_every_problem_with_its_line(api):
    content = (
        "repositories:\n  r:\n    engine: tar\n    location: /x\n    passphrase: env:P\n"
        "  q:\n    engine: zip\n    location: /y\n    passphrase: env:P\n"
    )
    answer = api.client.call(
        "POST", "/api/v1/policies/plan", body={"files": [{"name": "bad.yaml", "content": content}]}
    )
    refused = problem_of(answer, 422)
    assert refused["field"] == "body.files" and len(refused["problems"]) == 2, refused
    assert refused["problems"][0].startswith("bad.yaml:3 repositories.r.engine"), refused
    relative = "sync:\n  s:\n    source: rel/dir\n    destination: /tmp/abs\n"
    answer = api.client.call("POST", "/api/v1/policies/plan", body={"files": [{"name": "s.yaml", "content": relative}]})
    assert problem_of(answer, 422)["problems"] == [
        "s.yaml:3 sync.s.source: a policy sent over the API lies nowhere: give an absolute path"
    ]
    named = api.client.call("POST", "/api/v1/policies/plan", body={"files": [{"name": "../x.yaml", "content": ""}]})
    assert problem_of(named, 422)["field"] == "body.files.0.name"


# -- sync pairs ------------------------------------------------------------------------------------------------------


def wait_pair(api: Api, workflow_id: str, ready, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        shown = api.as_("read").call("GET", "/api/v1/sync/pairs/{pair}", path={"pair": workflow_id})
        if shown.status_code == 200 and ready(shown.json()):
            return shown.json()
        assert time.monotonic() < deadline, shown.text
        time.sleep(0.3)


def test_a_sync_pair_is_listed_paused_resumed_run_and_stopped_over_http(api, stack, workdir):
    src, dst = workdir / "src", workdir / "dst"
    src.mkdir()
    (src / "a.txt").write_text("alpha")
    dst.mkdir()
    started = syncoxide(stack, "sync", "start", str(src), str(dst), "--mode", "sync", "--every", "1h", "--json")
    assert started.code == 0, started.stderr
    wid = started.json["workflow_id"]
    first = wait_pair(api, wid, lambda p: p["passes"] == 1 and p["state"] == "waiting")
    assert first["running"] and first["source"] == str(src) and (dst / "a.txt").read_text() == "alpha"
    assert wid in [p["workflow_id"] for p in api.as_("read").call("GET", "/api/v1/sync/pairs").json()]

    def act(action: str) -> dict:
        done = api.as_("operate").call(
            "POST", "/api/v1/sync/pairs/{pair}/{action}", path={"pair": wid, "action": action}
        )
        assert done.status_code == 202, done.text
        return done.json()

    act("pause")
    wait_pair(api, wid, lambda p: p["paused"])
    act("resume")
    wait_pair(api, wid, lambda p: not p["paused"])
    (src / "b.txt").write_text("beta")
    assert act("now")["detail"] == "runs a pass now"
    wait_pair(api, wid, lambda p: p["passes"] == 2 and p["state"] == "waiting")
    assert (dst / "b.txt").read_text() == "beta"
    assert act("stop")["detail"] == "stopped"
    assert wait_pair(api, wid, lambda p: not p["running"])["state"] == "stopped"
    unknown = api.as_("operate").call(
        "POST", "/api/v1/sync/pairs/{pair}/{action}", path={"pair": "sync-nothing", "action": "explode"}
    )
    assert problem_of(unknown, 422)["field"] == "path.action"


# -- cleanup plans ----------------------------------------------------------------------------------------------------


def test_a_cleanup_plan_made_reviewed_applied_and_undone_over_http(api, stack, workdir):
    root = workdir / "home"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "report.pdf").write_bytes(b"%PDF " * 1000)
    (root / "docs" / "report copy.pdf").write_bytes(b"%PDF " * 1000)
    (root / "draft.tmp").write_text("scratch")
    (root / "code" / "__pycache__").mkdir(parents=True)
    (root / "code" / "__pycache__" / "m.pyc").write_bytes(b"\0" * 100)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    name = f"apiclean-{uuid.uuid4().hex[:6]}"
    assert syncoxide(stack, "source", "add", name, "--root", str(root), "--hash", "xxh3").code == 0
    assert syncoxide(stack, "scan", name).code == 0
    operator = api.as_("operate")

    assert problem_of(api.as_("read").call("POST", "/api/v1/cleanup/plans", body={"source": name}), 403)
    bad = operator.call("POST", "/api/v1/cleanup/plans", body={"source": name, "keep_days": -1})
    assert problem_of(bad, 422)["field"] == "body.keep_days"
    made = operator.call("POST", "/api/v1/cleanup/plans", body={"source": name})
    assert made.status_code == 201, made.text
    plan = made.json()["plan"]
    reasons = {(Path(i["path"]).name, i["reason"]) for i in made.json()["items"]["items"]}
    assert ("draft.tmp", "junk") in reasons and any(r == "duplicate" for _, r in reasons), reasons
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before  # a plan touches nothing

    paged, cursor = [], None
    for _ in range(20):
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = api.as_("read").call(
            "GET", "/api/v1/cleanup/plans/{plan_id}", path={"plan_id": plan["id"]}, params=params
        )
        paged += [i["seq"] for i in page.json()["items"]["items"]]
        cursor = page.json()["items"]["next_cursor"]
        if cursor is None:
            break
    assert paged == sorted(i["seq"] for i in made.json()["items"]["items"])
    assert plan["id"] in [p["id"] for p in api.as_("read").call("GET", "/api/v1/cleanup/plans").json()]

    path = {"plan_id": plan["id"], "action": "apply"}
    applied = operator.call("POST", "/api/v1/cleanup/plans/{plan_id}/{action}", path=path)
    assert applied.status_code == 202, applied.text
    end = list(operator.events("/api/v1/runs/{run_id}/events", {"run_id": applied.json()["run_id"]}))[-1][1]
    assert end["status"] == "succeeded" and end["result"]["moved"] == len(paged), end
    assert not (root / "draft.tmp").exists()
    undone = operator.call("POST", "/api/v1/cleanup/plans/{plan_id}/{action}", path={**path, "action": "undo"})
    end = list(operator.events("/api/v1/runs/{run_id}/events", {"run_id": undone.json()["run_id"]}))[-1][1]
    assert end["status"] == "succeeded", end
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and ".syncoxide-trash" not in str(p)} == before
    missing = api.as_("read").call("GET", "/api/v1/cleanup/plans/{plan_id}", path={"plan_id": "cleanup-nothing"})
    assert problem_of(missing, 404)


# -- repositories made over HTTP -------------------------------------------------------------------------------------


def test_an_admin_creates_a_repository_and_a_second_one_there_is_a_409(api, workdir):
    (workdir / "pass").write_text("made over http\n")
    body = {
        "engine": "restic",
        "location": str(workdir / "repo"),
        "name": f"made-{workdir.name.lower()}",
        "passphrase": f"file:{workdir / 'pass'}",
    }
    assert problem_of(api.as_("operate").call("POST", "/api/v1/repositories", body=body), 403)
    made = api.client.call("POST", "/api/v1/repositories", body=body)
    assert made.status_code == 201, made.text
    assert made.json()["name"] == body["name"] and (workdir / "repo" / "config").exists()
    assert made.headers["location"].endswith(f"/api/v1/repositories/{body['name']}")
    again = api.client.call("POST", "/api/v1/repositories", body=body)
    assert "already registered" in problem_of(again, 409)["detail"]
    wrong = api.client.call("POST", "/api/v1/repositories", body={**body, "passphrase": "hunter2"})
    refused = problem_of(wrong, 422)
    assert refused["field"] == "body.passphrase" and "hunter2" not in wrong.text


# -- the codec protocol under the API's tokens ------------------------------------------------------------------------


def test_the_temporal_cli_decodes_through_the_api_with_a_read_token(api, stack, repository, source):
    started = api.as_("operate").call(
        "POST", "/api/v1/backups", body={"repository": repository.name, "sources": [str(source / "docs")]}
    )
    run_id = started.json()["run_id"]
    assert list(api.client.events("/api/v1/runs/{run_id}/events", {"run_id": run_id}))[-1][1]["status"] == "succeeded"

    def show(*codec: str) -> str:
        done = subprocess.run(
            [
                stack.settings.tools.temporal,
                "workflow",
                "show",
                "--address",
                stack.settings.temporal_target,
                "--workflow-id",
                run_id,
                "--output",
                "json",
                *codec,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    sealed = show()
    assert repository.id not in sealed and "YmluYXJ5L2VuY3J5cHRlZA" in sealed  # base64 of binary/encrypted
    opened = show("--codec-endpoint", f"{api.url}/api/v1/codec", "--codec-auth", f"Bearer {api.tokens['read']}")
    assert "anNvbi9wbGFpbg" in opened  # base64 of json/plain: the input came back readable
    refused = subprocess.run(
        [
            stack.settings.tools.temporal,
            "workflow",
            "show",
            "--address",
            stack.settings.temporal_target,
            "--workflow-id",
            run_id,
            "--codec-endpoint",
            f"{api.url}/api/v1/codec",
            "--codec-auth",
            "Bearer nope",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0 or "anNvbi9wbGFpbg" not in refused.stdout


def test_encoding_is_admin_only_and_round_trips(api):
    plain = {"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "eyJhIjogMX0="}]}
    assert problem_of(api.as_("operate").call("POST", "/api/v1/codec/encode", body=plain), 403)
    sealed = api.client.call("POST", "/api/v1/codec/encode", body=plain).json()
    assert sealed["payloads"][0]["data"] != plain["payloads"][0]["data"]
    opened = api.as_("read").call("POST", "/api/v1/codec/decode", body=sealed).json()
    assert opened == plain
    tampered = {"payloads": [{**sealed["payloads"][0], "data": "AAAA" + sealed["payloads"][0]["data"][4:]}]}
    assert problem_of(api.as_("read").call("POST", "/api/v1/codec/decode", body=tampered), 422)["field"] == "body"


def test_an_admin_starts_a_pair_over_http_and_an_operator_checks_its_sides(api, workdir):
    src, dst = workdir / "src", workdir / "dst"
    src.mkdir()
    (src / "one.txt").write_text("one")
    (src / "two.txt").write_text("two")
    body = {"name": f"api-{workdir.name.lower()}", "pair": {"source": str(src), "destination": str(dst)}}
    assert problem_of(api.as_("operate").call("POST", "/api/v1/sync/pairs", body=body), 403)
    relative = {**body, "pair": {"source": "rel/src", "destination": str(dst)}}
    assert problem_of(api.client.call("POST", "/api/v1/sync/pairs", body=relative), 422)["field"] == "body.pair.source"
    started = api.client.call("POST", "/api/v1/sync/pairs", body=body)
    assert started.status_code == 202, started.text
    assert started.json() == {"workflow_id": f"sync-{body['name']}", "schedule": "once"}
    wait_pair(api, started.json()["workflow_id"], lambda p: not p["running"] and p["last_run"])
    assert (dst / "two.txt").read_text() == "two"

    check = {"pair": {"source": str(src), "destination": str(dst)}}
    assert problem_of(api.as_("read").call("POST", "/api/v1/sync/pairs/check", body=check), 403)
    clean = api.as_("operate").call("POST", "/api/v1/sync/pairs/check", body=check).json()
    assert clean["clean"] and clean["matching"] == 2
    (dst / "two.txt").write_text("TWO")
    (src / "three.txt").write_text("three")
    dirty = api.as_("operate").call("POST", "/api/v1/sync/pairs/check", body=check).json()
    assert not dirty["clean"] and dirty["differ"] == ["two.txt"] and dirty["only_source"] == ["three.txt"]


def test_status_and_a_paths_versions(api, repository, two_snapshots):
    status = api.as_("read").call("GET", "/api/v1/status").json()
    assert isinstance(status["ok"], bool)
    assert repository.name in [r["repository"] for r in status["repositories"]]
    root, first, second = two_snapshots
    versions = (
        api.as_("read")
        .call("GET", "/api/v1/catalog/versions", params={"path": str(root / "f0.txt"), "repository": repository.id})
        .json()
    )
    mine = [(v["snapshot_id"], v["state"]) for v in versions if v["snapshot_id"] in (first, second)]
    assert mine == [(first, "added"), (second, "changed")]  # (the repository's other snapshots lack the file)
