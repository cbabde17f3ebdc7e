"""A PostgreSQL database as a source: pg_dump streamed through the workflow, dropped, restored, compared."""

from __future__ import annotations

import os

import psycopg
import pytest
from psycopg import sql

from syncoxide.store import embedded
from tests.e2e.cli import syncoxide

pytestmark = pytest.mark.e2e
URL_ENV = "SXT_SOURCE_DB_URL"


@pytest.fixture(scope="module")
def server_url(stack) -> str:
    url = embedded.running_url(stack.settings.pgdata).replace(f"/{embedded.DATABASE}?", "/postgres?")
    os.environ[URL_ENV] = url
    return url


def make_shop(url: str, name: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(url.replace("/postgres?", f"/{name}?"), autocommit=True) as conn:
        conn.execute("CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, joined date)")
        conn.execute("CREATE TABLE orders (id serial PRIMARY KEY, customer int REFERENCES customers, total numeric)")
        conn.execute(
            "INSERT INTO customers (name, joined) SELECT 'customer ' || g, DATE '2020-01-01' + g"
            " FROM generate_series(1, 5000) g"
        )
        conn.execute(
            "INSERT INTO orders (customer, total) SELECT 1 + g % 5000, g * 1.25 FROM generate_series(1, 20000) g"
        )
        conn.execute("CREATE INDEX orders_customer ON orders (customer)")


def fingerprint(url: str, name: str) -> dict[str, tuple[int, str]]:
    result = {}
    with psycopg.connect(url.replace("/postgres?", f"/{name}?")) as conn:
        for table in ("customers", "orders"):
            count, digest = conn.execute(
                sql.SQL("SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t.id)) FROM {} t").format(
                    sql.Identifier(table)
                )
            ).fetchone()
            result[table] = (count, digest)
    return result


@pytest.mark.parametrize("engine", ["borg", "restic"])
def test_dump_drop_restore_compare(stack, workdir, server_url, engine):
    shop = f"shop_{engine}"
    make_shop(server_url, shop)
    before = fingerprint(server_url, shop)
    assert before["customers"][0] == 5000 and before["orders"][0] == 20000

    listed = syncoxide(stack, "db-list", "--database-url", f"env:{URL_ENV}", "--json", env={URL_ENV: server_url})
    assert listed.code == 0, listed.stderr
    assert shop in listed.json and "template0" not in listed.json

    secret = workdir / "pass"
    secret.write_text("db pass\n")
    name = f"db-{engine}"
    assert (
        syncoxide(
            stack,
            "repo",
            "init",
            "--engine",
            engine,
            "--repo",
            str(workdir / "repo"),
            "--name",
            name,
            "--passphrase-file",
            str(secret),
        ).code
        == 0
    )
    done = syncoxide(stack, "backup", "--repo", name, "--database", shop, "--database-url", f"env:{URL_ENV}", "--json")
    assert done.code == 0, done.stderr
    snapshot = done.json["snapshot_id"]
    assert server_url not in done.stdout

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(shop)))

    restored = syncoxide(
        stack,
        "db-restore",
        "--repo",
        name,
        "--snapshot",
        snapshot,
        "--database",
        shop,
        "--into",
        shop,
        "--database-url",
        f"env:{URL_ENV}",
        env={URL_ENV: server_url},
    )
    assert restored.code == 0, restored.stderr
    assert fingerprint(server_url, shop) == before

    again = syncoxide(
        stack,
        "db-restore",
        "--repo",
        name,
        "--snapshot",
        snapshot,
        "--database",
        shop,
        "--into",
        shop,
        "--database-url",
        f"env:{URL_ENV}",
        env={URL_ENV: server_url},
    )
    assert again.code == 1 and "exists already" in again.stderr


def test_unknown_database_fails_cleanly(stack, workdir, server_url):
    secret = workdir / "pass"
    secret.write_text("db pass\n")
    assert (
        syncoxide(
            stack,
            "repo",
            "init",
            "--engine",
            "restic",
            "--repo",
            str(workdir / "repo"),
            "--name",
            "db-missing",
            "--passphrase-file",
            str(secret),
        ).code
        == 0
    )
    done = syncoxide(
        stack, "backup", "--repo", "db-missing", "--database", "no_such_db", "--database-url", f"env:{URL_ENV}"
    )
    assert done.code == 1
    assert "database 'no_such_db': not found" in done.stderr
