from __future__ import annotations

import pytest

from syncoxide.errors import InvalidInput, SecretUnavailable
from syncoxide.secrets import SecretRef, ref_from_options


def test_env_file_and_command_references_resolve(tmp_path, monkeypatch):
    monkeypatch.setenv("SXT_SECRET", "from-env")
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-file\n")
    assert SecretRef.parse("env:SXT_SECRET").resolve() == "from-env"
    assert SecretRef.parse(f"file:{secret_file}").resolve() == "from-file"
    assert SecretRef.parse("command:printf from-command").resolve() == "from-command"


def test_errors_name_the_reference_and_never_the_secret(tmp_path, monkeypatch):
    monkeypatch.delenv("SXT_UNSET", raising=False)
    with pytest.raises(SecretUnavailable, match="SXT_UNSET is not set"):
        SecretRef.parse("env:SXT_UNSET").resolve()
    with pytest.raises(SecretUnavailable, match="cannot read secret file"):
        SecretRef.parse(f"file:{tmp_path / 'missing'}").resolve()
    with pytest.raises(SecretUnavailable, match="exited with 3") as failure:
        SecretRef.parse("command:echo topsecret; exit 3").resolve()
    assert "topsecret" not in str(failure.value).replace("echo topsecret", "")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(SecretUnavailable, match="is empty"):
        SecretRef.parse(f"file:{empty}").resolve()


@pytest.mark.parametrize("text", ["plain", "env:", "vault:x", ""])
def test_malformed_references_are_refused(text):
    with pytest.raises(InvalidInput, match="must be env:NAME, file:PATH or command:COMMAND"):
        SecretRef.parse(text)


def test_cli_options_make_one_reference(tmp_path):
    assert ref_from_options("NAME", None, None) == SecretRef(kind="env", value="NAME")
    assert ref_from_options(None, None, None) is None
    relative = ref_from_options(None, "secret.txt", None)
    assert relative.kind == "file" and relative.value.startswith("/")
    with pytest.raises(InvalidInput, match="only one of"):
        ref_from_options("A", "b", None)
