"""API tokens and the audit log on the real embedded PostgreSQL (no Temporal), and `syncoxide token ...` as a
subprocess: a token is printed once, listings never show it or its digest, a revoked token lets nobody in."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from syncoxide.api.tokens import Scope, new_token, token_key
from syncoxide.config import Settings
from syncoxide.errors import InvalidInput, NotFound
from syncoxide.store import audit, embedded, open_store
from syncoxide.store import tokens as store


@pytest.fixture(scope="module")
def settings() -> Iterator[Settings]:
    home = Path(tempfile.mkdtemp(prefix="sxa-", dir="/tmp"))
    base = Settings(home=home)
    url = embedded.start(base.pgdata)
    yield base.model_copy(update={"database_url": url})
    embedded.stop(base.pgdata)
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture()
def conn(settings: Settings) -> Iterator[psycopg.Connection]:
    with open_store(settings) as connection:
        yield connection


@pytest.fixture()
def key(settings: Settings) -> bytes:
    return token_key(settings)


def stored_digest(conn: psycopg.Connection, token_id: str) -> str:
    row = conn.execute("SELECT digest FROM api_tokens WHERE id = %s", (token_id,)).fetchone()
    assert row is not None
    return str(row[0])


def test_a_token_lets_in_as_itself_and_nothing_else_does(conn: psycopg.Connection, key: bytes) -> None:
    made, text = store.create(conn, key, name="ci-reader", scope=Scope.read, expires=None)
    assert (made.name, made.scope, made.state, made.expires_at, made.last_used_at) == (
        "ci-reader",
        Scope.read,
        "active",
        None,
        None,
    )
    assert text.startswith(f"sxo_{made.id}_")
    found = store.authenticate(conn, key, text)
    assert found is not None and (found.id, found.name, found.scope) == (made.id, "ci-reader", Scope.read)
    assert found.last_used_at is not None
    assert stored_digest(conn, made.id) not in repr(found) and text not in repr(found)
    assert "digest" not in repr(found)
    wrong_secret = text[:-1] + ("A" if text[-1] != "A" else "B")
    unknown_id = "sxo_" + ("f" * 12 if made.id != "f" * 12 else "e" * 12) + text[16:]  # the right secret
    for refused in (wrong_secret, unknown_id, new_token()[1], "", text + "x", text.upper(), " " + text):
        assert store.authenticate(conn, key, refused) is None
    assert store.authenticate(conn, b"another-key-of-enough-length", text) is None


def test_an_unknown_id_is_compared_like_a_known_one(
    conn: psycopg.Connection, key: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[str, str]] = []
    real = store.hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(store.hmac, "compare_digest", spy)
    assert store.authenticate(conn, key, new_token()[1]) is None
    assert len(compared) == 1 and len(compared[0][0]) == len(compared[0][1]) == 64


def test_names_are_checked_and_one_live_token_has_a_name(conn: psycopg.Connection, key: bytes) -> None:
    store.create(conn, key, name="dup", scope=Scope.operate, expires=timedelta(days=1))
    with pytest.raises(InvalidInput, match="^name 'dup': an active token has that name"):
        store.create(conn, key, name="dup", scope=Scope.admin, expires=None)
    for bad in ("", "x" * 65, "has space", "slash/no", "nul\x00", "é", "0123456789ab"):
        with pytest.raises(InvalidInput, match="^name ") as refused:
            store.create(conn, key, name=bad, scope=Scope.read, expires=None)
        assert "\n" not in str(refused.value)
    assert store.create(conn, key, name="x" * 64, scope=Scope.read, expires=None)[0].name == "x" * 64
    with pytest.raises(InvalidInput, match="^scope 'root'"):
        store.create(conn, key, name="scoped", scope="root", expires=None)  # type: ignore[arg-type]
    for bad_life in (timedelta(0), timedelta(seconds=-1), timedelta(days=40_000)):
        with pytest.raises(InvalidInput, match="^expires: "):
            store.create(conn, key, name="lifetime", scope=Scope.read, expires=bad_life)
    assert [t.name for t in store.list_tokens(conn)].count("dup") == 1


def test_an_expired_token_is_refused_and_gives_its_name_up(conn: psycopg.Connection, key: bytes) -> None:
    made, text = store.create(conn, key, name="short-lived", scope=Scope.admin, expires=timedelta(days=90))
    assert made.expires_at is not None
    assert timedelta(days=89) < made.expires_at - datetime.now(UTC) <= timedelta(days=90)
    conn.execute("UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = %s", (made.id,))
    assert store.authenticate(conn, key, text) is None
    listed = {t.id: t for t in store.list_tokens(conn)}
    assert listed[made.id].state == "expired"
    again, again_text = store.create(conn, key, name="short-lived", scope=Scope.read, expires=None)
    assert store.authenticate(conn, key, again_text) is not None
    assert store.authenticate(conn, key, text) is None
    everything = {t.id: t for t in store.list_tokens(conn, include_revoked=True)}
    assert everything[made.id].state == "revoked" and everything[again.id].state == "active"
    assert made.id not in {t.id for t in store.list_tokens(conn)}


def test_revoked_by_name_or_id_a_token_lets_nobody_in(conn: psycopg.Connection, key: bytes) -> None:
    by_name, name_text = store.create(conn, key, name="to-revoke", scope=Scope.operate, expires=None)
    by_id, id_text = store.create(conn, key, name="to-revoke-by-id", scope=Scope.operate, expires=None)
    assert store.revoke(conn, "to-revoke").id == by_name.id
    gone = store.revoke(conn, by_id.id)
    assert gone.name == "to-revoke-by-id" and gone.state == "revoked" and gone.revoked_at is not None
    assert store.authenticate(conn, key, name_text) is None and store.authenticate(conn, key, id_text) is None
    for absent in ("to-revoke", by_id.id, "never-made", "", "nul\x00", "x" * 10_000):
        with pytest.raises(NotFound, match="^no API token .* to revoke"):
            store.revoke(conn, absent)
    live = {t.id for t in store.list_tokens(conn)}
    assert by_name.id not in live and by_id.id not in live
    assert {by_name.id, by_id.id} <= {t.id for t in store.list_tokens(conn, include_revoked=True)}
    assert store.create(conn, key, name="to-revoke", scope=Scope.read, expires=None)[0].state == "active"


def test_last_used_is_written_at_most_once_a_minute(conn: psycopg.Connection, key: bytes) -> None:
    made, text = store.create(conn, key, name="busy", scope=Scope.read, expires=None)
    first = store.authenticate(conn, key, text)
    assert first is not None and first.last_used_at is not None
    second = store.authenticate(conn, key, text)
    assert second is not None and second.last_used_at == first.last_used_at

    def stored() -> datetime:
        row = conn.execute("SELECT last_used_at FROM api_tokens WHERE id = %s", (made.id,)).fetchone()
        assert row is not None
        return row[0]

    assert stored() == first.last_used_at
    conn.execute("UPDATE api_tokens SET last_used_at = now() - interval '61 seconds' WHERE id = %s", (made.id,))
    earlier = stored()
    third = store.authenticate(conn, key, text)
    assert third is not None and third.last_used_at is not None and third.last_used_at > earlier
    assert stored() == third.last_used_at


def test_the_audit_log_pages_newest_first_by_id(conn: psycopg.Connection) -> None:
    for i in range(5):
        audit.record(
            conn,
            actor="pager",
            scope="operate",
            method="POST",
            path=f"/api/v1/backups/{i}",
            status=202,
            address="127.0.0.1",
            target=f"t{i}",
            detail={"n": i, "at": datetime(2024, 1, 1, tzinfo=UTC)},
        )
    audit.record(conn, actor="other", scope=None, method="DELETE", path="/x", status=401, address=None)
    first = audit.recent(conn, limit=2, actor="pager")
    assert [e.path for e in first] == ["/api/v1/backups/4", "/api/v1/backups/3"]
    assert first[0].detail == {"n": 4, "at": "2024-01-01 00:00:00+00:00"} and first[0].target == "t4"
    assert (first[0].actor, first[0].scope, first[0].method, first[0].status) == ("pager", "operate", "POST", 202)
    rest = audit.recent(conn, limit=10, before=first[-1].id, actor="pager")
    assert [e.path for e in rest] == ["/api/v1/backups/2", "/api/v1/backups/1", "/api/v1/backups/0"]
    assert audit.recent(conn, limit=10, before=rest[-1].id, actor="pager") == []
    newest = audit.recent(conn, limit=1)[0]
    assert (newest.actor, newest.scope, newest.address, newest.target, newest.detail) == ("other", None, None, None, {})
    ids = [e.id for e in audit.recent(conn, limit=100)]
    assert ids == sorted(ids, reverse=True)
    assert audit.recent(conn, before=2**70) and audit.recent(conn, actor="nul\x00") == []
    with pytest.raises(InvalidInput, match="^limit 0"):
        audit.recent(conn, limit=0)


def test_what_postgresql_refuses_is_recorded_escaped(conn: psycopg.Connection) -> None:
    audit.record(
        conn,
        actor="prober",
        scope=None,
        method="POST",
        path="/api/v1/\x00" + "a" * 10_000,
        status=404,
        address="10.0.0.9",
        detail={"k\x00": ["v\x00", 1]},
    )
    entry = audit.recent(conn, limit=1, actor="prober")[0]
    assert entry.path.startswith("/api/v1/\\x00aaa") and len(entry.path) == audit.TEXT_AT_MOST
    assert entry.detail == {"k\\x00": ["v\\x00", 1]}


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SYNCOXIDE_HOME": str(settings.home),
        "SYNCOXIDE_DATABASE_URL": str(settings.database_url),
        "COLUMNS": "200",  # the table unwrapped
    }
    env.pop("SYNCOXIDE_API_TOKEN_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "syncoxide", "token", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_the_cli_shows_a_token_once_lists_without_it_and_revokes_it(settings: Settings, key: bytes) -> None:
    made = cli(settings, "create", "--name", "cli-made", "--scope", "operate", "--expires", "90d")
    assert made.returncode == 0, made.stderr
    text = made.stdout.strip()
    assert made.stdout == text + "\n" and "\n" not in text  # stdout is the token alone: TOKEN=$(...) works
    assert "shown only now" in made.stderr and text not in made.stderr
    assert "cli-made" in made.stderr and "scope operate" in made.stderr
    as_json = cli(settings, "create", "--name", "cli-json", "--scope", "read", "--json")
    assert as_json.returncode == 0, as_json.stderr
    shown = json.loads(as_json.stdout)
    assert set(shown) == {"id", "name", "scope", "expires_at", "token"}
    assert (shown["name"], shown["scope"], shown["expires_at"]) == ("cli-json", "read", None)

    with open_store(settings) as conn:
        found = store.authenticate(conn, key, text)
        assert found is not None and found.name == "cli-made" and found.scope == Scope.operate
        assert found.expires_at is not None and found.expires_at - datetime.now(UTC) > timedelta(days=89)
        assert store.authenticate(conn, key, shown["token"]) is not None
        digests = [stored_digest(conn, found.id), stored_digest(conn, shown["id"])]

    listings = [cli(settings, "list"), cli(settings, "list", "--json"), cli(settings, "list", "--all", "--json")]
    for listing in listings:
        assert listing.returncode == 0, listing.stderr
        for secret in (text, shown["token"], *digests):
            assert secret not in listing.stdout and secret not in listing.stderr
        assert text[17:] not in listing.stdout and shown["token"][17:] not in listing.stdout  # nor the secret
    table = listings[0].stdout
    assert "cli-made" in table and "operate" in table and "active" in table and found.id in table
    for header in ("id", "name", "scope", "state", "created", "expires", "last used"):
        assert header in table
    rows = {t["name"]: t for t in json.loads(listings[1].stdout)}
    assert rows["cli-made"]["state"] == "active" and rows["cli-made"]["last_used_at"] is not None
    assert "token" not in rows["cli-made"] and "digest" not in rows["cli-made"]

    twice = cli(settings, "create", "--name", "cli-made", "--scope", "read")
    assert twice.returncode == 1 and twice.stdout == ""
    assert twice.stderr == "error: name 'cli-made': an active token has that name (revoke it first)\n"
    bad_life = cli(settings, "create", "--name", "cli-life", "--scope", "read", "--expires", "90 days")
    assert bad_life.returncode == 1 and bad_life.stderr.startswith("error: duration '90 days'")
    bad_scope = cli(settings, "create", "--name", "cli-scope", "--scope", "root")
    assert bad_scope.returncode == 2 and len(bad_scope.stderr.strip().splitlines()) == 1

    revoked = cli(settings, "revoke", "cli-made", "--json")
    assert revoked.returncode == 0, revoked.stderr
    assert json.loads(revoked.stdout)["state"] == "revoked"
    plain = cli(settings, "revoke", shown["id"])
    assert plain.returncode == 0 and plain.stdout.strip() == f"revoked token cli-json ({shown['id']})"
    again = cli(settings, "revoke", "cli-made")
    assert again.returncode == 1 and again.stderr.startswith("error: no API token 'cli-made' to revoke")
    with open_store(settings) as conn:
        assert store.authenticate(conn, key, text) is None
        assert store.authenticate(conn, key, shown["token"]) is None
        entries = audit.recent(conn, actor="cli")
    done = [(e.path, e.target, e.status, e.method) for e in reversed(entries)]
    assert done == [
        ("token create", found.id, 201, "CLI"),
        ("token create", shown["id"], 201, "CLI"),
        ("token revoke", found.id, 200, "CLI"),
        ("token revoke", shown["id"], 200, "CLI"),
    ]
    assert entries[-1].detail["name"] == "cli-made" and entries[-1].detail["scope"] == "operate"
    assert all(text not in json.dumps(e.detail) for e in entries)
    all_listed = json.loads(cli(settings, "list", "--all", "--json").stdout)
    assert {t["name"]: t["state"] for t in all_listed}["cli-made"] == "revoked"
    assert "cli-made" not in cli(settings, "list").stdout
