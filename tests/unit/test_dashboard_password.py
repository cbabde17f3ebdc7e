"""The dashboard's password hashes: a right password opens, and a malformed stored hash opens nothing
(False), whatever is wrong with it, without raising or stalling."""

from __future__ import annotations

import base64
import time

import pytest

from syncoxide.dashboard_auth import hash_password, verify

PASSWORD = "correct horse battery"


def test_the_right_password_verifies_and_a_wrong_one_does_not() -> None:
    stored = hash_password(PASSWORD)
    assert stored.startswith("scrypt$16384$8$1$")
    assert verify(PASSWORD, stored) and verify(PASSWORD, stored + "\n")  # (a file's trailing newline)
    assert not verify("wrong horse battery", stored)


def _with(part: int, value: str) -> str:
    parts = hash_password(PASSWORD).split("$")
    parts[part] = value
    return "$".join(parts)


SALT = base64.b64encode(b"s" * 16).decode()
DIGEST = base64.b64encode(b"d" * 32).decode()


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "   ",
        "not a hash",
        "scrypt",
        "scrypt$$$$$",
        "$".join(["scrypt"] * 7),
        f"bcrypt$16384$8$1${SALT}${DIGEST}",
        _with(1, "lots"),
        _with(2, "x"),
        _with(3, "1.5"),
        _with(1, "-16384"),
        _with(1, "0"),
        _with(1, "1"),
        _with(1, "1000"),  # not a power of two: scrypt refuses it
        _with(1, str(2**40)),
        _with(2, str(2**40)),
        _with(3, str(2**40)),  # beyond the limits: no stall, no MemoryError
        _with(1, str(2**20)).replace("$8$", "$32$", 1),  # 4 GiB of memory asked for
        _with(1, "9" * 5000),
        _with(4, "!!not base64!!"),
        _with(5, "!!not base64!!"),
        _with(4, ""),
        _with(5, ""),
        _with(5, base64.b64encode(b"short").decode()),  # a digest of 5 bytes
        _with(5, base64.b64encode(b"x" * 100_000).decode()),  # one scrypt would spend long on
        f"scrypt$16384$8$1${SALT}${DIGEST}$extra",
        "scrypt$16384$8$1$c2FsdA==$ZGlnZXN0\x00",
    ],
)
def test_a_malformed_stored_hash_matches_nothing(stored: str) -> None:
    started = time.monotonic()
    assert verify(PASSWORD, stored) is False
    assert time.monotonic() - started < 5


def test_a_stored_hash_of_the_wrong_type_or_a_password_that_cannot_be_encoded_is_false() -> None:
    assert verify(PASSWORD, None) is False  # type: ignore[arg-type]
    assert verify(PASSWORD, b"scrypt$16384$8$1$AAAA$AAAA") is False  # type: ignore[arg-type]
    assert verify("\udcff lone surrogate", hash_password(PASSWORD)) is False
