"""The sync commands in-process (`sync run`, `sync check`), registered on a Typer app like the main CLI does."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from syncoxide.cli import sync as sync_commands
from syncoxide.cli.sync import parse_side
from syncoxide.errors import InvalidInput
from tests.integration.sync_helpers import *  # noqa: F403 - fixtures
from tests.integration.sync_helpers import SideMaker


@pytest.fixture()
def cli(sync_settings, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SYNCOXIDE_HOME", str(sync_settings.home))
    monkeypatch.setenv("SYNCOXIDE_DATABASE_URL", sync_settings.database_url)
    app = typer.Typer()
    app.command("noop")(lambda: None)
    app.add_typer(sync_commands.app, name="sync")
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_run_dry_run_then_copy_then_check(cli, make_side: SideMaker):
    src, dst = make_side("local", "src"), make_side("local", "dst")
    src.write("a.txt", b"a")
    src.write("d/b.txt", b"bb")
    dry = cli("sync", "run", str(src.root), f"local:{dst.root}", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    assert {a["path"] for a in json.loads(dry.output)["plan"]["actions"]} >= {"a.txt", "d/b.txt"}
    assert dst.files() == {}
    done = cli("sync", "run", str(src.root), str(dst.root), "--mode", "sync")
    assert done.exit_code == 0, done.output
    assert "2 files (3 bytes) sent" in done.output
    clean = cli("sync", "check", str(src.root), str(dst.root))
    assert clean.exit_code == 0 and "2 matching, 0 differ" in clean.output
    dst.write("a.txt", b"x")
    dst.write("extra.txt", b"e")
    dirty = cli("sync", "check", str(src.root), str(dst.root), "--json")
    assert dirty.exit_code == 1
    report = json.loads(dirty.output)
    assert report["differ"] == ["a.txt"] and report["only_destination"] == ["extra.txt"] and not report["clean"]


def test_sides_are_parsed_like_rclone_and_bad_ones_say_what_is_wrong(tmp_path):
    assert parse_side(str(tmp_path)).kind == "local"
    spec = parse_side("s3://bucket/p", ["endpoint_url=http://127.0.0.1:9", "timeout=5"], ["access_key_id=env:K"])
    assert spec.kind == "s3" and spec.options["timeout"] == 5 and spec.secrets["access_key_id"].kind == "env"
    assert parse_side("rclone:gdrive:photos").location == "gdrive:photos"
    with pytest.raises(InvalidInput, match="say which kind it is"):
        parse_side("ftp:host/path")
    with pytest.raises(InvalidInput, match="unknown option 'colour' for a s3 provider"):
        parse_side("s3://bucket", ["colour=blue"])
    with pytest.raises(InvalidInput, match="must look like name=value"):
        parse_side("s3://bucket", ["nonsense"])


def test_run_with_a_backup_dir_keeps_what_it_deletes_and_check_leaves_the_folder_out(cli, make_side: SideMaker):
    src, dst = make_side("local", "src"), make_side("local", "dst")
    src.write("a.txt", b"a")
    dst.write("old.txt", b"only here")
    dry = cli(
        "sync",
        "run",
        str(src.root),
        str(dst.root),
        "--mode",
        "sync",
        "--backup-dir",
        ".versions",
        "--max-delete",
        "none",
        "--dry-run",
    )
    assert dry.exit_code == 0, dry.output
    assert "what is deleted or replaced is moved to .versions/<the run's time>" in dry.output
    done = cli(
        "sync",
        "run",
        str(src.root),
        str(dst.root),
        "--mode",
        "sync",
        "--backup-dir",
        ".versions/",
        "--max-delete",
        "none",
    )
    assert done.exit_code == 0, done.output
    assert "1 deleted (1 old files kept in .versions)" in done.output
    (held,) = (dst.root / ".versions").rglob("old.txt")
    assert held.read_bytes() == b"only here" and not (dst.root / "old.txt").exists()
    assert cli("sync", "check", str(src.root), str(dst.root), "--backup-dir", ".versions").exit_code == 0
    assert cli("sync", "check", str(src.root), str(dst.root)).exit_code == 1  # without it: the folder differs
    bad = cli("sync", "run", str(src.root), str(dst.root), "--backup-dir", "../out")
    assert bad.exit_code != 0 and "--backup-dir '../out' must stay inside the side it changes" in str(bad.exception)


def test_globs_from_files_filter_like_the_options_and_a_missing_file_is_one_line(cli, make_side: SideMaker, tmp_path):
    src, dst = make_side("local", "src"), make_side("local", "dst")
    for rel in ("keep.txt", "skip.tmp", "cache/x.bin", "notes/a.md", "notes/b.txt"):
        src.write(rel, b"x")
    excludes = tmp_path / "excludes"
    excludes.write_text("# scratch\n*.tmp\n\n  cache  \n")
    done = cli("sync", "run", str(src.root), str(dst.root), "--exclude-from", str(excludes), "--exclude", "b.txt")
    assert done.exit_code == 0, done.output
    assert sorted(dst.files()) == ["keep.txt", "notes/a.md"]
    includes = tmp_path / "includes"
    includes.write_text("*.md\n")
    check = cli("sync", "check", str(src.root), str(dst.root), "--include-from", str(includes), "--json")
    assert check.exit_code == 0 and json.loads(check.output)["matching"] == 1
    missing = cli("sync", "run", str(src.root), str(dst.root), "--exclude-from", str(tmp_path / "nope"))
    assert missing.exit_code != 0 and str(missing.exception) == f"--exclude-from {tmp_path / 'nope'}: no such file"
