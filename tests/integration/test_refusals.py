"""What is refused before anything is stored or started, through the real `syncoxide` command against the
embedded PostgreSQL: credentials inside locations, schedules Temporal would refuse, policy files that
are not what they seem. Temporal's address points at a closed port: nothing here may get that far."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from syncoxide.config import Settings
from syncoxide.store import open_store, policies, repositories
from syncoxide.store import sync as sync_store
from tests.integration.sync_helpers import scratch, sync_settings  # noqa: F401 - fixtures
from tests.servers import free_port

SECRET = "hunter2Zq"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


@pytest.fixture()
def cli(sync_settings: Settings, scratch: Path):  # noqa: F811 - fixtures
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(scratch),
        "SYNCOXIDE_HOME": str(sync_settings.home),
        "SYNCOXIDE_DATABASE_URL": sync_settings.database_url,
        "SYNCOXIDE_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
    }

    def run(*args: str) -> Result:
        done = subprocess.run(
            [sys.executable, "-m", "syncoxide", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=scratch,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    return run


def nothing_stored(
    settings: Settings,
    *,
    repository: str | None = None,
    location: str | None = None,
    policy: str | None = None,
    pair: str | None = None,
) -> bool:
    with open_store(settings) as conn:
        known = repositories.list_all(conn)
        return (
            not any(r.name == repository or SECRET in r.location or r.location == location for r in known)
            and policy not in policies.active(conn)
            and pair not in sync_store.declared_pairs(conn)
        )


def refused_in_one_line(result: Result) -> str:
    assert result.code == 1, (result.code, result.stdout, result.stderr)
    assert len(result.lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and "unexpected" not in result.stderr
    assert SECRET not in result.stderr + result.stdout
    return result.lines[0]


@pytest.mark.parametrize(
    ("engine", "location"),
    [
        ("borg", f"ssh://ann:{SECRET}@127.0.0.1:1/./vault"),
        ("restic", f"rest:http://ann:{SECRET}@127.0.0.1:1/vault"),
        ("restic", f"sftp://ann:{SECRET}@127.0.0.1:1//srv/vault"),
    ],
)
def test_repo_init_and_add_refuse_a_password_in_the_location(cli, sync_settings, engine, location):  # noqa: F811
    for verb in ("init", "add"):
        line = refused_in_one_line(
            cli(
                "repo",
                verb,
                "--repo",
                location,
                "--engine",
                engine,
                "--passphrase-env",
                "VAULT_PASS",
                "--name",
                f"cred-{engine}",
            )
        )
        assert line.startswith("error: repository location: the URL holds a password"), line
        assert "SSH key" in line and "env:NAME" in line
    assert nothing_stored(sync_settings, repository=f"cred-{engine}")


@pytest.mark.parametrize(
    "side",
    [
        f"sftp://ann:{SECRET}@127.0.0.1:1/srv",
        f"s3://AKIA:{SECRET}@bucket/x",
        f"webdav:https://ann:{SECRET}@h/dav",
        f"rclone:remote,pass={SECRET}:x",
    ],
)
def test_sync_start_and_run_refuse_a_side_with_a_secret(cli, sync_settings, scratch, side):  # noqa: F811
    for verb in ("start", "run"):
        line = refused_in_one_line(cli("sync", verb, side, str(scratch / "dst"), "--pair", "cred-pair"))
        assert line.startswith("error: side ") and "location: " in line and "env:NAME" in line, line
    assert not (scratch / "dst").exists()
    assert nothing_stored(sync_settings, pair="cred-pair")


def test_sync_start_refuses_a_url_option_with_a_password(cli, sync_settings, scratch):  # noqa: F811
    line = refused_in_one_line(
        cli(
            "sync",
            "start",
            "s3://bucket/x",
            str(scratch / "dst"),
            "--src-opt",
            f"endpoint_url=https://k:{SECRET}@127.0.0.1:1",
            "--pair",
            "cred-opt",
        )
    )
    assert "options.endpoint_url: the URL holds a password" in line
    assert nothing_stored(sync_settings, pair="cred-opt")


def test_policy_plan_and_apply_refuse_locations_with_secrets(cli, sync_settings, scratch):  # noqa: F811
    policy = scratch / "creds.yaml"
    policy.write_text(f"""\
repositories:
  cred-vault:
    engine: borg
    location: ssh://ann:{SECRET}@127.0.0.1:1/./vault
    passphrase: env:VAULT_PASS
sources:
  docs:
    paths: [{scratch}]
