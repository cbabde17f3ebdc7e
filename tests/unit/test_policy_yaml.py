"""A policy file that is not what it seems (duplicate keys, a binary file, recursive or exploding aliases,
numbers beyond any field, deep nesting) is refused with one line per problem naming its file and line,
never a RecursionError or a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from syncoxide.policies.loader import PolicyErrors, load

REPOSITORY = """\
repositories:
  nas:
    engine: restic
    location: /srv/nas
    passphrase: env:NAS_PASSPHRASE
"""


def problems_of(tmp_path: Path, content: str | bytes, name: str = "p.yaml") -> list[str]:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(PolicyErrors) as caught:
        load([path])
    for problem in caught.value.problems:
        assert "\n" not in problem and len(problem) < 300, problem
    return caught.value.problems


def test_a_key_given_twice_names_both_lines(tmp_path: Path) -> None:
    assert problems_of(
        tmp_path,
        REPOSITORY.replace("    location: /srv/nas\n", "    location: /srv/nas\n    engine: borg\n")
        + "repositories: {}\n",
    ) == [
        "p.yaml:7 repositories: given twice, at lines 1 and 7 (YAML would keep only the last)",
        "p.yaml:5 repositories.nas.engine: given twice, at lines 3 and 5 (YAML would keep only the last)",
    ]


def test_a_merge_key_is_no_duplicate_and_anchors_still_work(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(f"""\
sync:
  a: &pair
    source: {tmp_path}/x
    destination: {tmp_path}/y
    exclude: &ex ["*.tmp"]
  b:
    <<: *pair
    destination: {tmp_path}/w
    exclude: *ex
""")
    desired = load([path])
    assert desired.sync["b"].source == f"{tmp_path}/x" and desired.sync["b"].exclude == ["*.tmp"]
    assert desired.origin[("sync", "b")] == "p.yaml:6"


def test_a_binary_file_is_not_text(tmp_path: Path) -> None:
    [problem] = problems_of(tmp_path, b"\x7fELF\x02\x01\x01\x00" + os.urandom(256), "binary.yaml")
    assert problem == "binary.yaml:1: not a text file (a NUL byte at offset 7: binary?)"
    [problem] = problems_of(tmp_path, "sources:\n  a:\n    paths: [/caf\xe9]\n".encode("latin-1"), "latin1.yaml")
    assert problem == "latin1.yaml:3: not UTF-8 text (byte 0xe9 at offset 30: binary?)"
    [problem] = problems_of(tmp_path, "sources:\n  a:\n    paths: [/x\x07]\n", "bell.yaml")
    assert problem == "bell.yaml:3: not a text file (character #x0007 is not allowed in YAML)"


def test_a_recursive_anchor_is_refused(tmp_path: Path) -> None:
    assert problems_of(tmp_path, "repositories: &r\n  x: *r\n") == [
        "p.yaml:1 repositories.x: an alias inside this anchor refers to the anchor itself (a recursive anchor)"
    ]
    assert problems_of(tmp_path, "sources:\n  a: &a\n    paths: [*a]\n") == [
        "p.yaml:2 sources.a.paths.0: an alias inside this anchor refers to the anchor itself (a recursive anchor)"
    ]


def test_a_billion_laughs_is_refused_quickly(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    assert problems_of(tmp_path, "\n".join(lines) + "\n") == [
        'p.yaml:6 a5: aliases expand the file past 100000 values here (a "billion laughs"?)'
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("9" * 5000, f"number {'9' * 40!r}... (5000 characters) is too large (at most 9223372036854775807)"),
        ("99999999999999999999", "number 99999999999999999999 is too large (at most 9223372036854775807)"),
        ("-9223372036854775809", "number -9223372036854775809 is too large (at most 9223372036854775807)"),
        ("1.0e+400", "number 1.0e+400 is too large for a number"),
    ],
)
def test_a_number_beyond_any_field_is_refused_without_repeating_it_whole(tmp_path: Path, value, message) -> None:
    assert problems_of(tmp_path, REPOSITORY + f"    retention: {{keep_last: {value}}}\n") == [f"p.yaml:6: {message}"]


def test_1e400_and_huge_durations_are_field_errors(tmp_path: Path) -> None:
    # YAML 1.1 reads 1e400 (no dot) as a string: the field says what it wanted
    assert problems_of(tmp_path, REPOSITORY + "    retention: {keep_last: 1e400}\n") == [
        "p.yaml:6 repositories.nas.retention.keep_last: input should be a valid integer, unable to parse string as "
        "an integer"
    ]
    assert problems_of(tmp_path, REPOSITORY + f"    metadata_check: {{every: {'9' * 5000}s}}\n") == [
        f"p.yaml:6 repositories.nas.metadata_check.every: duration {'9' * 40!r}... (5001 characters): too long to "
        "be a duration"
    ]


def test_deep_nesting_is_refused_with_its_line(tmp_path: Path) -> None:
    assert problems_of(tmp_path, "sources: " + "[" * 5000 + "]" * 5000 + "\n") == [
        "p.yaml:1: nested more than 64 levels deep"
    ]
    nested = "sources:\n" + "".join("  " * (depth + 1) + f"k{depth}:\n" for depth in range(200))
    assert problems_of(tmp_path, nested) == ["p.yaml:64: nested more than 64 levels deep"]


def test_values_yaml_cannot_build_are_one_line(tmp_path: Path) -> None:
    assert problems_of(tmp_path, "sources:\n  a:\n    paths: [2024-13-45]\n") == [
        "p.yaml:3: cannot read 2024-13-45: month must be in 1..12"
    ]
    assert problems_of(tmp_path, "a: 1\n---\nb: 2\n") == ["p.yaml:2: not valid YAML: but found another document"]


def test_a_long_name_is_not_repeated_whole(tmp_path: Path) -> None:
    [problem] = problems_of(tmp_path, f"sources:\n  {'X' * 500}:\n    paths: [/x]\n")
    assert problem.startswith(f"p.yaml:1 sources: name {'X' * 40!r}... (500 characters): use lower-case")


def test_a_misspelt_retention_rule_is_refused_not_read_as_keep_everything(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, REPOSITORY + "    retention: {keep_dialy: 7}\n")
    assert len(problems) == 1 and "retention.keep_dialy" in problems[0], problems


def test_a_hook_runs_for_five_minutes_unless_told_otherwise() -> None:
    from syncoxide.models import parse_duration
    from syncoxide.policies.schema import HooksSpec

    assert parse_duration(HooksSpec().timeout).total_seconds() == 300
