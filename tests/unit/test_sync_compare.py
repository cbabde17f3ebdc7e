"""Is a file the same on both sides: the state's signatures, the modify window, hashes listed for free."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from syncoxide.providers.base import Capabilities, Entry
from syncoxide.providers.local import LocalProvider
from syncoxide.sync.compare import Signature, common_hash, mtime_ns, precision, same_content, same_mtime

T0 = datetime(2024, 5, 1, 8, 0, 0, tzinfo=UTC)
MD5_A = hashlib.md5(b"A").hexdigest()


def entry(size: int = 10, mtime: datetime = T0, **hashes: str) -> Entry:
    return Entry(path="f.txt", size=size, mtime=mtime, hashes=hashes)


class Side:
    def __init__(self, precision: float):
        self.capabilities = Capabilities(mtime_precision=precision)


def test_a_signature_takes_the_given_md5_else_the_listed_one():
    assert Signature.of(entry(md5="listed")) == Signature(10, mtime_ns(entry()), "listed")
    assert Signature.of(entry(md5="listed"), "verified").md5 == "verified"
    assert Signature.of(entry()).md5 is None


def test_a_listing_matches_its_signature_by_size_and_time_to_the_nanosecond():
    signature = Signature.of(entry())
    assert signature.matches(entry())
    assert not signature.matches(entry(size=11))
    assert not signature.matches(entry(mtime=T0 + timedelta(microseconds=1)))


def test_a_listed_md5_decides_over_the_time_when_the_signature_has_one():
    signature = Signature(10, mtime_ns(entry()), MD5_A)
    later = T0 + timedelta(hours=1)
    assert signature.matches(entry(mtime=later, md5=MD5_A))  # an S3 listing shows upload times
    assert not signature.matches(entry(md5="other"))  # the same time does not hide other bytes
    assert not signature.matches(entry(size=11, md5=MD5_A))  # size first
    assert not signature.matches(entry(mtime=later))  # nothing listed: the time decides


def test_the_modify_window_is_the_coarser_sides_precision():
    local, sftp = Side(1e-6), Side(1.0)
    assert precision(local, sftp) == precision(sftp, local) == 1.0
    window = precision(local, sftp)
    assert same_mtime(entry(), entry(mtime=T0 + timedelta(milliseconds=999)), window)
    assert not same_mtime(entry(), entry(mtime=T0 + timedelta(seconds=1, milliseconds=1)), window)
    assert not same_mtime(entry(), entry(mtime=T0 + timedelta(milliseconds=1)), precision(local, local))


def test_only_a_hash_type_both_listings_carry_is_common():
    assert common_hash(entry(md5="a"), entry(sha1="b")) is None
    assert common_hash(entry(md5="a", sha1="x"), entry(md5="b")) == ("a", "b")


def test_same_content_uses_the_free_hash_and_else_reads_both_files(tmp_path: Path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (one / "f.txt").write_bytes(b"AAAA")
    (two / "f.txt").write_bytes(b"BBBB")
    p1, p2 = LocalProvider(one), LocalProvider(two)
    a, b = p1.stat("f.txt"), p2.stat("f.txt")
    assert same_content(p1, a, p2, b) == (False, hashlib.md5(b"AAAA").hexdigest())
    (two / "f.txt").write_bytes(b"AAAA")
    assert same_content(p1, a, p2, p2.stat("f.txt")) == (True, hashlib.md5(b"AAAA").hexdigest())
    assert same_content(p1, a, p2, entry(size=5)) == (False, None)  # sizes differ: nothing read
    listed = Entry(path="f.txt", size=4, mtime=T0, hashes={"md5": "free"})
    assert same_content(p1, listed, p2, listed) == (True, "free")  # nothing read either
