"""Parsing what borg and restic print: modes, times, exclude translation."""

from __future__ import annotations

import pytest

from syncoxide.engines import excludes, parse_engine
from syncoxide.engines.borg import mode_from_string
from syncoxide.engines.restic import mode_from_go, parse_time_ns
from syncoxide.errors import InvalidInput


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        ("-rw-r--r--", 0o644),
        ("drwxr-xr-x", 0o755),
        ("-rwsr-xr-x", 0o4755),
        ("drwxrwxrwt", 0o1777),
        ("-rwxr-S---", 0o2740),
        ("lrwxrwxrwx", 0o777),
    ],
)
def test_borg_mode_strings(text, mode):
    assert mode_from_string(text) == mode


def test_go_file_modes():
    assert mode_from_go(420) == 0o644
    assert mode_from_go(2147484141) == 0o755  # dir bit set in Go's high bits
    assert mode_from_go(2148532735) == 0o1777  # /tmp: dir + sticky


def test_restic_times_keep_nanoseconds():
    assert parse_time_ns("2020-09-13T12:26:40.123456789Z") == 1_600_000_000_123_456_789
    assert parse_time_ns("2020-09-13T14:26:40.5+02:00") == 1_600_000_000_500_000_000
    assert parse_time_ns("2020-09-13T12:26:40Z") == 1_600_000_000_000_000_000


def test_excludes_translate_to_each_engine():
    assert excludes.borg_args(["*.tmp", "/home/u/cache"]) == [
        "--exclude",
        "sh:**/*.tmp",
        "--exclude",
        "sh:home/u/cache",
    ]
    assert excludes.restic_args(["*.tmp"]) == ["--exclude", "*.tmp"]
    assert excludes.matches("/a/b/x.tmp", ["*.tmp"])
    assert excludes.matches("/a/cache/x", ["cache/*"])
    assert not excludes.matches("/a/b/x.txt", ["*.tmp", "/b/*"])
    with pytest.raises(InvalidInput):
        excludes.validate([" "])


def test_estimate_totals_honours_excludes(tmp_path):
    (tmp_path / "keep.txt").write_bytes(b"x" * 10)
    (tmp_path / "skip.tmp").write_bytes(b"x" * 100)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "more.txt").write_bytes(b"x" * 5)
    assert excludes.estimate_totals([str(tmp_path)], ["*.tmp"]) == (2, 15)


def test_unknown_engine_names_the_choices():
    with pytest.raises(InvalidInput, match="engine 'zip': must be one of borg, restic"):
        parse_engine("zip")