policies:
  cred-docs:
    source: docs
    repository: cred-vault
    schedule: {{every: 1d}}
sync:
  cred-sync:
    source: {scratch}
    destination: webdav:https://ann:{SECRET}@127.0.0.1:1/dav
""")
    for verb in (("plan",), ("apply", "--yes")):
        result = cli("policy", *verb, str(policy))
        assert result.code == 1 and SECRET not in result.stderr + result.stdout
        assert "Traceback" not in result.stderr
        assert "creds.yaml:4 repositories.cred-vault.location: the URL holds a password" in result.stderr
        assert "creds.yaml:17 sync.cred-sync.destination: the URL holds a password" in result.stderr
    assert nothing_stored(sync_settings, repository="cred-vault", policy="cred-docs", pair="cred-sync")


def test_the_store_refuses_a_repository_location_with_a_password(sync_settings):  # noqa: F811
    from syncoxide.errors import InvalidValue
    from syncoxide.models import Engine
    from syncoxide.secrets import SecretRef

    with open_store(sync_settings) as conn, pytest.raises(InvalidValue) as info:
        repositories.add(
            conn,
            name="cred-direct",
            engine=Engine.restic,
            location=f"rest:https://ann:{SECRET}@h/r",
            passphrase=SecretRef(kind="env", value="P"),
        )
    assert SECRET not in str(info.value)
    assert nothing_stored(sync_settings, repository="cred-direct")


def test_every_0s_is_refused_by_plan_and_apply_and_nothing_is_made(cli, sync_settings, scratch):  # noqa: F811
    (scratch / "docs").mkdir()
    (scratch / "pass").write_text("a passphrase\n")
    policy = scratch / "zero.yaml"
    policy.write_text(f"""\
repositories:
  zero-vault:
    engine: restic
    location: {scratch}/vault
    passphrase: file:{scratch}/pass
sources:
  docs:
    paths: [{scratch}/docs]
policies:
  zero-docs:
    source: docs
    repository: zero-vault
    schedule:
      every: 0s
""")
    for verb in (("plan",), ("apply", "--yes")):
        line = refused_in_one_line(cli("policy", *verb, str(policy)))
        assert line == (
            "error: zero.yaml:14 policies.zero-docs.schedule.every: interval '0s': must be at least 1s "
            "(Temporal refuses a shorter one)"
        ), line
    assert not (scratch / "vault").exists()  # no repository was initialised
    assert nothing_stored(sync_settings, repository="zero-vault", location=f"{scratch}/vault", policy="zero-docs")


def test_sync_start_every_0s_is_refused_before_it_starts(cli, sync_settings, scratch):  # noqa: F811
    (scratch / "a").mkdir()
    line = refused_in_one_line(
        cli("sync", "start", str(scratch / "a"), str(scratch / "b"), "--every", "0s", "--pair", "zero-pair")
    )
    assert line == "error: --every interval '0s': must be at least 1s (Temporal refuses a shorter one)"
    assert nothing_stored(sync_settings, pair="zero-pair") and not (scratch / "b").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x7fELF\x02\x01\x01\x00\xff\xfe", "error: odd.yaml:1: not a text file (a NUL byte at offset 7: binary?)"),
        (
            b"sources: &s\n  a: *s\n",
            "error: odd.yaml:1 sources.a: an alias inside this anchor refers to the anchor itself (a recursive anchor)",
        ),
        (
            "\n".join(
                ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
                + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
            ).encode(),
            'error: odd.yaml:6 a5: aliases expand the file past 100000 values here (a "billion laughs"?)',
        ),
        (b"sources: " + b"[" * 20000 + b"]" * 20000, "error: odd.yaml:1: nested more than 64 levels deep"),
        (
            b"repositories: {}\nrepositories: {}\n",
            "error: odd.yaml:2 repositories: given twice, at lines 1 and 2 (YAML would keep only the last)",
        ),
        (
            b"repositories:\n  v:\n    engine: borg\n    location: /v\n    passphrase: env:P\n"
            b"    retention: {keep_last: " + b"9" * 5000 + b"}\n",
            "error: odd.yaml:6: number '" + "9" * 40 + "'... (5000 characters) is too large (at "
            "most 9223372036854775807)",
        ),
    ],
)
def test_policy_files_that_are_not_what_they_seem_are_one_line(cli, scratch, content, message):  # noqa: F811
    (scratch / "odd.yaml").write_bytes(content)
    for verb in (("plan",), ("apply", "--yes")):
        assert refused_in_one_line(cli("policy", *verb, str(scratch / "odd.yaml"))) == message
