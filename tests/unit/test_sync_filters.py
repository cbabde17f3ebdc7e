"""Which files take part in a sync: globs by name or by path, excluded folders, includes, size and age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from syncoxide.errors import InvalidValue
from syncoxide.providers.base import Entry, temp_name
from syncoxide.sync.filters import FileFilter
from syncoxide.sync.models import Filters

NOW = datetime(2024, 5, 1, 8, 0, 0, tzinfo=UTC)


def file(path: str, size: int = 10, age: timedelta = timedelta(hours=1)) -> Entry:
    return Entry(path=path, size=size, mtime=NOW - age)


def folder(path: str) -> Entry:
    return Entry(path=path, size=0, mtime=NOW, is_dir=True)


def accepted(filters: Filters, *entries: Entry, backup_dir: str | None = None) -> list[str]:
    check = FileFilter(filters, NOW, backup_dir)
    return [e.path for e in entries if check.accepts(e)]


def test_a_glob_without_a_slash_matches_a_name_at_any_depth():
    filters = Filters(exclude=["*.tmp", "node_modules"])
    assert accepted(filters, file("a.tmp"), file("deep/er/b.tmp"), file("c.txt"), file("x.tmp.txt")) == [
        "c.txt",
        "x.tmp.txt",
    ]
    assert accepted(filters, folder("node_modules"), folder("web/node_modules"), folder("web")) == ["web"]


def test_a_glob_with_a_slash_matches_the_whole_path_from_the_root_and_its_star_crosses_slashes():
    filters = Filters(exclude=["photos/*.jpg"])
    assert accepted(
        filters, file("photos/a.jpg"), file("photos/2024/b.jpg"), file("old/photos/c.jpg"), file("a.jpg")
    ) == ["old/photos/c.jpg", "a.jpg"]


def test_slashes_around_a_pattern_are_not_part_of_it():
    filters = Filters(exclude=["/cache/"])
    assert accepted(filters, folder("cache"), file("cache/x"), file("cache.txt")) == ["cache.txt"]


def test_an_excluded_folder_excludes_everything_under_it():
    filters = Filters(exclude=["build", "src/gen"])
    assert accepted(
        filters,
        file("build/out/a.o"),
        file("lib/build/b.o"),
        file("src/gen/c.py"),
        file("src/main.py"),
        file("src/general.py"),
    ) == ["src/main.py", "src/general.py"]
    assert FileFilter(filters, NOW).excluded_path("src/gen/deep/d.py")


def test_includes_select_files_and_never_drop_folders():
    filters = Filters(include=["*.txt", "docs/*"])
    assert accepted(
        filters, file("a.txt"), file("deep/b.txt"), file("c.md"), file("docs/d.md"), folder("src"), folder("docs")
    ) == ["a.txt", "deep/b.txt", "docs/d.md", "src", "docs"]


def test_an_exclude_beats_an_include():
    filters = Filters(include=["*.txt"], exclude=["private"])
    assert accepted(filters, file("private/a.txt"), file("public/b.txt")) == ["public/b.txt"]


def test_sizes_and_ages_bound_files_inclusively():
    assert accepted(
        Filters(min_size=10, max_size=20),
        file("9", size=9),
        file("10", size=10),
        file("20", size=20),
        file("21", size=21),
        folder("any"),
    ) == ["10", "20", "any"]
    ages = Filters(min_age_s=3600, max_age_s=86400)
    assert accepted(
        ages,
        file("fresh", age=timedelta(minutes=59)),
        file("hour", age=timedelta(hours=1)),
        file("day", age=timedelta(days=1)),
        file("older", age=timedelta(days=1, seconds=1)),
    ) == ["hour", "day"]


def test_temporary_names_and_the_backup_folder_are_always_left_out():
    tmp = temp_name("docs/report.pdf")
    assert accepted(Filters(), file(tmp), file("docs/report.pdf")) == ["docs/report.pdf"]
    assert accepted(
        Filters(),
        folder(".versions"),
        file(".versions/2024-05-01T080000.000Z/a.txt"),
        file("sub/.versions/b.txt"),
        backup_dir=".versions",
    ) == ["sub/.versions/b.txt"]
    assert accepted(Filters(), folder(".versions")) == [".versions"]  # only when it is the run's backup folder


@pytest.mark.parametrize(
    "filters,message",
    [
        (Filters(exclude=[" / "]), "exclude pattern ' / ' is empty"),
        (Filters(include=[""]), "include pattern '' is empty"),
        (Filters(min_size=20, max_size=10), "min-size 20 is larger than max-size 10"),
    ],
)
def test_filters_that_cannot_select_anything_are_refused(filters, message):
    with pytest.raises(InvalidValue, match=message):
        FileFilter(filters, NOW)
