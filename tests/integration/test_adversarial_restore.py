"""The adversarial tree (tests/adversarial.py) backed up and restored on both real engines, through the
same restore as the CLI and the dashboard (staging, placement, verification), compared byte for byte:
bytes, type, permission bits, mtime, symlink targets, xattrs and hard links."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from syncoxide.backups import operations
from syncoxide.contract.payloads import RestoreRequest
from syncoxide.engines import open_engine
from syncoxide.engines.borg import BORG_MAX_MTIME_NS
from syncoxide.errors import VerificationFailed
from syncoxide.models import Engine, FileType, Overwrite, Repository
from syncoxide.secrets import SecretRef
from tests.adversarial import HARD_A, HARD_B, SOCKET, Y2100_MTIME_NS, compare_bytes_trees, make_adversarial_tree

PASSPHRASE_ENV = "SXT_ADVERSARIAL_PASSPHRASE"
FUTURE = b"from-2100.txt"


@pytest.mark.parametrize("kind", [Engine.borg, Engine.restic], ids=lambda e: e.value)
def test_the_adversarial_tree_round_trips(stack, workdir, kind):
    made = make_adversarial_tree(workdir / "src")
    try:
        os.environ[PASSPHRASE_ENV] = "pw"
        engine = open_engine(stack.settings, kind, str(workdir / "repo"), "pw")
        engine.init()
        snapshot, stats = engine.backup([str(made.root)], snapshot_name="adversarial")
        repository = Repository(
            id="a",
            name="a",
            engine=kind,
            location=engine.location,
            passphrase=SecretRef(kind="env", value=PASSPHRASE_ENV),
        )
        request = RestoreRequest(
            repository_id="a", snapshot_id=snapshot, target=str(workdir / "out"), overwrite=Overwrite.never
        )
        try:
            outcome = operations.restore(
                stack.settings, repository, request, run_id="adv", progress=lambda _: None, cancelled=lambda: False
            )
            problems: list[str] = [] if outcome.report.ok else outcome.report.problems
        except VerificationFailed as failed:
            problems = [str(failed)]
    finally:
        made.close()
    # borg 1.4 cannot list a name that is not UTF-8 (every listing it prints shows such bytes as '?'); it restores
    # them byte for byte, and verification finds them as the one name in their folder that reads so
    assert problems == []
    restored = workdir / "out" / str(made.root).lstrip("/")

    # a socket is not data: neither engine brings one back; the FIFO is restored as a FIFO
    differences = compare_bytes_trees(made.root, restored, skip={SOCKET}, xattrs=made.xattrs)
    if kind == Engine.borg:
        # borg 1.4 cannot keep the 2100 mtime: it archives (and restores) 2038-01-17T03:14:07Z instead, and the
        # backup names the file in a warning. Every other mtime, 1970's (and its nanoseconds) included, is kept.
        assert any(FUTURE.decode() in w for w in stats.warnings), stats.warnings
        assert differences == [f"mtime differs: {FUTURE.decode()} {Y2100_MTIME_NS} != {BORG_MAX_MTIME_NS}"]
    else:
        assert not stats.warnings
        assert differences == []

    a, b = (os.lstat(os.path.join(os.fsencode(restored), n)) for n in (HARD_A, HARD_B))
    assert (a.st_ino, a.st_nlink) == (b.st_ino, 2)  # the hard-linked pair is still one file
    listed = {r.path: r for r in engine.list_files(snapshot) if r.type == FileType.file}
    for name in (HARD_A, HARD_B):
        assert listed[str(Path(made.root) / os.fsdecode(name))].size == 1_000_000  # both links, full size


def test_one_path_whose_name_is_not_utf8_restores_as_the_catalog_names_it(stack, workdir):
    """A path picked from the catalog (stored form) or typed (the CLI turns argv into that form) reaches restic as
    its exact bytes and comes back."""
    from syncoxide.fs import names
    from tests.adversarial import NON_UTF8

    made = make_adversarial_tree(workdir / "src", special=False)
    os.environ[PASSPHRASE_ENV] = "pw"
    engine = open_engine(stack.settings, Engine.restic, str(workdir / "repo"), "pw")
    engine.init()
    snapshot, _ = engine.backup([str(made.root)], snapshot_name="one")
    repository = Repository(
        id="a",
        name="a",
        engine=Engine.restic,
        location=engine.location,
        passphrase=SecretRef(kind="env", value=PASSPHRASE_ENV),
    )
    picked = names.stored(os.path.join(os.fsencode(made.root), NON_UTF8))
    request = RestoreRequest(repository_id="a", snapshot_id=snapshot, target=str(workdir / "out"), paths=[picked])
    request.model_dump_json()  # a payload can carry it
    outcome = operations.restore(
        stack.settings, repository, request, run_id="one", progress=lambda _: None, cancelled=lambda: False
    )
    assert outcome.report.ok, outcome.report.problems
    back = os.path.join(os.fsencode(workdir / "out"), os.fsencode(made.root).lstrip(b"/"), NON_UTF8)
    with open(back, "rb") as restored:
        assert restored.read() == b"name " + NON_UTF8 + b"\n"
