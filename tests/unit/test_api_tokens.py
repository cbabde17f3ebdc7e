"""API tokens as text: their format, strict parsing of whatever a client sends, the digest, scopes, and the key
file made private on first use (another local user cannot read it)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncoxide.api.tokens import Scope, digest, ensure_key_file, key_file, new_token, token_id_of, token_key
from syncoxide.config import Settings
from syncoxide.errors import InvalidInput, SecretUnavailable


def test_a_new_token_is_prefix_id_and_256_random_bits_and_parses_back_to_its_id() -> None:
    made = [new_token() for _ in range(200)]
    for token_id, text in made:
        assert len(token_id) == 12 and set(token_id) <= set("0123456789abcdef")
        prefix, secret = text.split(f"sxo_{token_id}_", 1)
        assert prefix == "" and len(secret) == 43
        assert token_id_of(text) == token_id
    assert len({t for _, t in made}) == len({i for i, _ in made}) == 200


@pytest.mark.parametrize(
    "hostile",
    [
        "",
        "sxo_",
        "sxo__",
        "x" * 60,
        "sxo_" + "a" * 10_000,
        "sxo_" + "a" * 1_000_000,
        "sxa_0123456789ab_" + "A" * 43,  # wrong prefix
        "SXO_0123456789ab_" + "A" * 43,
        "sxo_0123456789AB_" + "A" * 43,  # ids are lowercase
        "sxo_0123456789ag_" + "A" * 43,  # not hex
        "sxo_0123456789ab-" + "A" * 43,  # wrong separator
        "sxo_0123456789ab_" + "A" * 42,  # too short
        "sxo_0123456789ab_" + "A" * 44,  # too long
        "sxo_0123456789ab_" + "A" * 42 + "\x00",
        "sxo_0123456789a\x00_" + "A" * 43,
        "sxo_0123456789ab_" + "A" * 42 + "=",  # padding is not base64url's unpadded form
        "sxo_0123456789ab_" + "A" * 42 + "é",  # non-ASCII
        "sxo_0123456789ab_" + "A" * 42 + "\N{FULLWIDTH DIGIT ONE}",
        "sxo_٠١٢٣٤٥٦٧٨٩ab_" + "A" * 43,  # Arabic-Indic digits are digits to \d, not to us
        "sxo_0123456789ab_" + "A" * 42 + "\ud800",  # a lone surrogate
        "sxo_0123456789ab_" + "A" * 42 + "\n",
        " sxo_0123456789ab_" + "A" * 42,
        "sxo_0123456789ab_" + "A" * 42 + " ",
        "Bearer sxo_0123456789ab_" + "A" * 43,
    ],
)
def test_anything_malformed_parses_to_none(hostile: str) -> None:
    assert token_id_of(hostile) is None
    assert token_id_of(hostile.encode("utf-8", "surrogatepass")) is None  # bytes are not a token


@pytest.mark.parametrize("odd", [None, 0, 12, [], {}, object()])
def test_non_text_parses_to_none(odd: object) -> None:
    assert token_id_of(odd) is None


def test_a_well_formed_token_with_dashes_and_underscores_in_its_secret_parses() -> None:
    assert token_id_of("sxo_0123456789ab_" + "-_" * 21 + "Z") == "0123456789ab"


def test_the_digest_is_hmac_sha256_hex_and_depends_on_key_and_token() -> None:
    import hashlib
    import hmac

    _, text = new_token()
    key = b"k" * 32
    assert digest(key, text) == hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
    assert len(digest(key, text)) == 64
    assert digest(key, text) != digest(b"j" * 32, text)
    assert digest(key, text) != digest(key, new_token()[1])
    assert digest(key, "\ud800")  # total: a lone surrogate does not raise


def test_scopes_are_ordered_read_operate_admin() -> None:
    assert [s.value for s in Scope] == ["read", "operate", "admin"]
    allowed = {(have, need) for have in Scope for need in Scope if have.allows(need)}
    assert allowed == {
        (Scope.read, Scope.read),
        (Scope.operate, Scope.read),
        (Scope.operate, Scope.operate),
        (Scope.admin, Scope.read),
        (Scope.admin, Scope.operate),
        (Scope.admin, Scope.admin),
    }
    assert Scope("operate") is Scope.operate and str(Scope.admin) == "admin"


def test_the_default_key_file_is_made_0600_once_and_reused(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    first = token_key(settings)
    path = key_file(settings)
    assert path == tmp_path / "home" / "api-token.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(first) >= 43
    assert token_key(settings) == first
    assert path.read_bytes().strip() == first
    assert not ensure_key_file(path)
    assert [p.name for p in path.parent.iterdir()] == ["api-token.key"]  # no temp file left behind


def test_processes_starting_at_once_get_the_same_key(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    keys: list[bytes] = []
    threads = [threading.Thread(target=lambda: keys.append(token_key(settings))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 8 and len(set(keys)) == 1


def test_a_key_named_by_reference_is_used_and_a_short_one_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SXT_API_KEY", "x" * 22)
    assert token_key(Settings(home=tmp_path, api_token_key="env:SXT_API_KEY")) == b"x" * 22
    assert not key_file(Settings(home=tmp_path)).exists()  # the default file is made only when it is used
    monkeypatch.setenv("SXT_API_KEY", "short-key")
    with pytest.raises(InvalidInput, match="too short") as refused:
        token_key(Settings(home=tmp_path, api_token_key="env:SXT_API_KEY"))
    assert "short-key" not in str(refused.value) and "\n" not in str(refused.value)
    monkeypatch.delenv("SXT_API_KEY")
    with pytest.raises(SecretUnavailable, match="no API token key: environment variable SXT_API_KEY is not set"):
        token_key(Settings(home=tmp_path, api_token_key="env:SXT_API_KEY"))


@pytest.fixture()
def open_dir() -> Iterator[Path]:
    """A data dir others may enter (0755), so only the key file's own mode can keep them out."""
    path = Path(tempfile.mkdtemp(prefix="sxk-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="acting as another user takes root and setpriv"
)
def test_another_local_user_cannot_read_the_key_file(open_dir: Path) -> None:
    os.umask(0o022)  # the key file's mode is syncoxide's doing, not the umask's
    token_key(Settings(home=open_dir))
    path = key_file(Settings(home=open_dir))
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    listed = subprocess.run([*nobody, "ls", str(open_dir)], capture_output=True, text=True)
    assert listed.returncode == 0 and listed.stdout.split() == ["api-token.key"]  # nobody gets as far as the file
    read = subprocess.run([*nobody, "cat", str(path)], capture_output=True, text=True)
    assert read.returncode != 0 and "Permission denied" in read.stderr and not read.stdout
