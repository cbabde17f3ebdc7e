"""Credentials inside locations are refused at the model/parse layer, with one line that keeps the secret out."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from syncoxide.backups import operations
from syncoxide.errors import InvalidInput, InvalidValue
from syncoxide.models import Engine
from syncoxide.policies import loader
from syncoxide.providers.spec import ProviderSpec
from syncoxide.secrets.in_locations import credentials_problem, redacted, refuse_credentials
from syncoxide.sync import inputs
from syncoxide.sync.models import SyncRequest

SECRET = "hunter2Zq"

REFUSED = [
    ("sftp", f"sftp://ann:{SECRET}@files.example.net:2222/srv/data"),
    ("sftp", f"sftp://ann:{SECRET}@files.example.net/~/data"),
    ("sftp", f"sftp://ann:hu/{SECRET}@files.example.net/srv"),  # a '/' in the password ends the host part early
    ("sftp", f"sftp://ann:a@{SECRET}@files.example.net/srv"),  # an '@' in the password
    ("s3", f"s3://AKIAEXAMPLE:{SECRET}@bucket/prefix"),
    ("s3", f"s3://{SECRET}@bucket/prefix"),  # an access key where the bucket goes
    ("webdav", f"https://ann:{SECRET}@dav.example.net/remote.php/dav"),
    ("webdav", f"http://ann:{SECRET}@[::1]:8080/dav"),
    ("rclone", f"gdrive,pass={SECRET}:photos"),
    ("rclone", f":s3,access_key_id=AKIA,secret_access_key={SECRET}:bucket/x"),
    ("rclone", f':sftp,host=h,pass="a:{SECRET}":path'),
    ("borg", f"ssh://ann:{SECRET}@backup.example.net:22/./repo"),
    ("restic", f"rest:https://ann:{SECRET}@backup.example.net:8000/repo"),
    ("restic", f"sftp://ann:{SECRET}@backup.example.net//srv/repo"),
    ("restic", f"rclone:remote,token={SECRET}:repo"),
]

ALLOWED = [
    ("sftp", "sftp://ann@files.example.net:2222/srv/data"),
    ("sftp", "sftp://files.example.net/srv/data@2024"),  # an '@' in the path is a path
    ("s3", "s3://bucket/prefix"),
    ("webdav", "https://dav.example.net:8443/remote.php/dav"),
    ("webdav", "http://[::1]:8080/dav"),
    ("rclone", "gdrive:photos"),
    ("rclone", "remote,key_file=/home/ann/.ssh/id:path"),
    ("rclone", "remote,user=ann,host=h:path"),
    ("local", "/data/a:b@c"),
    ("borg", "ssh://ann@backup.example.net:22/./repo"),
    ("borg", "ann@backup.example.net:repo"),
    ("restic", "sftp:ann@backup.example.net:/srv/repo"),
    ("restic", "rest:https://backup.example.net:8000/repo"),
    ("restic", "s3:https://s3.example.net/bucket"),
    ("restic", "/srv/restic"),
]


@pytest.mark.parametrize(("kind", "location"), REFUSED)
def test_credentials_are_refused_without_repeating_them(kind: str, location: str) -> None:
    with pytest.raises(InvalidValue) as info:
        refuse_credentials(location, kind=kind, field="location")
    message = str(info.value)
    assert message.startswith("location: ") and "\n" not in message
    assert SECRET not in message
    assert "env:NAME" in message or "rclone's config" in message  # where the secret goes instead
    assert SECRET not in redacted(location)


@pytest.mark.parametrize(("kind", "location"), ALLOWED)
def test_a_user_name_alone_and_plain_locations_are_allowed(kind: str, location: str) -> None:
    assert credentials_problem(location, kind=kind) is None
    assert refuse_credentials(location, kind=kind) == location
    assert redacted(location) == location


def test_webdav_takes_its_user_as_an_option() -> None:
    problem = credentials_problem("https://ann@dav.example.net/dav", kind="webdav")
    assert problem is not None and "option 'user'" in problem


def test_redacted_keeps_the_user_and_the_host() -> None:
    assert redacted(f"sftp://ann:{SECRET}@h:22/x") == "sftp://ann:***@h:22/x"
    assert redacted(f"rest:https://ann:{SECRET}@h/r") == "rest:https://ann:***@h/r"
    assert redacted(f"rclone:remote,pass={SECRET}:repo") == "rclone:remote,***:repo"


@pytest.mark.parametrize(("kind", "location"), [r for r in REFUSED if r[0] not in ("borg", "restic")])
def test_provider_spec_refuses_and_pydantic_does_not_repeat_the_input(kind: str, location: str) -> None:
    with pytest.raises(ValidationError) as info:
        ProviderSpec(kind=kind, location=location)
    assert SECRET not in str(info.value)  # pydantic leaves input_value out
    with pytest.raises(ValidationError) as nested:
        SyncRequest.model_validate(
            {"source": {"kind": kind, "location": location}, "destination": {"kind": "local", "location": "/tmp/x"}}
        )
    assert SECRET not in str(nested.value)


def test_a_url_option_with_a_password_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        ProviderSpec(kind="s3", location="s3://bucket", options={"endpoint_url": f"https://k:{SECRET}@minio:9000"})
    assert SECRET not in str(info.value) and "options.endpoint_url" in str(info.value)


@pytest.mark.parametrize(
    "side",
    [
        f"sftp://ann:{SECRET}@h/x",
        f"s3://K:{SECRET}@bucket",
        f"webdav:https://ann:{SECRET}@h/d",
        f"https://ann:{SECRET}@h/d",
        f"rclone:remote,pass={SECRET}:x",
        f"ftp://ann:{SECRET}@h/x",
    ],
)
def test_a_sync_side_with_a_secret_is_one_line_without_it(side: str) -> None:
    with pytest.raises(InvalidInput) as info:
        inputs.parse_side(side)
    message = str(info.value)
    assert "\n" not in message and SECRET not in message and message.startswith("side ")


def test_a_spec_file_with_a_secret_in_its_location_is_refused(tmp_path: Path) -> None:
    spec = tmp_path / "side.json"
    spec.write_text(f'{{"kind": "sftp", "location": "sftp://ann:{SECRET}@h/x"}}')
    with pytest.raises(InvalidInput) as info:
        inputs.parse_side(f"@{spec}")
    assert SECRET not in str(info.value) and "location: the URL holds a password" in str(info.value)


def test_repository_locations_are_refused_where_they_are_normalized() -> None:
    with pytest.raises(InvalidValue) as info:
        operations.normalize_location(Engine.borg, f"ssh://ann:{SECRET}@h:22/./repo")
    assert str(info.value).startswith("repository location: the URL holds a password")
    assert SECRET not in str(info.value)
    assert operations.normalize_location(Engine.borg, "ssh://ann@h:22/./repo") == "ssh://ann@h:22/./repo"


def test_policy_files_name_the_line_and_field_and_keep_the_secret_out(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(f"""\
repositories:
  vault:
    engine: borg
    location: ssh://ann:{SECRET}@backup.example.net/./vault
    passphrase: env:VAULT_PASS
sync:
  photos:
    source: {tmp_path}/photos
    destination: sftp://ann:{SECRET}@files.example.net/srv/photos
""")
    with pytest.raises(loader.PolicyErrors) as info:
        loader.load([policy])
    problems = info.value.problems
    assert SECRET not in str(info.value)
    assert any(p.startswith("p.yaml:4 repositories.vault.location: the URL holds a password") for p in problems)
    assert any(p.startswith("p.yaml:9 sync.photos.destination: the URL holds a password") for p in problems), problems
