"""The payload codec and its keys: sealed, compressed, rotated, and refused when not authentic."""

from __future__ import annotations

import asyncio
import os
import stat

import pytest
from temporalio.api.common.v1 import Payload

from syncoxide.errors import InvalidInput, SecretUnavailable
from syncoxide.orchestration import payload_keys
from syncoxide.orchestration.codec import ENCODING, KEY_ID, EncryptionCodec, PayloadNotAuthenticated, data_converter
from syncoxide.orchestration.payload_keys import PayloadKey, add_key, load_keys, new_key_text, parse_keys


def key() -> PayloadKey:
    return PayloadKey.from_text(new_key_text())


def plain(data: bytes) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


def test_sealed_payload_hides_the_data_and_opens_back():
    codec = EncryptionCodec([key()])
    original = plain(b'{"sources": ["/home/alice/taxes"]}')
    sealed = codec.seal(original)
    assert sealed.metadata["encoding"] == ENCODING and sealed.metadata[KEY_ID] == codec.sealing_key_id.encode()
    assert b"alice" not in sealed.SerializeToString()
    assert codec.open(sealed) == original
    assert codec.seal(original).data != sealed.data  # a fresh nonce every time


def test_large_payloads_are_compressed_before_sealing():
    codec = EncryptionCodec([key()])
    big = plain(b'{"paths": [' + b'"/srv/data/reports/2026/quarter.csv", ' * 2000 + b'""]}')
    sealed = codec.seal(big)
    assert len(sealed.data) < len(big.data) / 10
    assert codec.open(sealed) == big


@pytest.mark.parametrize("change", ["data", "key id", "encoding"])
def test_an_altered_payload_is_refused(change):
    codec = EncryptionCodec([key()])
    sealed = codec.seal(plain(b'"x"'))
    if change == "data":
        sealed.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    elif change == "key id":
        sealed.metadata[KEY_ID] = b"0000000000000000"
    else:
        sealed.metadata["encoding"] = b"json/plain"
    with pytest.raises(PayloadNotAuthenticated) as refused:
        codec.open(sealed)
    assert refused.value.non_retryable and refused.value.type == "PayloadNotAuthenticated"


def test_plaintext_is_refused_unless_reading_old_histories():
    payload = plain(b'{"stream": {"command": ["sh", "-c", "id"]}}')
    with pytest.raises(PayloadNotAuthenticated, match="not sealed with a syncoxide payload key"):
        EncryptionCodec([key()]).open(payload)
    assert EncryptionCodec([key()], plaintext_reads=True).open(payload) == payload


def test_rotation_new_key_seals_old_keys_still_open():
    old, new = key(), key()
    before = EncryptionCodec([old]).seal(plain(b'"old"'))
    rotated = EncryptionCodec([new, old])
    assert rotated.open(before) == plain(b'"old"')
    assert rotated.seal(plain(b'"new"')).metadata[KEY_ID] == new.id.encode()
    with pytest.raises(PayloadNotAuthenticated, match="does not hold"):
        EncryptionCodec([new]).open(before)


def test_an_unknown_key_makes_the_codec_read_its_key_list_again(monkeypatch):
    old, new = key(), key()
    listed = [[old]]
    codec = EncryptionCodec(listed[0], reload=lambda: listed[0])
    listed[0] = [new, old]
    monkeypatch.setattr("syncoxide.orchestration.codec.RELOAD_AT_MOST_EVERY_S", 0.0)
    assert codec.open(EncryptionCodec([new]).seal(plain(b'"1"'))) == plain(b'"1"')


def test_failures_are_sealed_too():
    from temporalio.api.failure.v1 import Failure
    from temporalio.exceptions import ApplicationError

    converter = data_converter([key()])
    failure = Failure()
    asyncio.run(converter.encode_failure(ApplicationError("cannot read /home/alice/taxes/2026.pdf"), failure))
    assert b"alice" not in failure.SerializeToString()
    assert asyncio.run(converter.decode_failure(failure)).message == "cannot read /home/alice/taxes/2026.pdf"


def test_key_list_errors_name_the_line_never_the_key(tmp_path):
    good = new_key_text()
    with pytest.raises(InvalidInput) as bad:
        parse_keys(f"# keys\n{good}\nnot-a-key-SECRETISH\n", "keys file:/k")
    assert str(bad.value).startswith("payload key on line 3 of keys file:/k ")
    assert "SECRETISH" not in str(bad.value)
    with pytest.raises(InvalidInput, match="line 1 .* holds 3 bytes, not 32"):
        parse_keys("AAAA\n", "keys file:/k")
    with pytest.raises(SecretUnavailable, match="holds no payload key"):
        parse_keys("# nothing\n\n", "keys file:/k")
    with pytest.raises(SecretUnavailable, match="no payload key: .* `syncoxide keys new --into"):
        load_keys(None, tmp_path)
    assert repr(PayloadKey.from_text(good)) == f"PayloadKey({PayloadKey.from_text(good).id})"


def test_add_key_puts_the_new_key_first_in_a_private_file(tmp_path):
    path = tmp_path / "keys" / "payload.keys"
    first = add_key(path)
    second = add_key(path)
    assert [k.id for k in load_keys(f"file:{path}", tmp_path)] == [second.id, first.id]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_add_key_replaces_a_planted_symlink_instead_of_writing_through_it(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text(new_key_text() + "\n")
    link = tmp_path / "payload.keys"
    link.symlink_to(victim)
    before = victim.read_text()
    add_key(link)
    assert victim.read_text() == before and not link.is_symlink()
    assert not payload_keys.ensure_key_file(link)  # there already: left alone


def test_ensure_key_file_leaves_a_dangling_symlink_alone(tmp_path):
    link = tmp_path / "payload.keys"
    os.symlink(tmp_path / "elsewhere", link)
    assert not payload_keys.ensure_key_file(link)
    assert not (tmp_path / "elsewhere").exists()
