"""A borg backup names the files whose modification time borg cannot store, in the CLI output and the run."""

from __future__ import annotations

import os
import uuid

import pytest

from syncoxide.models import Engine
from tests.adversarial import Y2100_MTIME_NS
from tests.e2e.cli import syncoxide
from tests.e2e.conftest import make_repository

pytestmark = pytest.mark.e2e


def test_a_2100_mtime_is_named_in_a_warning_and_the_backup_succeeds(stack, workdir):
    src = workdir / "src"
    src.mkdir()
    (src / "now.txt").write_text("now\n")
    (src / "from-2100.txt").write_text("future\n")
    os.utime(src / "from-2100.txt", ns=(Y2100_MTIME_NS, Y2100_MTIME_NS))
    name = f"warn-{uuid.uuid4().hex[:6]}"
    make_repository(stack, Engine.borg, workdir / "repo", name)
    done = syncoxide(stack, "backup", "--repo", name, "--source", str(src))
    assert done.code == 0, done.stderr
    warnings = [line for line in done.error_lines if line.startswith("warning: ")]
    assert len(warnings) == 1 and str(src / "from-2100.txt") in warnings[0] and "2038-01-17" in warnings[0]
    recorded = syncoxide(stack, "runs", "--repo", name, "--json")
    [run] = [r for r in recorded.json if r["kind"] == "backup"]
    assert run["status"] == "succeeded" and run["warnings"] == [warnings[0].removeprefix("warning: ")]
